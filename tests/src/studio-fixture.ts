/**
 * The live studio fixture, shared by the end-to-end test and the studio
 * benchmark: a real coturn, two real relays (the first serves the built app;
 * both serve any station, so its calls get TURN credentials), Debian's
 * Chromium with a chosen tone as its fake microphone, a station made in the
 * browser with its studio open, and callers dialing it from the call page.
 */
import { execFileSync } from 'node:child_process'
import { setTimeout as hold } from 'node:timers/promises'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import type { Page as FirefoxPage } from 'puppeteer-core'
import type { ProgramInit, Relay } from '@openstudio/relay'
import { launchChromium } from './browser.ts'
import { startCoturn, type Coturn } from './coturn.ts'
import { removeDir, startRelay, tcpAddr, tempDir } from './network.ts'
import { toneAmplitude } from './goertzel.ts'
import { toneShare } from './signal.ts'
import { waitUntil } from './wait.ts'
import { testApp } from './web.ts'

/** Seconds of tone in a fake microphone file (Chromium loops it). */
const TONE_SECONDS = 120
const PHASE_TIMEOUT_MS = 30_000
/** Dials a caller makes before `onAir` gives up. */
const DIAL_ATTEMPTS = 3

export interface StudioFixtureInit {
  /** coturn's shared secret; the relays hand out credentials made with it. @default 'studio-fixture-secret' */
  turnSecret?: string
  /** Prefix of the temporary directory (tone files). @default 'openstudio-studio-' */
  dirPrefix?: string
  /** The first relay takes studios' programs to this Icecast. @default no program ingest */
  program?: ProgramInit
  /** The first relay's HTTP port (the app's origin), when the program's HLS must name it. @default any free port */
  httpPort?: number
}

export interface StudioFixture {
  dir: string
  coturn: Coturn
  relays: Relay[]
  /** The app's origin, served by the first relay. */
  origin: string
  /** Launches a Chromium whose fake microphone plays `frequency` Hz at -8 dBFS (0: digital silence); closed by `stop`. */
  launch: (frequency: number, extraArgs?: string[]) => Promise<Browser>
  /** A page in a fresh context of `browser`, with the app's settings preset when given. */
  openPage: (browser: Browser, settings?: Record<string, unknown>) => Promise<Page>
  stop: () => Promise<void>
}

export async function startStudioFixture (init: StudioFixtureInit = {}): Promise<StudioFixture> {
  const dir = await tempDir(init.dirPrefix ?? 'openstudio-studio-')
  const secret = init.turnSecret ?? 'studio-fixture-secret'
  const browsers: Browser[] = []
  const relays: Relay[] = []
  let coturn: Coturn | undefined
  const stop = async (): Promise<void> => {
    await Promise.all(browsers.map(async (b) => b.close()))
    await Promise.all(relays.map(async (r) => r.stop()))
    await coturn?.stop()
    await removeDir(dir)
  }
  try {
    coturn = await startCoturn(secret)
    const turn = { urls: [`turn:127.0.0.1:${coturn.port}?transport=udp`], secret: new TextEncoder().encode(secret) }
    // Both relays serve every station ('*'): TURN credentials go only to the calls of stations a relay serves.
    const first = await startRelay({ http: { host: '127.0.0.1', port: init.httpPort ?? 0 }, appDir: await testApp(), turn, stations: ['*'], program: init.program })
    relays.push(first)
    relays.push(await startRelay({ bootstrap: [tcpAddr(first)], turn, stations: ['*'] }))
    return {
      dir,
      coturn,
      relays,
      origin: `http://127.0.0.1:${first.httpAddress?.port ?? 0}`,
      launch: async (frequency, extraArgs = []) => {
        const browser = await launchChromium([`--use-file-for-fake-audio-capture=${toneFile(dir, frequency)}`, ...extraArgs])
        browsers.push(browser)
        return browser
      },
      openPage: async (browser, settings) => openTestPage(browser, { settings }),
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

export interface TestPageInit {
  /** The app's settings, saved before the page loads. */
  settings?: Record<string, unknown>
  /** More scripts to run before the page's own. */
  initScripts?: string[]
}

/**
 * A page in a fresh context of a test Chromium: page errors go to stderr, and
 * STUDIO_DEBUG=openstudio:app:* shows the page's namespaced logs there too.
 */
export async function openTestPage (browser: Browser, init: TestPageInit = {}): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } })
  // tsx names inner functions with an `__name` helper; functions sent to the page need it too.
  await context.addInitScript('globalThis.__name = (fn) => fn')
  if (init.settings !== undefined) await context.addInitScript(`localStorage.setItem('openstudio:settings', ${JSON.stringify(JSON.stringify(init.settings))})`)
  for (const script of init.initScripts ?? []) await context.addInitScript(script)
  const page = await context.newPage()
  page.on('pageerror', (err) => { process.stderr.write(`page error: ${err.message}\n`) })
  if (process.env.STUDIO_DEBUG !== undefined) {
    await context.addInitScript(`localStorage.setItem('debug', ${JSON.stringify(process.env.STUDIO_DEBUG)})`)
    page.on('console', (m) => { process.stderr.write(`${(performance.now() / 1000).toFixed(2)} [${page.url().split('/').slice(-2).join('/')}] ${m.text()}\n`) })
  }
  return page
}

