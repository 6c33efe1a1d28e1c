/**
 * The studio benchmark's load callers (see `./page.ts`): the page is built
 * with Vite from the app's own config when the bench starts, kept in memory,
 * and served at the app's origin under LOAD_PATH through Playwright routes,
 * so that the page's `/api/bootstrap` is the relay's, as the app's is. It
 * never ships in the app's build.
 */
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { build } from 'vite'
import type { StudioFixture } from '../../src/studio-fixture.ts'
import type { LoadCall, LoadCallInit, LoadCallStatus } from './page.ts'

export type { LoadCall, LoadCallStatus } from './page.ts'

/** Where the load page is served at the app's origin. */
const LOAD_PATH = '/__bench/load/'
const BROWSER_DIR = join(import.meta.dirname, '../../../browser')
const CONTENT_TYPES: Record<string, string> = { html: 'text/html', js: 'text/javascript', css: 'text/css', map: 'application/json' }
/** Load caller i's microphone plays LOAD_TONE_HZ + i × LOAD_TONE_STEP_HZ at LOAD_TONE_AMPLITUDE (full scale = 1). */
const LOAD_TONE_HZ = 440
const LOAD_TONE_STEP_HZ = 37
const LOAD_TONE_AMPLITUDE = 0.25

/** The load callers' microphones, for reports. */
export const LOAD_TONES = `${LOAD_TONE_HZ} + ${LOAD_TONE_STEP_HZ}·i Hz at ${LOAD_TONE_AMPLITUDE}`

/** The built page's files, by path under LOAD_PATH. */
export type LoadPageFiles = Map<string, string | Uint8Array>

/** Builds the load page with the app's Vite config, into memory. */
export async function buildLoadPage (): Promise<LoadPageFiles> {
  const result = await build({
    configFile: join(BROWSER_DIR, 'vite.config.ts'),
    root: import.meta.dirname,
    base: LOAD_PATH,
    logLevel: 'warn',
    build: { write: false, emptyOutDir: false, reportCompressedSize: false, chunkSizeWarningLimit: Infinity }
  })
  if (!Array.isArray(result) && !('output' in result)) throw new Error('the load page\'s build returned a watcher')
  const files: LoadPageFiles = new Map()
  for (const output of [result].flat()) {
    for (const file of output.output) files.set(file.fileName, file.type === 'chunk' ? file.code : file.source)
  }
  if (!files.has('index.html')) throw new Error(`the load page's build made no index.html (made ${[...files.keys()].join(', ')})`)
  return files
}

export interface LoadCallersInit {
  fixture: StudioFixture
  /** The Chromium the pages open in. */
  browser: Browser
  files: LoadPageFiles
  /** Callers in all. */
  callers: number
  /** Callers one page holds. */
  perPage: number
}

/** Load callers spread over pages of one browser, filled in order. */
export interface LoadCallers {
  pages: Page[]
  /** Dials a caller for each name (on the pages that have room, each with a tone of its own), all at once; resolves when each is in the green room or has failed. */
  call: (stationId: string, names: string[]) => Promise<LoadCall[]>
  /** Resolves once every caller dialed so far is on air; rejects when one fails or ends first, or after `timeoutMs`. */
  onAir: (timeoutMs: number) => Promise<void>
  statuses: () => Promise<LoadCallStatus[]>
  leave: () => Promise<void>
}

/** Opens every page the callers will need, so that no renderer starts while audio flows. */
export async function openLoadCallers ({ fixture, browser, files, callers, perPage }: LoadCallersInit): Promise<LoadCallers> {
  const pages = await Promise.all(Array.from({ length: Math.ceil(callers / perPage) }, async () => {
    const page = await fixture.openPage(browser)
    // Chromium counts a page Playwright serves as public, and a public page may not reach loopback (the relays) unless allowed.
    await page.context().grantPermissions(['local-network-access'], { origin: fixture.origin })
    await page.context().route(`${fixture.origin}${LOAD_PATH}**`, async (route) => {
      const path = new URL(route.request().url()).pathname.slice(LOAD_PATH.length)
      const body = files.get(path)
      if (body === undefined) return route.fulfill({ status: 404 })
      await route.fulfill({ contentType: CONTENT_TYPES[path.split('.').at(-1) ?? ''] ?? 'application/octet-stream', body: typeof body === 'string' ? body : Buffer.from(body) })
    })
    await page.goto(`${fixture.origin}${LOAD_PATH}index.html`)
    await page.waitForFunction(() => window.openstudioLoad !== undefined)
    return page
  }))
  let placed = 0
  return {
    pages,
    call: async (stationId, names) => {
      const byPage = new Map<Page, LoadCallInit[]>()
      for (const name of names) {
        const page = pages[Math.floor(placed / perPage)]
        if (page === undefined) throw new Error(`more than ${callers} load callers`)
        byPage.set(page, [...byPage.get(page) ?? [], { name, toneHz: LOAD_TONE_HZ + placed++ * LOAD_TONE_STEP_HZ, toneAmplitude: LOAD_TONE_AMPLITUDE }])
      }
      const calls = await Promise.all([...byPage].map(async ([page, inits]) => page.evaluate(async ({ stationId, inits }) => {
        if (window.openstudioLoad === undefined) throw new Error('the load page did not start')
        return window.openstudioLoad.call(stationId, inits)
      }, { stationId, inits })))
      return calls.flat()
    },
    onAir: async (timeoutMs) => {
      await Promise.all(pages.map(async (page) => page.evaluate(async (ms) => window.openstudioLoad?.onAir(ms), timeoutMs)))
    },
    statuses: async () => (await Promise.all(pages.map(async (page) => page.evaluate(() => window.openstudioLoad?.statuses() ?? [])))).flat(),
    leave: async () => { await Promise.all(pages.map(async (page) => page.evaluate(async () => window.openstudioLoad?.leave()))) }
  }
}
