/**
 * Debian's Firefox ESR, driven by puppeteer-core over WebDriver BiDi. Firefox
 * needs a sound server on these machines: without one, `<audio>` errors and
 * an AudioContext crashes the tab. So the first launch starts PulseAudio with
 * a null sink when none answers. Never downloads a browser.
 */
import { execFile } from 'node:child_process'
import { access } from 'node:fs/promises'
import { promisify } from 'node:util'
import puppeteer, { type Browser, type Page } from 'puppeteer-core'

const run = promisify(execFile)

export const FIREFOX = process.env.FIREFOX_PATH ?? '/usr/bin/firefox-esr'

/** Why Firefox cannot run here, or undefined when it can. */
export async function firefoxMissing (): Promise<string | undefined> {
  for (const [what, path] of [['Firefox ESR', FIREFOX], ['PulseAudio', '/usr/bin/pulseaudio'], ['pactl', '/usr/bin/pactl']]) {
    if (!await access(path!).then(() => true, () => false)) return `${what} is not installed (${path}): apt-get install firefox-esr pulseaudio pulseaudio-utils`
  }
  return undefined
}

/** A PulseAudio daemon with a null sink, started once if none answers. */
async function soundServer (): Promise<void> {
  if (await run('pactl', ['info']).then(() => true, () => false)) return
  // As root it warns that it is not meant for root; it runs all the same. Only what the tests need: a socket for
  // clients and a null sink. With Debian's default script (device detection, suspend on idle, realtime scheduling)
  // Firefox pages hung now and then once their audio ran: idle, no CPU, WebDriver BiDi unanswered (docs/architecture.md).
  await run('pulseaudio', ['-n', '-D', '--exit-idle-time=-1', '--realtime=no', '--high-priority=no',
    '--load=module-native-protocol-unix', '--load=module-null-sink sink_name=null', '--load=module-always-sink']).catch(() => {})
  await run('pactl', ['info'])
}

export interface FirefoxInit {
  /** The fake microphone's tone, in Hz. @default 1000 */
  toneHz?: number
  /** The sound device's rate as Firefox sees it, in Hz. @default 48000 */
  deviceRate?: number
}

export async function launchFirefox (init: FirefoxInit = {}): Promise<Browser> {
  await soundServer()
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    // FIREFOX_DUMPIO=1 shows Firefox's own output (its remote agent says when a page stops answering).
    dumpio: process.env.FIREFOX_DUMPIO !== undefined,
    extraPrefsFirefox: {
      'media.navigator.streams.fake': true,
      'media.navigator.permission.disabled': true,
      'media.navigator.audio.fake_frequency': init.toneHz ?? 1000,
      // Firefox's graph runs at the device's rate (PulseAudio's 44.1 kHz here), and the app's 48 kHz AudioContext
      // then hears the microphone and calls through a drift-corrected resampler whose pitch wanders by up to 0.6 %
      // (docs/architecture.md). A 48 kHz device, the common one, has none of that: Firefox is told its device runs so.
      'media.cubeb.force_sample_rate': init.deviceRate ?? 48_000,
      'media.autoplay.default': 0,
      // Loopback candidates: every peer of the tests is on this machine.
      'media.peerconnection.ice.loopback': true,
      'media.peerconnection.ice.obfuscate_host_addresses': false
    }
  })
}

/** Closes `browser`, and kills it when it has not closed within 10 s (a Firefox that stopped answering). */
export async function closeFirefox (browser: Browser): Promise<void> {
  const deadline = AbortSignal.timeout(10_000)
  await Promise.race([browser.close().catch(() => {}), new Promise((resolve) => { deadline.addEventListener('abort', resolve) })])
  browser.process()?.kill('SIGKILL')
}

/** A page in a fresh browser context, logging the page's errors to stderr. */
export async function firefoxPage (browser: Browser): Promise<Page> {
  const context = await browser.createBrowserContext()
  const page = await context.newPage()
  // tsx names inner functions with an `__name` helper; functions sent to the page need it too.
  await page.evaluateOnNewDocument('globalThis.__name = (fn) => fn')
  // STUDIO_DEBUG=openstudio:* shows the page's namespaced logs on stderr.
  if (process.env.STUDIO_DEBUG !== undefined) {
    await page.evaluateOnNewDocument(`localStorage.setItem('debug', ${JSON.stringify(process.env.STUDIO_DEBUG)})`)
    page.on('console', (m) => { process.stderr.write(`[firefox ${page.url().split('/').slice(-2).join('/')}] ${m.text()}\n`) })
  }
  page.on('pageerror', (err) => { process.stderr.write(`firefox page error: ${(err as Error).message}\n`) })
  await page.setViewport({ width: 1280, height: 1000 })
  // The deadline of every locator on the page (a locator that waits names itself when it runs out).
  page.setDefaultTimeout(30_000)
  return page
}