/** A mono 48 kHz WAV of `frequency` Hz (0: silence) in `dir`, made once with sox: a Chromium's fake microphone. */
export function toneFile (dir: string, frequency: number): string {
  const wav = join(dir, `tone-${frequency}.wav`)
  const synth = frequency === 0 ? ['trim', '0', String(TONE_SECONDS)] : ['synth', String(TONE_SECONDS), 'sine', String(frequency), 'vol', '0.4']
  execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', wav, ...synth])
  return wav
}

export interface StationFields {
  passphrase: string
  name: string
  tags?: string
  country?: string
}

/**
 * Makes a station in `page` (a new key sealed with the passphrase), publishes
 * it, opens its studio and starts it.
 * @returns the station id
 */
export async function openStudio (page: Page, origin: string, station: StationFields): Promise<string> {
  await page.goto(`${origin}/station`)
  await page.fill('[data-testid=new-passphrase]', station.passphrase)
  await page.fill('[data-testid=new-passphrase-2]', station.passphrase)
  await page.click('[data-testid=generate]')
  const stationId = (await page.locator('[data-testid=my-station-id]').textContent({ timeout: 20_000 }) ?? '').trim()
  await page.fill('[data-testid=field-name]', station.name)
  if (station.tags !== undefined) await page.fill('[data-testid=field-tags]', station.tags)
  await page.fill('[data-testid=field-country]', station.country ?? 'NL')
  await page.fill('[data-testid=field-homepage]', 'https://example.org/')
  await page.fill('[data-testid=field-stream-url-0]', 'https://stream.example.org/live.ogg')
  await page.click('[data-testid=publish]')
  await page.click('[data-testid=open-studio]', { timeout: 20_000 })
  await page.click('[data-testid=start-studio]')
  await page.locator('[data-testid=green-room]').waitFor({ timeout: 20_000 })
  return stationId
}

/**
 * Goes live from an open studio at `bitrate` kb/s and waits until the
 * Broadcast panel shows the program on Icecast; on a timeout, the error
 * says what the producer saw.
 */
export async function goLive (page: Page, bitrate: number, timeoutMs = 30_000): Promise<void> {
  await page.selectOption('[data-testid=bitrate]', String(bitrate))
  await page.click('[data-testid=go-on-air]')
  await waitUntil('the studio to show the program on Icecast', async () => {
    const state = await attributeNow(page, '[data-testid=broadcast]', 'data-state')
    const icecast = await attributeNow(page, '[data-testid=broadcast]', 'data-icecast')
    if (state === 'live' && icecast === 'connected') return true
    throw new Error(`${state ?? 'no broadcast'}/${icecast ?? ''}: ${await textNow(page, '[data-testid=broadcast]')} ${await textNow(page, '[data-testid=studio-error]')}`)
  }, timeoutMs)
}

