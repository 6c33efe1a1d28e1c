/**
 * Firefox ESR as studio, caller and listener, end to end. Debian's Firefox,
 * driven over WebDriver BiDi (puppeteer-core), runs the studio: its
 * microphone is a 440 Hz tone. A Chromium caller (660 Hz) dials it by key,
 * waits in the green room and goes on air; the studio goes live to a real
 * Icecast through its relay, and a Firefox listener plays the station page;
 * the studio records, and the Chromium caller's own recording (the
 * double-ender) arrives in it. Then a Firefox caller (880 Hz) calls a
 * Chromium studio, and records and uploads its own microphone. Every check is on
 * the signal (Goertzel). Skips, saying why, where Firefox or PulseAudio is
 * not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser as FirefoxBrowser, Page as FirefoxPage } from 'puppeteer-core'
import type { Browser, Page } from 'playwright-core'
import { startIcecast, type LocalIcecast } from '@openstudio/node'
import { closeFirefox, firefoxMissing, firefoxPage, launchFirefox } from '../src/firefox.ts'
import { removeDir, tempDir } from '../src/network.ts'
import { toneAmplitude } from '../src/goertzel.ts'
import { freePort } from '../src/ports.ts'
import { callPath, openStudio, prepareCall, pressDial, spectrum, startStudioFixture, waitPhase, type StudioAnalyser, type StudioFixture } from '../src/studio-fixture.ts'
import { waitUntil, within } from '../src/wait.ts'
import { SCREENSHOTS } from '../src/web.ts'

const HOST = 440
const CHROMIUM_CALLER = 660
const FIREFOX_CALLER = 880
const MOUNT = '/live.ogg'
const PASSWORD = 'firefox-e2e'
const missing = await firefoxMissing()
describe.skipIf(missing !== undefined)(`Firefox as studio and listener${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  let fixture: StudioFixture
  let icecast: LocalIcecast
  let icecastDir: string
  let host: FirefoxBrowser
  let chromium: Browser
  let studio: FirefoxPage
  let stationId: string
  let caller: { page: Page, id: string }

  beforeAll(async () => {
    icecastDir = await tempDir('openstudio-firefox-e2e-icecast-')
    icecast = await startIcecast({ dir: icecastDir, port: await freePort(), sourcePassword: PASSWORD, mounts: [{ mount: MOUNT }] })
    fixture = await startStudioFixture({
      dirPrefix: 'openstudio-firefox-e2e-',
      program: { stations: ['*'], icecastUrl: icecast.url, icecastPassword: PASSWORD, mount: MOUNT, listenersIntervalMs: 500 }
    })
    host = await launchFirefox({ toneHz: HOST })
    chromium = await fixture.launch(CHROMIUM_CALLER)
    studio = await firefoxPage(host)
  }, 120_000)

  afterAll(async () => {
    await host?.close()
    await fixture?.stop()
    await icecast?.stop()
    await removeDir(icecastDir)
  })

  it('makes a station and opens its studio, hearing the host', async () => {
    await studio.goto(`${fixture.origin}/station`)
    await studio.locator('[data-testid=new-passphrase]').fill('firefox studio passphrase')
    await studio.locator('[data-testid=new-passphrase-2]').fill('firefox studio passphrase')
    await studio.locator('[data-testid=generate]').click()
    await studio.waitForSelector('[data-testid=my-station-id]', { timeout: 30_000 })
    stationId = await text(studio, '[data-testid=my-station-id]')
    await studio.locator('[data-testid=field-name]').fill('Firefox Radio')
    await studio.locator('[data-testid=field-country]').fill('NL')
    await studio.locator('[data-testid=field-homepage]').fill('https://example.org/')
    await studio.locator('[data-testid=field-stream-url-0]').fill('https://stream.example.org/live.ogg')
    await studio.locator('[data-testid=publish]').click()
    await studio.locator('[data-testid=open-studio]').click()
    await studio.locator('[data-testid=start-studio]').click()
    await studio.waitForSelector('[data-testid=green-room]', { timeout: 30_000 })
    await hears(studio, 'programAnalyser', [HOST], 'the host in the Firefox studio\'s program')
  })

  it('takes a call from Chromium: green room, then on air, heard in the program', async () => {
    const page = await fixture.openPage(chromium)
    await prepareCall(page, fixture.origin, callPath(stationId), 'Chromium caller')
    const id = await pressDial(page)
    caller = { page, id }
    await waitPhase(page, 'green-room')
    await studio.waitForSelector(`[data-testid="caller-${id}"]`, { timeout: 30_000 })
    await studio.locator(`[data-testid="caller-${id}"] [data-testid=admit]`).click()
    await waitPhase(page, 'on-air')
    await hears(studio, 'programAnalyser', [HOST, CHROMIUM_CALLER], 'the Chromium caller in the Firefox studio\'s program')
    await hears(page, 'returnAnalyser', [HOST], 'the Chromium caller to hear the Firefox host, and not itself')
  })

  it('goes live from Firefox, and a Firefox listener plays the station page and hears the whole show', async () => {
    await studio.select('[data-testid=bitrate]', '96')
    await studio.locator('[data-testid=go-on-air]').click()
    await waitUntil('the Firefox studio to show the program on Icecast', async () => {
      const state = await attribute(studio, '[data-testid=broadcast]', 'data-state')
      const ice = await attribute(studio, '[data-testid=broadcast]', 'data-icecast')
      if (state === 'live' && ice === 'connected') return true
      throw new Error(`${state ?? 'no broadcast'}/${ice ?? ''}: ${await text(studio, '[data-testid=broadcast]')}`)
    }, 30_000)
    await studio.screenshot({ path: `${SCREENSHOTS}/firefox-studio-live.png` })

    const listener = await firefoxPage(host)
    await waitUntil('the station page to show the station on air', async () => {
      await listener.goto(`${fixture.origin}/s/${stationId}`)
      await listener.waitForSelector('[data-testid=listen]', { timeout: 20_000 })
      return await listener.$('.badge.live') !== null
    }, 60_000)
    await listener.locator('[data-testid=listen]').click()
    const show = [HOST, CHROMIUM_CALLER]
    await waitUntil('the whole show in the Firefox listener\'s player', async () => {
      const shares = await spectrum(listener, 'playerAnalyser', show)
      return shares.every((s) => s > 0.1) ? shares : undefined
    }, 30_000)
    await listener.screenshot({ path: `${SCREENSHOTS}/firefox-listener.png` })
  })

  it('records in Firefox: the program and each voice on its own track, and the Chromium caller\'s own recording arrives', async () => {
    // Puppeteer clicks where the button is, and the show's sticky bar may lie over it there: bring it to the middle
    // first. (Its locators wait for a box that stays put, which a panel of running figures never gives.)
    const record = async (): Promise<void> => {
      await studio.evaluate(() => { document.querySelector('[data-testid=record]')?.scrollIntoView({ block: 'center' }) })
      await within('a click on Record', 10_000, studio.click('[data-testid=record]'))
    }
    await record()
    await caller.page.locator('[data-testid=record-here-consent]').check({ timeout: 30_000 })
    await waitUntil('the Chromium caller recording here', async () => (await caller.page.getAttribute('[data-testid=record-here-status]', 'data-state')) === 'recording', 30_000)
    await waitUntil('5 s recorded in Firefox', async () => (await within('the recorder\'s length', 5_000, studio.evaluate(() => window.openstudioDiagnostics?.studio?.recorder?.status.seconds ?? 0))) >= 5, 30_000)
    await record()
    await waitUntil('the Chromium caller\'s recording with the Firefox studio', async () => (await caller.page.getAttribute('[data-testid=record-here-status]', 'data-state')) === 'uploaded', 60_000)
    await studio.screenshot({ path: `${SCREENSHOTS}/firefox-studio-recorded.png` })
    const tracks = await within('the tracks read back', 30_000, studio.evaluate(middleSeconds))
    expectTones(tracks, { program: [HOST, CHROMIUM_CALLER], [stationId]: [HOST], [caller.id]: [CHROMIUM_CALLER], upload: [CHROMIUM_CALLER] })
  })
})

/**
 * The Firefox caller calls a Chromium studio, in a suite of its own: one
 * Firefox at a time on 2 shared cores, and each role of Firefox tested
 * against Chromium's.
 */
