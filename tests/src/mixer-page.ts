/**
 * Node side of the mixer graph tests: bundles the page harness (the real
 * browser/src/audio engine and the protocol's planMix) with esbuild, and runs
 * it in an empty page of Debian's Chromium at http://localhost/ (served by
 * Playwright, not a server): AudioWorklet needs a secure context.
 */
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from './browser.ts'
import type * as Harness from './mixer-harness.ts'

const HARNESS = fileURLToPath(new URL('./mixer-harness.ts', import.meta.url))
const GLOBAL = 'MixerHarness'
const PAGE_URL = 'http://localhost/mixer'

/** The page's global scope once the bundle ran. */
interface PageGlobals {
  [GLOBAL]: typeof Harness
}

export interface MixerPage {
  render: (scenario: Harness.Scenario) => Promise<Harness.ScenarioResult>
  errorNames: () => Promise<string[]>
  stop: () => Promise<void>
}

/** A harness as one IIFE script that sets `globalThis[globalName]`. */
async function bundleHarness (entry: string, globalName: string): Promise<string> {
  const result = await build({
    entryPoints: [entry], bundle: true, write: false, format: 'iife', globalName, platform: 'browser', target: 'chrome120'
  })
  const [file] = result.outputFiles
  if (file === undefined) throw new Error('esbuild produced no output')
  return file.text
}

/**
 * An empty page at http://localhost/ (a secure context: AudioWorklet and
 * OPFS need one) in a new Chromium, with the harness at `entry` bundled and
 * loaded as `globalThis[globalName]`.
 */
export async function openHarnessPage (entry: string, globalName: string): Promise<{ browser: Browser, page: Page }> {
  const script = await bundleHarness(entry, globalName)
  const browser: Browser = await launchChromium()
  try {
    const context = await browser.newContext()
    // tsx and vite name inner functions with an `__name` helper; functions sent to page.evaluate need it too.
    await context.addInitScript('globalThis.__name = (fn) => fn')
    const page = await context.newPage()
    page.on('pageerror', (err) => { process.stderr.write(`page error: ${err.message}\n`) })
    await context.route(PAGE_URL, async (route) => { await route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>harness</title>' }) })
    await page.goto(PAGE_URL)
    await page.addScriptTag({ content: script })
    return { browser, page }
  } catch (err) {
    await browser.close()
    throw err
  }
}

export async function openMixerPage (): Promise<MixerPage> {
  const { browser, page } = await openHarnessPage(HARNESS, GLOBAL)
  // These functions run in the page: they can only reach the bundle through its global.
  return {
    render: async (scenario) => page.evaluate(async (s) => (globalThis as unknown as PageGlobals).MixerHarness.renderScenario(s), scenario),
    errorNames: async () => page.evaluate(() => (globalThis as unknown as PageGlobals).MixerHarness.errorNames()),
    stop: async () => { await browser.close() }
  }
}
