/**
 * Web app benchmark in Chromium: time to the first directory render for 50
 * stations (cold, and warm from the IndexedDB cache), dial by key to the
 * first ping (resolve + dial + WebRTC upgrade) against a bare libp2p dial of
 * the same multiaddr in the same page, and the gzipped JavaScript the
 * directory page loads against the whole app.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import type { Page } from 'playwright-core'
import { draftFor, publishThrough } from '../src/network.ts'
import { startWeb } from '../src/web.ts'
import { distribution, round } from './measure.ts'

const STATIONS = 50
const DIALS = 10
const PASSPHRASE = 'benchmark passphrase'

export async function benchWeb (): Promise<Record<string, unknown>> {
  const web = await startWeb()
  try {
    for (let i = 0; i < STATIONS; i += 5) {
      await Promise.all([0, 1, 2, 3, 4].map(async (j) => publishThrough(web.relays[(i + j) % 2]!, draftFor(1000 + i + j))))
    }
    const { page } = await web.newPage()
    const js = new Map<string, number>()
    const onResponse = (res: { url: () => string, body: () => Promise<Buffer> }): void => {
      if (res.url().endsWith('.js')) void res.body().then((b) => { js.set(res.url(), gzipSync(b).length) }, () => {})
    }
    page.on('response', onResponse)
    const cold = await timeToCards(page, web.origin, STATIONS)
    page.off('response', onResponse)
    const warm = await timeToCards(page, web.origin, STATIONS)
    const directoryJs = [...js.values()].reduce((sum, n) => sum + n, 0)
    const appJs = await appJsGzip()

    const studio = await stationInBrowser(web.origin, web)
    const dial = await dialTimes(web, studio)
    return {
      directoryRender: { stations: STATIONS, coldMs: cold, warmFromCacheMs: warm },
      dialByKey: dial,
      jsGzipBytes: { directoryPage: directoryJs, wholeApp: appJs, directoryShare: round(directoryJs / appJs) }
    }
  } finally {
    await web.stop()
  }
}

async function timeToCards (page: Page, origin: string, n: number): Promise<{ firstCard: number, allCards: number }> {
  const started = Date.now()
  await page.goto(origin)
  await page.locator('[data-station-id]').first().waitFor({ timeout: 30_000 })
  const firstCard = Date.now() - started
  await page.waitForFunction((count) => document.querySelectorAll('[data-station-id]').length >= count, n, { timeout: 60_000 })
  return { firstCard, allCards: Date.now() - started }
}

/** Gzipped JS of the production build (what `npm start` serves; the tests' build carries diagnostics). */
async function appJsGzip (): Promise<number> {
  const dir = fileURLToPath(new URL('../../browser/dist/assets', import.meta.url))
  const files = await readdir(dir).catch(() => { throw new Error(`no production build in ${dir}: run npm run build first`) })
  let total = 0
  for (const file of files) if (file.endsWith('.js')) total += gzipSync(await readFile(join(dir, file))).length
  return total
}

async function stationInBrowser (origin: string, web: Awaited<ReturnType<typeof startWeb>>): Promise<string> {
  const { page } = await web.newPage()
  await page.goto(`${origin}/station`)
  await page.fill('[data-testid=new-passphrase]', PASSPHRASE)
  await page.fill('[data-testid=new-passphrase-2]', PASSPHRASE)
  await page.click('[data-testid=generate]')
  await page.locator('[data-testid=my-station-id]').waitFor({ timeout: 30_000 })
  await page.fill('[data-testid=field-name]', 'Bench Studio')
  await page.fill('[data-testid=field-country]', 'NL')
  await page.fill('[data-testid=field-homepage]', 'https://example.org/')
  await page.fill('[data-testid=field-stream-url-0]', 'https://stream.example.org/live.ogg')
  await page.click('[data-testid=publish]')
  await page.waitForFunction(() => /stored on [1-9]/.test(document.querySelector('[data-testid=publish-status]')?.textContent ?? ''), null, { timeout: 30_000 })
  return (await page.textContent('[data-testid=my-station-id]'))?.trim() ?? ''
}

/**
 * Our resolve + dial + ping against a bare libp2p dial + ping of the same
 * WebRTC address, alternating, each from a fresh page (a fresh peer): a
 * hung-up WebRTC connection leaves the station's side half-open for a few
 * seconds, which would make back-to-back dials from one peer measure that.
 */
async function dialTimes (web: Awaited<ReturnType<typeof startWeb>>, stationId: string): Promise<Record<string, unknown>> {
  const ours: number[] = []
  const bare: number[] = []
  const kinds: string[] = []
  const failures: string[] = []
  for (let i = 0; i < DIALS; i++) {
    const { page, context } = await web.newPage()
    // The settings page: the network starts, and no directory listing competes with the dial.
    await page.goto(`${web.origin}/settings`)
    await page.waitForFunction(() => window.openstudioDiagnostics?.network?.status === 'online', null, { timeout: 30_000 })
    const mode: 'ours' | 'bare' = i % 2 === 0 ? 'ours' : 'bare'
    const result = await page.evaluate(runDial, { id: stationId, mode })
    if ('error' in result) failures.push(result.error)
    else if (result.mode === 'ours') { ours.push(result.ms); kinds.push(result.kind) } else bare.push(result.ms)
    await context.close()
  }
  const o = distribution(ours)
  const b = distribution(bare)
  return { ourResolveDialPingMs: o, bareDialPingMs: b, p50Ratio: round(o.p50 / b.p50), directWebRtc: kinds.filter((k) => k === 'direct-webrtc').length, failures }
}

/** Runs in the page. */
async function runDial ({ id, mode }: { id: string, mode: 'ours' | 'bare' }): Promise<{ mode: string, ms: number, kind: string } | { error: string }> {
  const diagnostics = window.openstudioDiagnostics
  const network = diagnostics?.network
  const node = network?.libp2p
  if (network === undefined || node === undefined || diagnostics?.multiaddr === undefined) return { error: 'the page has no network' }
  try {
    if (mode === 'ours') {
      const t0 = performance.now()
      const { manifest } = await network.resolve(id)
      const dialed = await network.dial(manifest)
      return { mode, ms: performance.now() - t0, kind: dialed.kind }
    }
    const { manifest } = await network.resolve(id)
    const address = diagnostics.multiaddr(`${manifest.relays[0]}/p2p-circuit/webrtc/p2p/${id}`)
    const t0 = performance.now()
    await node.dial(address, { signal: AbortSignal.timeout(20_000) })
    const stream = await node.dialProtocol(address, '/openstudio/ping/1')
    stream.send(new Uint8Array(32))
    await stream.close()
    for await (const _ of stream) { /* the echo */ }
    return { mode, ms: performance.now() - t0, kind: 'bare' }
  } catch (err) {
    return { error: `${mode}: ${(err as Error).message}` }
  }
}