describe.skipIf(missing !== undefined)(`Firefox as caller${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  let fixture: StudioFixture
  let caller: FirefoxBrowser
  let studio: Page
  let stationId: string
  let chromiumCaller: { page: Page, id: string }
  let firefoxCaller: { page: FirefoxPage, id: string } | undefined

  beforeAll(async () => {
    fixture = await startStudioFixture({ dirPrefix: 'openstudio-firefox-caller-e2e-' })
    studio = await fixture.openPage(await fixture.launch(HOST))
    stationId = await openStudio(studio, fixture.origin, { passphrase: 'firefox caller passphrase', name: 'Firefox Caller Radio' })
    const page = await fixture.openPage(await fixture.launch(CHROMIUM_CALLER))
    await prepareCall(page, fixture.origin, callPath(stationId), 'Chromium caller')
    const id = await pressDial(page)
    await waitPhase(page, 'green-room')
    await studio.click(`[data-testid="caller-${id}"] [data-testid=admit]`)
    await waitPhase(page, 'on-air')
    chromiumCaller = { page, id }
  }, 120_000)

  afterAll(async () => {
    if (caller !== undefined) await closeFirefox(caller)
    await fixture?.stop()
  })

  it('calls from Firefox: the caller page dials, waits in the green room, goes on air, and hears the show but itself', async () => {
    caller = await launchFirefox({ toneHz: FIREFOX_CALLER })
    // WebDriver BiDi commands have no deadline of their own (locators do): each names itself when it hangs.
    const page = await within('a page for the caller in Firefox', 30_000, firefoxPage(caller))
    await within('the Firefox call page to load', 30_000, page.goto(`${fixture.origin}${callPath(stationId)}`))
    await page.locator('[data-testid=caller-name]').fill('Firefox caller')
    await page.locator('[data-testid=voice-processing]').click()
    await page.locator('[data-testid=dial]:not([disabled])').click()
    const id = await within('the caller\'s peer id', 30_000, page.evaluate(() => window.openstudioDiagnostics?.network?.identity.id ?? ''))
    await waitUntil('the Firefox caller in the green room', async () => await attribute(page, '[data-testid=call-state]', 'data-phase') === 'green-room', 30_000)
    await studio.click(`[data-testid="caller-${id}"] [data-testid=admit]`)
    await waitUntil('the Firefox caller on air', async () => await attribute(page, '[data-testid=call-state]', 'data-phase') === 'on-air', 30_000)
    await hears(studio, 'programAnalyser', [HOST, CHROMIUM_CALLER, FIREFOX_CALLER], 'the Firefox caller in the program')
    await hears(page, 'returnAnalyser', [HOST, CHROMIUM_CALLER], 'the Firefox caller to hear the host and the Chromium caller, not itself')
    await hears(chromiumCaller.page, 'returnAnalyser', [HOST, FIREFOX_CALLER], 'the Chromium caller to hear the Firefox caller')
    await page.screenshot({ path: `${SCREENSHOTS}/firefox-caller.png` })
    firefoxCaller = { page, id }
  })

  it('records its own microphone in Firefox, with consent, and uploads it to the studio', async () => {
    const { page, id } = firefoxCaller ?? (() => { throw new Error('the Firefox caller is not on air') })()
    await studio.click('[data-testid=record]')
    await page.locator('[data-testid=record-here-consent]').click()
    const state = async (): Promise<string | null> => attribute(page, '[data-testid=record-here-status]', 'data-state')
    await waitUntil('the Firefox caller recording here', async () => await state() === 'recording', 30_000)
    // A 48 kHz device: Firefox resamples nothing, and the page does not warn of it.
    expect(await page.$('[data-testid=device-rate]')).toBeNull()
    await waitUntil('5 s recorded', async () => (await studio.evaluate(() => window.openstudioDiagnostics?.studio?.recorder?.status.seconds ?? 0)) >= 5, 30_000)
    await page.screenshot({ path: `${SCREENSHOTS}/firefox-caller-recording.png` })
    await studio.click('[data-testid=record]')
    await waitUntil('the Firefox caller\'s recording with the studio', async () => await state() === 'uploaded', 60_000)
    const tracks = await studio.evaluate(middleSeconds)
    expectTones(tracks, { program: [HOST, CHROMIUM_CALLER, FIREFOX_CALLER], [id]: [FIREFOX_CALLER], upload: [FIREFOX_CALLER] })
  })
})

/**
 * Runs in the studio's page: one second from the middle of each track of the
 * recording a caller's upload joined, by participant ('program', the host's
 * and callers' ids), and of the upload ('upload'); the first channel, as
 * samples.
 */
async function middleSeconds (): Promise<Record<string, number[]>> {
  const studio = window.openstudioDiagnostics?.studio
  const placed = studio?.uploads?.placed[0]
  const recorder = studio?.recorder
  const found = placed === undefined ? undefined : recorder?.recordingFor(placed.dir)
  if (placed === undefined || recorder === undefined || found === undefined) throw new Error('no upload placed in a recording')
  const out: Record<string, number[]> = {}
  for (const [who, file] of [...found.manifest.tracks.map((t) => [t.id, t.file]), ['upload', placed.file]]) {
    const view = new DataView(await (await recorder.storage.read(placed.dir, file as string)).arrayBuffer())
    const channels = view.getUint16(22, true)
    const frames = Math.floor((view.byteLength - 44) / (2 * channels))
    const from = Math.floor(frames / 2) - 24_000
    out[who as string] = Array.from({ length: 48_000 }, (_, i) => view.getInt16(44 + (from + i) * channels * 2, true) / 32768)
  }
  return out
}

/** Each track named holds each of its tones (at least 0.05 of amplitude) and none of the test's other tones (under a tenth of its weakest). */
function expectTones (tracks: Record<string, number[]>, want: Record<string, number[]>): void {
  const all = [HOST, CHROMIUM_CALLER, FIREFOX_CALLER]
  for (const [who, tones] of Object.entries(want)) {
    const samples = tracks[who]
    expect(samples, `a track of ${who}`).toBeDefined()
    const levels = all.map((f) => toneAmplitude(samples as number[], 48_000, f))
    const weakest = Math.min(...levels.filter((_, i) => tones.includes(all[i] as number)))
    expect(weakest, `${who}'s tones ${tones.join(', ')} Hz (levels ${levels.map((l) => l.toFixed(3)).join(', ')})`).toBeGreaterThan(0.05)
    for (const [i, f] of all.entries()) if (!tones.includes(f)) expect(levels[i], `${f} Hz in ${who}'s track`).toBeLessThan(weakest / 10)
  }
}

/** Waits until `page` hears each of `tones` (at least a tenth of the signal) and no other of the test's tones. */
async function hears (page: FirefoxPage | Page, analyser: StudioAnalyser, tones: number[], what: string): Promise<void> {
  const all = [HOST, CHROMIUM_CALLER, FIREFOX_CALLER]
  await waitUntil(what, async () => {
    const shares = await spectrum(page, analyser, all)
    return all.every((f, i) => tones.includes(f) ? shares[i]! > 0.1 : shares[i]! < 0.02) ? shares : undefined
  }, 30_000)
}

async function text (page: FirefoxPage, selector: string): Promise<string> {
  return (await page.evaluate((s) => document.querySelector(s)?.textContent ?? '', selector)).trim()
}

/** An attribute, read within 5 s: a WebDriver BiDi evaluate has no deadline of its own, and a waitUntil around one that hangs would never time out. */
async function attribute (page: FirefoxPage, selector: string, name: string): Promise<string | null> {
  return within(`${selector}'s ${name}`, 5_000, page.evaluate((s, n) => document.querySelector(s)?.getAttribute(n) ?? null, selector, name))
}
