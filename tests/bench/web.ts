/**
 * Web app benchmark in Chromium: time to the first directory render for 50
 * stations (cold, and warm from the IndexedDB cache), dial by key to the
 * first ping (resolve + dial + WebRTC upgrade) against a bare libp2p dial of
 * the same multiaddr in the same page, and the gzipped JavaScript the
 * directory page loads against the whole app.
 */
import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import type { Page } from 'playwright-core'
import { draftFor, publishThrough } from '../src/network.ts'
import { APP_DIR, startWeb } from '../src/web.ts'
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
    const js: Array<{ url: string, gzip: number }> = []
    page.on('response', (res) => {
      if (res.url().endsWith('.js')) void res.body().then((b) => js.push({ url: res.url(), gzip: gzipSync(b).length }), () => {})
    })
    const cold = await timeToCards(page, web.origin, STATIONS)
    const warm = await timeToCards(page, web.origin, STATIONS)
    const directoryJs = js.reduce((sum, f) => sum + f.gzip, 0)
    const appJs = await appJsGzip()

    const studio = await stationInBrowser(web.origin, web)
    const dial = await dialTimes(page, studio)
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

async function appJsGzip (): Promise<number> {
  const dir = join(APP_DIR, 'assets')
  let total = 0
  for (const file of await readdir(dir)) if (file.endsWith('.js')) total += gzipSync(await readFile(join(dir, file))).length
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

/** In the listener's page: our resolve + dial + ping, and a bare libp2p dial + ping of the same address, alternating. */
async function dialTimes (page: Page, stationId: string): Promise<Record<string, unknown>> {
  const samples = await page.evaluate(async ({ id, runs }) => {
    const network = window.openstudioDiagnostics?.network
    const multiaddr = window.openstudioDiagnostics?.multiaddr
    const node = network?.libp2p
    if (network === undefined || node === undefined || multiaddr === undefined) throw new Error('the page has no network yet')
    const ours: number[] = []
    const bare: number[] = []
    const kinds: string[] = []
    const hangUp = async (): Promise<void> => {
      for (const c of node.getConnections()) if (c.remotePeer.toString() === id) await c.close()
    }
    for (let i = 0; i < runs; i++) {
      const ourRun = async (): Promise<void> => {
        const t0 = performance.now()
        const { manifest } = await network.resolve(id)
        const dialed = await network.dial(manifest)
        ours.push(performance.now() - t0)
        kinds.push(dialed.kind)
        await hangUp()
      }
      const bareRun = async (): Promise<void> => {
        const { manifest } = await network.resolve(id)
        const address = `${manifest.relays[0]}/p2p-circuit/webrtc/p2p/${id}`
        const t0 = performance.now()
        await node.dial(multiaddr(address), { signal: AbortSignal.timeout(20_000) })
        const stream = await node.dialProtocol(multiaddr(address), '/openstudio/ping/1')
        stream.send(new Uint8Array(32))
        await stream.close()
        for await (const _ of stream) { /* the echo */ }
        bare.push(performance.now() - t0)
        await hangUp()
      }
      if (i % 2 === 0) { await ourRun(); await bareRun() } else { await bareRun(); await ourRun() }
    }
    return { ours, bare, kinds }
  }, { id: stationId, runs: DIALS })
  const ours = distribution(samples.ours)
  const bare = distribution(samples.bare)
  return {
    ourResolveDialPingMs: ours,
    bareDialPingMs: bare,
    p50Ratio: round(ours.p50 / bare.p50),
    directWebRtc: samples.kinds.filter((k) => k === 'direct-webrtc').length,
    runs: DIALS
  }
}
