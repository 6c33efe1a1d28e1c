/**
 * The live studio end to end, in Debian's Chromium: a host and three callers,
 * each browser fed a different tone as its microphone, real relays with TURN
 * credentials from a real coturn. Every audio check is a Goertzel test on what
 * actually arrived in a page.
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import type { Relay } from '@openstudio/relay'
import { launchChromium } from '../src/browser.ts'
import { startCoturn, type Coturn } from '../src/coturn.ts'
import { removeDir, startRelay, tcpAddr, tempDir } from '../src/network.ts'
import { toneShare } from '../src/signal.ts'
import { waitUntil } from '../src/wait.ts'
import { APP_DIR, screenshot } from '../src/web.ts'

const PASSPHRASE = 'correct horse battery staple'
/** Host, then callers 1–3. */
const TONES = [300, 700, 1100, 1900] as const
const HEARD = 0.08
const ABSENT = 0.005

type Analyser = 'programAnalyser' | 'returnAnalyser'

/** Runs in the page: the samples an analyser holds right now. */
function analyserSamples (name: Analyser): { samples: number[], sampleRate: number } | undefined {
  const analyser = window.openstudioDiagnostics?.[name]
  if (analyser === undefined) return undefined
  const samples = new Float32Array(analyser.fftSize)
  analyser.getFloatTimeDomainData(samples)
  return { samples: Array.from(samples), sampleRate: analyser.context.sampleRate }
}

/** The share of each tone in what `page` hears on `analyser`. */
async function spectrum (page: Page, analyser: Analyser): Promise<number[]> {
  const frame = await page.evaluate(analyserSamples, analyser)
  if (frame === undefined) return TONES.map(() => 0)
  return TONES.map((f) => toneShare(frame.samples, frame.sampleRate, f))
}

/** Waits until `page` hears exactly the tones in `expected` (by index into TONES). */
async function hears (page: Page, analyser: Analyser, expected: number[], what: string): Promise<number[]> {
  return waitUntil(what, async () => {
    const shares = await spectrum(page, analyser)
    const ok = shares.every((share, i) => expected.includes(i) ? share > HEARD : share < ABSENT)
    return ok ? shares : undefined
  }, 30_000)
}

