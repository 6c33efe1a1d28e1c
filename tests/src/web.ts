/**
 * The end-to-end fixture: real relays serving the built web app, a real
 * Icecast, and Debian's Chromium.
 */
import { mkdir } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import type { Relay } from '@openstudio/relay'
import { launchChromium } from './browser.ts'
import { startRelay, tcpAddr } from './network.ts'

export const APP_DIR = fileURLToPath(new URL('../../browser/dist', import.meta.url))
export const SCREENSHOTS = fileURLToPath(new URL('../../test-results/screenshots', import.meta.url))

export interface WebFixture {
  relays: Relay[]
  /** The app's origin, served by the first relay. */
  origin: string
  browser: Browser
  newPage: () => Promise<{ context: BrowserContext, page: Page }>
  stop: () => Promise<void>
}

/** Two relays (the first serves the app) and a browser. */
export async function startWeb (): Promise<WebFixture> {
  const first = await startRelay({ http: { host: '127.0.0.1', port: 0 }, appDir: APP_DIR })
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
