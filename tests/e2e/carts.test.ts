/**
 * The cart wall end to end, in Debian's Chromium: a live studio (its
 * microphone a 440 Hz tone) and a caller on air (a silent microphone), real
 * relays and coturn. Carts are WAV files made with sox, loaded through the
 * wall's file inputs and played by key and by click; every audio check is a
 * Goertzel test on what a page actually hears: the studio's program and the
 * caller's return.
 */
import { execFileSync } from 'node:child_process'
import { truncate, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { attributeNow, onAir, openStudio, spectrum, startStudioFixture, textNow, type StudioAnalyser, type StudioFixture } from '../src/studio-fixture.ts'
import { waitUntil } from '../src/wait.ts'
import { screenshot } from '../src/web.ts'

const PASSPHRASE = 'cart wall passphrase'
const HOST_TONE = 440
const CART_TONE = 1500
const LOOP_TONE = 1000
/** Seconds of the cart tone: long enough to be heard in the program and across the call. */
const CART_SECONDS = 4
/** Seconds of the looped cart: 500 whole cycles of LOOP_TONE, so it loops without a click. */
const LOOP_SECONDS = 0.5
const HEARD = 0.08
const ABSENT = 0.005

/** A stereo 48 kHz WAV of `seconds` of `frequency` Hz at -6 dBFS, made with sox. */
function wav (dir: string, name: string, frequency: number, seconds: number): string {
  const path = join(dir, name)
  execFileSync('sox', ['-n', '-r', '48000', '-c', '2', '-b', '16', path, 'synth', String(seconds), 'sine', String(frequency), 'vol', '0.5'])
  return path
}

/** Waits until `page` hears `tone` on `analyser` (share above HEARD); resolves with the shares of `tones`. */
async function hears (page: Page, analyser: StudioAnalyser, tone: number, what: string, tones: number[] = [tone], timeoutMs = 10_000): Promise<number[]> {
  const at = tones.indexOf(tone)
  return waitUntil(what, async () => {
    const shares = await spectrum(page, analyser, tones)
    return (shares[at] ?? 0) > HEARD ? shares : undefined
  }, timeoutMs)
}

async function silent (page: Page, analyser: StudioAnalyser, tone: number, what: string): Promise<void> {
  await waitUntil(what, async () => ((await spectrum(page, analyser, [tone]))[0] ?? 1) < ABSENT, 10_000)
}

const cart = (n: number, what = ''): string => `[data-testid=cart${what === '' ? '' : `-${what}`}-${n}]`
const playing = async (page: Page, n: number): Promise<boolean> => (await attributeNow(page, cart(n), 'data-playing')) === 'true'
const nameOf = async (page: Page, n: number): Promise<string> => (await textNow(page, cart(n, 'name'))).trim()
/**
 * dB between the host's voice and the cart in the program, once it is
 * steady: two readings at least 200 ms apart (more than the analyser's
 * 170 ms window) agree within 0.5 dB.
 */
async function voiceOverCart (page: Page, what: string): Promise<number> {
  let last: { db: number, at: number } | undefined
  return waitUntil(what, async () => {
    const [voice, cart] = await spectrum(page, 'programAnalyser', [HOST_TONE, CART_TONE]) as [number, number]
    if (cart < HEARD || voice <= 0) return undefined
    const now = { db: 10 * Math.log10(voice / cart), at: Date.now() }
    if (last !== undefined && now.at - last.at < 200) return undefined
    const steady = last !== undefined && Math.abs(now.db - last.db) < 0.5
    last = now
    return steady ? now.db : undefined
  })
}

describe('cart wall', () => {
  let fixture: StudioFixture
  let studio: Page
  let caller: Page
  let stationId: string
  let tone: string
  let loop: string
  let notes: string
  let big: string
  /** The host's voice over the cart in the program, dB, with the cart over the voices. */
  let overDb: number

  beforeAll(async () => {
    fixture = await startStudioFixture({ turnSecret: 'carts-e2e-secret', dirPrefix: 'openstudio-carts-e2e-' })
    tone = wav(fixture.dir, 'tone-1500.wav', CART_TONE, CART_SECONDS)
    loop = wav(fixture.dir, 'loop-1000.wav', LOOP_TONE, LOOP_SECONDS)
    notes = join(fixture.dir, 'notes.wav')
    await writeFile(notes, 'These are my show notes, not audio.\n')
    // 26 MiB of nothing (a sparse file): over the 25 MiB limit.
    big = join(fixture.dir, 'big.wav')
    await writeFile(big, '')
    await truncate(big, 26 * 1024 * 1024)
    const [hostBrowser, callerBrowser] = await Promise.all([fixture.launch(HOST_TONE), fixture.launch(0)])
    studio = await fixture.openPage(hostBrowser!)
    stationId = await openStudio(studio, fixture.origin, { passphrase: PASSPHRASE, name: 'Cart Radio', tags: 'talk' })
    caller = (await onAir(fixture, studio, await fixture.openPage(callerBrowser!), stationId, 'Caller')).page
    await waitUntil('the cart wall to be ready', async () => (await attributeNow(studio, '[data-testid=cart-wall]', 'data-ready')) === 'true')
  })

  afterAll(async () => {
    await fixture?.stop()
  })

  it('a cart loaded from a file plays on its key into the program and the caller\'s return, and stops on the key again', async () => {
    await studio.setInputFiles(cart(1, 'file'), tone)
    await waitUntil('cart 1 to show its file', async () => await nameOf(studio, 1) === 'tone-1500.wav')
    expect((await textNow(studio, cart(1, 'remaining'))).trim()).toBe('0:04')

    // By keyboard, with the focus out of the form fields.
    await studio.locator('h1').click()
    await studio.keyboard.press('1')
    await waitUntil('cart 1 to play', async () => playing(studio, 1))
    await Promise.all([
      hears(studio, 'programAnalyser', CART_TONE, 'the cart in the program'),
      hears(caller, 'returnAnalyser', CART_TONE, 'the cart in the caller\'s return')
    ])
    overDb = await voiceOverCart(studio, 'a steady mix of the host and the cart')
    expect((await textNow(studio, cart(1, 'remaining'))).trim()).toMatch(/^0:0[1-4]$/)
    expect(Number(await attributeNow(studio, cart(1, 'remaining'), 'data-remaining'))).toBeLessThan(CART_SECONDS)
    await screenshot(studio, 'studio-cart-playing')

    await studio.keyboard.press('1')
    await waitUntil('cart 1 to stop', async () => !(await playing(studio, 1)))
    await silent(studio, 'programAnalyser', CART_TONE, 'the cart to leave the program')
    await silent(caller, 'returnAnalyser', CART_TONE, 'the cart to leave the caller\'s return')
  })

  it('a cart that ducks the voices takes the host 12 dB down; a bed under the voices goes 12 dB down under the host', async () => {
    /** By mouse: plays cart 1 in `mode`, reads the steady mix, stops it. */
    const mixIn = async (mode: string): Promise<number> => {
      await studio.selectOption(cart(1, 'mode'), mode)
      await studio.click(cart(1, 'play'))
      const db = await voiceOverCart(studio, `a steady mix with cart 1 in mode ${mode}`)
      await studio.click(cart(1, 'play'))
      await waitUntil('cart 1 to stop', async () => !(await playing(studio, 1)))
      return db
    }
    const hostDucked = overDb - await mixIn('duck-voices')
    expect(hostDucked).toBeGreaterThan(10)
    expect(hostDucked).toBeLessThan(14)
    const bedDucked = await mixIn('under-voices') - overDb
    expect(bedDucked).toBeGreaterThan(10)
    expect(bedDucked).toBeLessThan(14)
    await studio.selectOption(cart(1, 'mode'), 'over')
  })

  it('a looped short cart is still heard after three times its length, its remaining time wrapping each pass; Escape stops it', async () => {
    await studio.setInputFiles(cart(2, 'file'), loop)
    await waitUntil('cart 2 to show its file', async () => await nameOf(studio, 2) === 'loop-1000.wav')
    await studio.check(cart(2, 'loop'))
    await studio.locator('h1').click()
    await studio.keyboard.press('2')
    const started = Date.now()
    let last = Number.POSITIVE_INFINITY
    let wraps = 0
    await waitUntil('the loop to wrap three times and still be heard', async () => {
      const left = Number(await attributeNow(studio, cart(2, 'remaining'), 'data-remaining') ?? Number.NaN)
      if (left > last + 0.1) wraps++
      if (!Number.isNaN(left)) last = left
      if (wraps < 3 || Date.now() - started < 3 * LOOP_SECONDS * 1000) return false
      return await playing(studio, 2) && ((await spectrum(studio, 'programAnalyser', [LOOP_TONE]))[0] ?? 0) > HEARD
    })
    await hears(caller, 'returnAnalyser', LOOP_TONE, 'the loop in the caller\'s return')

    await studio.keyboard.press('Escape')
    await waitUntil('Escape to stop cart 2', async () => !(await playing(studio, 2)))
    await silent(studio, 'programAnalyser', LOOP_TONE, 'the loop to leave the program')
  })

  it('refuses a file that is not audio and one over 25 MiB, saying why, and changes nothing', async () => {
    await studio.setInputFiles(cart(3, 'file'), notes)
    await waitUntil('the wall to refuse notes.wav', async () => /notes\.wav.*not audio/.test(await textNow(studio, '[data-testid=cart-error]')))
    expect(await attributeNow(studio, '[data-testid=cart-error]', 'role')).toBe('alert')
    expect(await attributeNow(studio, cart(3), 'data-loaded')).toBe('false')
    expect(await nameOf(studio, 3)).toBe('Empty')

    await studio.setInputFiles(cart(1, 'file'), big)
    await waitUntil('the wall to refuse big.wav', async () => /big\.wav.*26\.0 MiB.*25\.0 MiB/.test(await textNow(studio, '[data-testid=cart-error]')))
    expect(await nameOf(studio, 1)).toBe('tone-1500.wav')
    await screenshot(studio, 'studio-cart-refused')
  })

  it('keeps the carts across a reload of the studio page (IndexedDB)', async () => {
    await studio.reload()
    // The reload locked the key: unlock it, and open the studio again without leaving the app.
    await studio.click('text=Unlock my station')
    await studio.fill(`[aria-label="Passphrase for ${stationId}"]`, PASSPHRASE)
    await studio.press(`[aria-label="Passphrase for ${stationId}"]`, 'Enter')
    await studio.locator('[data-testid=my-station-id]').waitFor({ timeout: 20_000 })
    await studio.click('nav a[href="/studio"]')
    await studio.click('[data-testid=start-studio]')
    await waitUntil('the cart wall to be ready again', async () => (await attributeNow(studio, '[data-testid=cart-wall]', 'data-ready')) === 'true', 20_000)
    await waitUntil('carts 1 and 2 restored', async () => await nameOf(studio, 1) === 'tone-1500.wav' && await nameOf(studio, 2) === 'loop-1000.wav')
    expect(await studio.isChecked(cart(2, 'loop'))).toBe(true)
    expect(await studio.inputValue(cart(1, 'mode'))).toBe('over')
    expect(await attributeNow(studio, cart(3), 'data-loaded')).toBe('false')

    await studio.click(cart(1, 'play'))
    await hears(studio, 'programAnalyser', CART_TONE, 'the restored cart in the program')
    await studio.click(cart(1, 'play'))
  })
})
