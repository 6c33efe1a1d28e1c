/**
 * The end-to-end fixture: real relays serving the built web app, a real
 * Icecast, and Debian's Chromium.
 */
import { execFile } from 'node:child_process'
import { mkdir, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import type { Relay } from '@openstudio/relay'
import { launchChromium } from './browser.ts'
import { startRelay, tcpAddr } from './network.ts'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))
/**
 * The web app as the tests serve it: the test build (`npm run build:test`,
 * which browser/vite.config.ts puts here), with `window.openstudioDiagnostics`
 * for tests to read and drive. The production build in browser/dist has none.
 * Call `testApp()` to have it built when it is missing or older than its sources.
 */
export const APP_DIR = join(ROOT, 'test-results/app')
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots', import.meta.url))

export interface WebFixture {
  relays: Relay[]
  /** The app's origin, served by the first relay. */
  origin: string
  browser: Browser
  newPage: () => Promise<{ context: BrowserContext, page: Page }>
  stop: () => Promise<void>
}

/** The sources of the web app, whose changes make a test build stale. */
const APP_SOURCES = ['browser/src', 'browser/index.html', 'browser/vite.config.ts', 'network/src', 'protocol/src']

/** Newest modification time of a file, or of the files under a directory. */
async function newest (path: string): Promise<number> {
  const info = await stat(path)
  if (!info.isDirectory()) return info.mtimeMs
  const entries = await readdir(path)
  return Math.max(0, ...await Promise.all(entries.map(async (entry) => newest(join(path, entry)))))
}

/** APP_DIR, built first (in a second or two) when it is missing or older than the app's sources. */
export async function testApp (): Promise<string> {
  const built = await stat(join(APP_DIR, 'index.html')).then((info) => info.mtimeMs, () => 0)
  const sources = Math.max(...await Promise.all(APP_SOURCES.map(async (path) => newest(join(ROOT, path)))))
  if (built <= sources) await promisify(execFile)('npm', ['run', '--silent', 'build:test'], { cwd: ROOT })
  return APP_DIR
}

/** Two relays (the first serves the app) and a browser. */
export async function startWeb (): Promise<WebFixture> {
  const first = await startRelay({ http: { host: '127.0.0.1', port: 0 }, appDir: await testApp() })
  const second = await startRelay({ bootstrap: [tcpAddr(first)] })
  const http = first.httpAddress
  if (http === undefined) throw new Error('the relay has no HTTP server')
  const browser = await launchChromium()
  const contexts: BrowserContext[] = []
  await mkdir(SCREENSHOTS, { recursive: true })
  return {
    relays: [first, second],
    origin: `http://127.0.0.1:${http.port}`,
    browser,
    newPage: async () => {
      const context = await browser.newContext({ viewport: { width: 1280, height: 1100 } })
      contexts.push(context)
      // tsx names inner functions with an `__name` helper; functions sent to page.evaluate need it too.
      await context.addInitScript('globalThis.__name = (fn) => fn')
      const page = await context.newPage()
      page.on('pageerror', (err) => { process.stderr.write(`page error: ${err.message}\n`) })
      return { context, page }
    },
    stop: async () => {
      await Promise.all(contexts.map(async (c) => c.close()))
      await browser.close()
      await Promise.all([first.stop(), second.stop()])
    }
  }
}

/** The WebSocket multiaddr of a relay, as a browser dials it. */
export function wsAddr (relay: Relay): string {
  const addr = relay.multiaddrs.find((a) => a.includes('/ws/'))
  if (addr === undefined) throw new Error('the relay has no WebSocket address')
  return addr
}

export async function screenshot (page: Page, name: string): Promise<void> {
  // The viewport, not the full page: the sticky header would be painted mid-page.
  await page.screenshot({ path: `${SCREENSHOTS}/${name}.png` })
}