/**
 * Opens the call page and fills it in: the caller's name, and voice
 * processing off (it fades test tones). The form shows once the station is
 * resolved, which takes a while on a busy machine: `timeoutMs`.
 */
export async function prepareCall (page: Page, origin: string, path: string, name: string, timeoutMs = 30_000): Promise<void> {
  await page.goto(`${origin}${path}`)
  await page.locator('[data-testid=caller-name]').waitFor({ timeout: timeoutMs })
  await page.fill('[data-testid=caller-name]', name)
  await page.uncheck('[data-testid=voice-processing]')
}

/**
 * Dials from a call page filled in by `prepareCall`.
 * @returns the caller's peer id
 */
export async function pressDial (page: Page): Promise<string> {
  await page.click('[data-testid=dial]')
  return page.evaluate(() => window.openstudioDiagnostics?.network?.identity.id ?? '')
}

/**
 * Opens the call page, turns voice processing off and dials.
 * @returns the caller's peer id
 */
export async function dial (page: Page, origin: string, path: string, name: string): Promise<string> {
  await prepareCall(page, origin, path, name)
  return pressDial(page)
}

export interface Caller {
  page: Page
  id: string
  /** Dials that failed before this one got in (a busy studio answers after the caller's hello timeout). */
  retries: number
}

/** Dials from `page` (again when a dial fails, DIAL_ATTEMPTS in all), waits in the green room, and has the producer in `host` put it on air. */
export async function onAir (fixture: StudioFixture, host: Page, page: Page, stationId: string, name: string): Promise<Caller> {
  // A busy machine can miss the page's 10 s budget for resolving the station: load it again once.
  await prepareCall(page, fixture.origin, callPath(stationId), name).catch(async () => prepareCall(page, fixture.origin, callPath(stationId), name))
  const id = await pressDial(page)
  let retries = 0
  try {
    for (;;) {
      const outcome = await waitUntil(`${name} in the green room`, async () => {
        if (await phaseOf(page) === 'green-room') return 'in'
        return await page.locator('[data-testid=call-error]').isVisible() && await page.locator('[data-testid=dial]').isVisible() ? 'failed' : undefined
      }, 60_000)
      if (outcome === 'in') break
      if (++retries >= DIAL_ATTEMPTS) throw new Error(`${DIAL_ATTEMPTS} dials failed`)
      await page.click('[data-testid=dial]')
    }
    await host.evaluate(async (peer) => { await window.openstudioDiagnostics?.studio?.admit(peer) }, id)
    await waitPhase(page, 'on-air', 60_000)
  } catch (err) {
    const said = await page.locator('[data-testid=call-error]').innerText({ timeout: 1_000 }).catch(() => 'nothing')
    throw new Error(`${name}: ${(err as Error).message}; phase ${await phaseOf(page)}; the page's call error: ${said}`, { cause: err })
  }
  return { page, id, retries }
}

/** The call page of station `stationId`. */
export function callPath (stationId: string, invite?: string): string {
  return `/s/${stationId}/call${invite === undefined ? '' : `?invite=${invite}`}`
}

/** An attribute of the first element matching `selector`, read now (null when there is none): for conditions, never waits. */
export async function attributeNow (page: Page, selector: string, name: string): Promise<string | null> {
  return page.evaluate(({ selector, name }) => document.querySelector(selector)?.getAttribute(name) ?? null, { selector, name })
}

/** The text of the first element matching `selector`, read now ('' when there is none): for conditions, never waits. */
export async function textNow (page: Page, selector: string): Promise<string> {
  return page.evaluate((selector) => document.querySelector(selector)?.textContent ?? '', selector)
}