describe('live studio', () => {
  let dir: string
  let coturn: Coturn
  let relays: Relay[]
  let origin: string
  const browsers: Browser[] = []
  let host: Page
  let stationId: string
  const callers: Array<{ page: Page, id: string }> = []

  async function openPage (browser: Browser, settings?: Record<string, unknown>): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } })
    await context.addInitScript('globalThis.__name = (fn) => fn')
    if (settings !== undefined) await context.addInitScript(`localStorage.setItem('openstudio:settings', ${JSON.stringify(JSON.stringify(settings))})`)
    const page = await context.newPage()
    page.on('pageerror', (err) => { process.stderr.write(`page error: ${err.message}\n`) })
    if (process.env.STUDIO_DEBUG !== undefined) {
      await context.addInitScript(`localStorage.setItem('debug', ${JSON.stringify(process.env.STUDIO_DEBUG)})`)
      page.on('console', (m) => { process.stderr.write(`[${page.url().split('/').slice(-2).join('/')}] ${m.text()}\n`) })
    }
    return page
  }

  async function browserWithTone (frequency: number): Promise<Browser> {
    const wav = join(dir, `tone-${frequency}.wav`)
    execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', wav, 'synth', '120', 'sine', String(frequency), 'vol', '0.4'])
    const browser = await launchChromium([`--use-file-for-fake-audio-capture=${wav}`])
    browsers.push(browser)
    return browser
  }

  /** Opens the call page, turns voice processing off (it fades test tones) and dials. */
  async function dial (page: Page, name: string, path = `/s/${stationId}/call`): Promise<string> {
    await page.goto(`${origin}${path}`)
    await page.fill('[data-testid=caller-name]', name)
    await page.uncheck('[data-testid=voice-processing]')
    await page.click('[data-testid=dial]')
    return page.evaluate(() => window.openstudioDiagnostics?.network?.identity.id ?? '')
  }

  async function phaseOf (page: Page): Promise<string | null> {
    return page.locator('[data-testid=call-state]').getAttribute('data-phase', { timeout: 1_000 }).catch(() => null)
  }

  async function waitPhase (page: Page, phase: string): Promise<void> {
    await waitUntil(`the caller to be ${phase}`, async () => (await phaseOf(page)) === phase, 30_000)
  }

  beforeAll(async () => {
    dir = await tempDir('openstudio-studio-')
    const secret = 'studio-e2e-secret'
    coturn = await startCoturn(secret)
    const turn = { urls: [`turn:127.0.0.1:${coturn.port}?transport=udp`], secret: new TextEncoder().encode(secret) }
    const first = await startRelay({ http: { host: '127.0.0.1', port: 0 }, appDir: APP_DIR, turn })
    const second = await startRelay({ bootstrap: [tcpAddr(first)], turn })
    relays = [first, second]
    origin = `http://127.0.0.1:${first.httpAddress?.port ?? 0}`

    // The host makes a station in the browser and opens the studio.
    host = await openPage(await browserWithTone(TONES[0]))
    await host.goto(`${origin}/station`)
    await host.fill('[data-testid=new-passphrase]', PASSPHRASE)
    await host.fill('[data-testid=new-passphrase-2]', PASSPHRASE)
    await host.click('[data-testid=generate]')
    stationId = (await host.locator('[data-testid=my-station-id]').textContent({ timeout: 20_000 }) ?? '').trim()
    await host.fill('[data-testid=field-name]', 'Call-in Hour')
    await host.fill('[data-testid=field-tags]', 'talk')
    await host.fill('[data-testid=field-country]', 'NL')
    await host.fill('[data-testid=field-homepage]', 'https://example.org/')
    await host.fill('[data-testid=field-stream-url-0]', 'https://stream.example.org/live.ogg')
    await host.click('[data-testid=publish]')
    await host.click('[data-testid=open-studio]', { timeout: 20_000 })
    await host.click('[data-testid=start-studio]')
    await host.locator('[data-testid=green-room]').waitFor({ timeout: 20_000 })

    for (const [i, tone] of TONES.slice(1).entries()) {
      const page = await openPage(await browserWithTone(tone))
      callers.push({ page, id: await dial(page, `Caller ${i + 1}`) })
    }
  })

  afterAll(async () => {
    await Promise.all(browsers.map(async (b) => b.close()))
    await Promise.all((relays ?? []).map(async (r) => r.stop()))
    await coturn?.stop()
    await removeDir(dir)
  })

  it('puts callers in the green room, then on air, each hearing everyone but themselves', async () => {
    for (const { page } of callers) await waitPhase(page, 'green-room')
    await screenshot(host, 'studio-green-room')
    for (const { id } of callers) await host.click(`[data-testid="caller-${id}"] [data-testid=admit]`)
    for (const { page } of callers) await waitPhase(page, 'on-air')

    await hears(host, 'programAnalyser', [0, 1, 2, 3], 'the program to carry all four tones')
    for (const [i, { page }] of callers.entries()) {
      const own = i + 1
      await hears(page, 'returnAnalyser', [0, 1, 2, 3].filter((t) => t !== own), `caller ${own} to hear the others and not itself`)
    }
    await screenshot(host, 'studio-on-air')
    await screenshot(callers[0]!.page, 'caller-on-air')
  })

  it('a producer mute silences a caller everywhere; a mute forged by a caller changes nothing', async () => {
    const [one, two, three] = callers as [typeof callers[0], typeof callers[0], typeof callers[0]]
    await host.click(`[data-testid="caller-${two.id}"] [data-testid=mute]`)
    await hears(host, 'programAnalyser', [0, 1, 3], 'caller 2 to leave the program')
    await hears(one.page, 'returnAnalyser', [0, 3], 'caller 2 to leave caller 1\'s mix-minus')
    await hears(three.page, 'returnAnalyser', [0, 1], 'caller 2 to leave caller 3\'s mix-minus')
    await waitUntil('caller 2 to see that the producer muted it', async () => (await two.page.getAttribute('[data-testid=call-state]', 'data-muted')) === 'true')

    // Caller 3 signs a mute of caller 1 with its own key and publishes it in the room.
    await three.page.evaluate(async (peer) => { await window.openstudioDiagnostics?.caller?.roomChannel?.send({ type: 'mute', peer }) }, one.id)
    await waitUntil('the studio to receive (and hold back) the forged mute', async () => host.evaluate((from) => {
      const deferred = window.openstudioDiagnostics?.studio?.room.state.deferred[from]
      return deferred !== undefined && deferred.length > 0
    }, three.id))
    await hears(host, 'programAnalyser', [0, 1, 3], 'caller 1 to stay in the program')
    await hears(two.page, 'returnAnalyser', [0, 1, 3], 'caller 2 (muted) still to hear caller 1')

    await host.click(`[data-testid="caller-${two.id}"] [data-testid=mute]`)
    await hears(host, 'programAnalyser', [0, 1, 2, 3], 'caller 2 back in the program')
    await hears(one.page, 'returnAnalyser', [0, 2, 3], 'caller 2 back in caller 1\'s mix-minus')
  })

  it('reports a self-mute to the producer, and keeps the call when its signalling connection drops', async () => {
    const three = callers[2]!
    await three.page.click('[data-testid=self-mute]')
    await waitUntil('the studio to show that caller 3 muted itself', async () => /muted themselves/.test(await host.textContent(`[data-testid="caller-${three.id}"]`) ?? ''))
    await hears(host, 'programAnalyser', [0, 1, 2], 'caller 3 to leave the program while self-muted')
    await three.page.click('[data-testid=self-mute]')
    await hears(host, 'programAnalyser', [0, 1, 2, 3], 'caller 3 back after unmuting itself')

    // Every libp2p connection between caller 3 and the studio goes; the audio has its own path.
    await three.page.evaluate(async (station) => {
      const d = window.openstudioDiagnostics
      await d?.network?.libp2p?.hangUp(d.multiaddr!(`/p2p/${station}`))
    }, stationId)
    await hears(host, 'programAnalyser', [0, 1, 2, 3], 'caller 3 to stay in the program')
    await host.click(`[data-testid="caller-${three.id}"] [data-testid=mute]`)
    await waitUntil('the producer\'s mute to reach caller 3 over the new signalling', async () => (await three.page.getAttribute('[data-testid=call-state]', 'data-muted')) === 'true')
    expect(await phaseOf(three.page)).toBe('on-air')
    await host.click(`[data-testid="caller-${three.id}"] [data-testid=mute]`)
    await hears(host, 'programAnalyser', [0, 1, 2, 3], 'caller 3 back in the program')
  })

  it('a caller that reloads mid-show comes back on air by itself', async () => {
    const one = callers[0]!
    await one.page.reload()
    await waitPhase(one.page, 'on-air')
    await hears(one.page, 'returnAnalyser', [0, 2, 3], 'caller 1 to hear the show again after the reload')
    await hears(host, 'programAnalyser', [0, 1, 2, 3], 'caller 1 back in the program after the reload')
  })

  it('runs a call through TURN when the caller allows relay candidates only, and says so', async () => {
    const page = await openPage(browsers[1]!, { extraRelays: [], forceTurn: true })
    const id = await dial(page, 'Behind a firewall')
    await waitPhase(page, 'green-room')
    await waitUntil('the caller page to show TURN', async () => (await page.getAttribute('[data-testid=call-state]', 'data-path')) === 'turn')
    await waitUntil('the studio to show TURN for the caller', async () => /TURN/.test(await host.textContent(`[data-testid="caller-${id}"]`) ?? ''))
    await host.click(`[data-testid="caller-${id}"] [data-testid=admit]`)
    await waitPhase(page, 'on-air')
    // It hears the show through TURN: host and callers 2 and 3 (caller 1 shares its fake microphone).
    const shares = await waitUntil('the TURN caller to hear the host', async () => {
      const s = await spectrum(page, 'returnAnalyser')
      return (s[0] ?? 0) > HEARD ? s : undefined
    })
    expect(shares[0]).toBeGreaterThan(HEARD)
    await screenshot(page, 'caller-turn')
    await host.click(`[data-testid="caller-${id}"] [data-testid=kick]`)
    await waitUntil('the kicked caller to be told', async () => /removed you/.test(await page.textContent('[data-testid=call-error]').catch(() => '') ?? ''))
  })

  it('an invite-only station refuses callers without a valid invite and admits one with', async () => {
    await host.click('a[href="/station"]')
    await host.selectOption('[data-testid=field-access]', 'invite')
    const before = await host.textContent('[data-testid=publish-status]')
    await host.click('[data-testid=publish]')
    await waitUntil('the invite-only manifest to be published', async () => {
      const now = await host.textContent('[data-testid=publish-status]') ?? ''
      return now !== before && /Published #/.test(now)
    })
    await host.click('a[href="/studio"]')
    const expired = await host.evaluate(() => window.openstudioDiagnostics?.studio?.createInvite({ role: 'caller', expiresAt: Date.now() - 60_000 }) ?? '')
    const valid = await host.evaluate(() => window.openstudioDiagnostics?.studio?.createInvite({ role: 'caller', expiresAt: Date.now() + 3_600_000 }) ?? '')

    const page = await openPage(browsers[2]!)
    await dial(page, 'No invite')
    await waitUntil('a refusal for a caller without invite', async () => /invitation only/.test(await page.textContent('[data-testid=call-error]').catch(() => '') ?? ''))
    await dial(page, 'Old invite', `/s/${stationId}/call?invite=${expired}`)
    await waitUntil('a refusal for an expired invite', async () => /expired/.test(await page.textContent('[data-testid=call-error]').catch(() => '') ?? ''))
    await screenshot(page, 'caller-invite-expired')
    await dial(page, 'Invited', `/s/${stationId}/call?invite=${valid}`)
    await waitPhase(page, 'green-room')
  })
})