/** The call page's phase right now. */
export async function phaseOf (page: Page): Promise<string | null> {
  return attributeNow(page, '[data-testid=call-state]', 'data-phase')
}

export async function waitPhase (page: Page, phase: string, timeoutMs = PHASE_TIMEOUT_MS): Promise<void> {
  await waitUntil(`the caller to be ${phase}`, async () => (await phaseOf(page)) === phase, timeoutMs)
}

/** An analyser the test build exposes: the studio's program, the producer's headphones, a caller's return, a station page's player. */
export type StudioAnalyser = 'programAnalyser' | 'monitorAnalyser' | 'returnAnalyser' | 'playerAnalyser'

/** Runs in the page: the samples an analyser holds right now. */
function analyserSamples (name: StudioAnalyser): { samples: number[], sampleRate: number } | undefined {
  const analyser = window.openstudioDiagnostics?.[name]
  if (analyser === undefined) return undefined
  const samples = new Float32Array(analyser.fftSize)
  analyser.getFloatTimeDomainData(samples)
  return { samples: Array.from(samples), sampleRate: analyser.context.sampleRate }
}

/** The share (0…1) of each of `tones` in what `page` (Playwright's, or Puppeteer's for Firefox) hears on `analyser` right now. */
export async function spectrum (page: Page | FirefoxPage, analyser: StudioAnalyser, tones: readonly number[]): Promise<number[]> {
  // Both evaluate a function with one argument alike; their generic signatures differ.
  const evaluate = page.evaluate.bind(page) as (fn: typeof analyserSamples, arg: StudioAnalyser) => Promise<ReturnType<typeof analyserSamples>>
  const frame = await evaluate(analyserSamples, analyser)
  if (frame === undefined) return tones.map(() => 0)
  return tones.map((f) => toneShare(frame.samples, frame.sampleRate, f))
}

/**
 * The level (dBFS) of each of `tones` in what `page` hears on `analyser`
 * right now: Goertzel amplitudes over the analyser's frame, so each tone
 * must sit on a bin of it (a multiple of sampleRate / fftSize).
 */
export async function toneLevels (page: Page, analyser: StudioAnalyser, tones: readonly number[]): Promise<number[]> {
  const frame = await page.evaluate(analyserSamples, analyser)
  if (frame === undefined) return tones.map(() => Number.NEGATIVE_INFINITY)
  return tones.map((f) => 20 * Math.log10(toneAmplitude(frame.samples, frame.sampleRate, f)))
}

/**
 * Stops the audio service of `page`'s browser for `ms` (SIGSTOP, then
 * SIGCONT), as a starved machine does: its output thread misses its
 * callbacks, and the page's AudioContext falls that far behind the clock.
 * (An AudioWorklet that busy-waits does not show it: the render catches up
 * on every callback it was asked for.)
 */
export async function holdAudioService (page: Page, ms: number): Promise<void> {
  const browser = page.context().browser()
  if (browser === null) throw new Error('the page has no browser')
  const cdp = await browser.newBrowserCDPSession()
  const { processInfo } = await cdp.send('SystemInfo.getProcessInfo')
  await cdp.detach()
  const audio = processInfo.filter((p) => p.type === 'audio.mojom.AudioService')
  if (audio.length !== 1 || audio[0] === undefined) throw new Error(`the browser has ${audio.length} audio services`)
  const pid = audio[0].id
  process.kill(pid, 'SIGSTOP')
  try {
    await hold(ms)
  } finally {
    process.kill(pid, 'SIGCONT')
  }
}

/** Waits until `page` says how much audio its computer skipped, at least `atLeastMs`; resolves with that figure. */
export async function skippedAudio (page: Page, atLeastMs: number): Promise<number> {
  return waitUntil(`the page to say this computer skipped ${atLeastMs} ms of audio or more`, async () => {
    const ms = Number(await attributeNow(page, '[data-testid=render-health]', 'data-skipped-ms'))
    return ms >= atLeastMs ? ms : undefined
  }, 20_000)
}
