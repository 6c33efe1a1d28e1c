/**
 * The directory at the size of the world's radio catalogue
 * (docs/directory.md): 100 relays on loopback, each holding 50,000 stations
 * in its index, as every relay does once the directory topic has carried
 * them. Measured:
 *
 * - a page's first screen (live first) and searches over all 50,000, over
 *   HTTP from Node with every record verified, warm (kept-alive connection,
 *   records seen before) and cold (new connection, nothing cached); and in
 *   Chromium, the light directory page's first card, cold and warm, and a
 *   search typed into it;
 * - the bytes each listing moves;
 * - beside them, a bare kad-dht get of one record on the same network;
 * - the proof of work: an honest first publish in Chromium at the public
 *   network's 8 bits, and a flooder's native cost per 1,000 stations.
 *
 * The 50,000 stations are signed with Node's native Ed25519 and put into
 * each relay's index directly (their stamps are the test network's 0 bits):
 * publishing them through the DHT to 100 relays would cost this 2-core
 * machine an hour. The 100 indexes share the decoded manifests, as they
 * would not on 100 machines; each index's own structures are counted.
 */
import { generateKeyPairSync, sign } from 'node:crypto'
import { Agent, request } from 'node:http'
import { performance } from 'node:perf_hooks'
import * as dagCbor from '@ipld/dag-cbor'
import {
  buildManifest, decodeStationsPage, DOMAIN, encodeManifest, mintStamp, RECORD_VERSION, requireStampBits, stationIdFromPublicKey, stationRecordKey,
  verifyManifest, type Manifest
} from '@openstudio/protocol'
import { resolveStation } from '@openstudio/node'
import type { Relay } from '@openstudio/relay'
import { launchChromium } from '../src/browser.ts'
import { clientOf, draftFor, publishThrough, selfWalk, startRelay, stopAll, tcpAddr } from '../src/network.ts'
import { rawClient } from '../src/raw-client.ts'
import { startWeb, testApp } from '../src/web.ts'
import { distribution, round } from './measure.ts'

/** The figures; a quick trial may ask for fewer (DIRECTORY_SCALE=relays,stations). */
const [RELAYS, STATIONS] = (process.env.DIRECTORY_SCALE ?? '100,50000').split(',').map(Number) as [number, number]
const LIVE = Math.min(300, Math.floor(STATIONS / 100))
const TRIES = 20
const WORDS = ['kestrel', 'jazz', 'harbour', 'night', 'folk', 'talk', 'metro', 'sunrise', 'valley', 'static']
const TAGS = ['talk', 'music', 'news', 'jazz', 'folk', 'sport', 'community', 'electronic', 'classical', 'comedy']
const LANGUAGES = ['en', 'de', 'fr', 'es', 'pt', 'sw', 'ja', 'nl']
const COUNTRIES = ['GB', 'DE', 'FR', 'ES', 'BR', 'KE', 'JP', 'NL']

export async function benchDirectoryScale (): Promise<Record<string, unknown>> {
  requireStampBits(0)
  const t0 = performance.now()
  const stations = population()
  const populationMs = performance.now() - t0
  const relays: Relay[] = []
  let result: Record<string, unknown>
  try {
    const first = await startRelay({ http: { host: '127.0.0.1', port: 0 }, appDir: await testApp() })
    relays.push(first)
    for (let i = 1; i < RELAYS; i++) relays.push(await startRelay({ http: { host: '127.0.0.1', port: 0 }, bootstrap: [tcpAddr(relays[Math.floor(Math.random() * i)]!)] }))
    await Promise.all(relays.map(async (relay) => selfWalk(relay.node).catch(() => {})))
    // The DHT baseline first, before 100 indexes fill this one process's heap.
    const bare = await safely(async () => bareGet(relays))
    const heapBefore = process.memoryUsage().heapUsed
    const t1 = performance.now()
    for (const relay of relays) for (const station of stations) relay.directory.index.offer(station)
    const indexMs = (performance.now() - t1) / RELAYS
    settle()
    const indexBytes = (process.memoryUsage().heapUsed - heapBefore) / RELAYS

    const origins = relays.map((relay) => `http://127.0.0.1:${relay.httpAddress!.port}`)
    result = {
      network: { relays: RELAYS, stations: STATIONS, live: LIVE, populationSignMs: round(populationMs), indexBuildMsPerRelay: round(indexMs), indexMiBPerRelay: round(indexBytes / 2 ** 20) },
      bareKadGetMs: bare,
      http: await safely(async () => { settle(); return await overHttp(origins) }),
      chromium: await safely(async () => { settle(); return await inChromium(origins[0]!) })
    }
  } finally {
    await stopAll(relays)
  }
  // On its own network, once the 100 relays and their indexes are gone.
  return { ...result, proofOfWork: await safely(proofOfWork) }
}

/**
 * A full collection before a phase (`npm run bench` exposes `gc`). One process
 * holds 100 relays' indexes, gigabytes of heap that no real relay has: without
 * this, the collector's pauses after building them land in the first phase.
 */
function settle (): void {
  (globalThis as { gc?: () => void }).gc?.()
}

/** A phase's figures, or its error: one failing phase does not lose the others. */
async function safely (phase: () => Promise<Record<string, unknown>>): Promise<Record<string, unknown>> {
  try {
    return await phase()
  } catch (err) {
    return { error: (err as Error).message }
  }
}

/** 50,000 signed stations, LIVE of them on air; names, tags, languages and countries drawn from small vocabularies. */
function population (): Array<{ manifest: Manifest, record: Uint8Array }> {
  const now = Date.now()
  const out = []
  for (let i = 0; i < STATIONS; i++) {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519')
    const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)
    const id = stationIdFromPublicKey(new Uint8Array(raw))
    const draft = {
      ...draftFor(i, [TAGS[i % TAGS.length]!, TAGS[(i * 7 + 3) % TAGS.length]!]),
      name: `${WORDS[i % WORDS.length]!.replace(/^./, (c) => c.toUpperCase())} ${WORDS[(i * 3 + 1) % WORDS.length]} Radio ${i}`,
      language: LANGUAGES[i % LANGUAGES.length]!,
      country: COUNTRIES[(i >> 3) % COUNTRIES.length]!
    }
    const studio = i < LIVE ? { peer: id, onAir: true, liveUntil: now + 60 * 60_000 } : undefined
    const manifest = buildManifest(id, draft, { seq: 1, now, studio })
    const bytes = encodeManifest(manifest)
    const sig = sign(null, Buffer.concat([Buffer.from(DOMAIN.manifest), bytes]), privateKey)
    out.push({ manifest, record: dagCbor.encode({ v: RECORD_VERSION, manifest: bytes, sig: new Uint8Array(sig), stamp: 0 }) })
  }
  // The live ones are not the first added: the index must find them.
  return out.reverse()
}

/**
 * A real publish through the DHT, then bare kad-dht gets of its record from a
 * client of another relay. A get that finds nothing in 10 s counts as failed.
 */
async function bareGet (relays: Relay[]): Promise<Record<string, unknown>> {
  const published = await publishThrough(relays[1]!, draftFor(99_999))
  const raw = await rawClient([tcpAddr(relays[RELAYS - 1]!)])
  const reader = await clientOf(relays[RELAYS >> 1]!)
  try {
    const bare: number[] = []
    const resolve: number[] = []
    let failed = 0
    const timed = async (into: number[], run: () => Promise<unknown>): Promise<void> => {
      const t = performance.now()
      try {
        await run()
        into.push(performance.now() - t)
      } catch {
        failed++
      }
    }
    for (let i = 0; i < 10; i++) {
      await timed(bare, async () => {
        for await (const _ of raw.services.dht.get(stationRecordKey(published.id), { signal: AbortSignal.timeout(10_000) })) { /* drain, as resolve does */ }
      })
      await timed(resolve, async () => resolveStation(reader.services, published.id))
    }
    return { bareGet: distribution(bare), resolveStation: distribution(resolve), failed }
  } finally {
    await raw.stop()
    await reader.stop()
  }
}

/**
 * GET a listing and verify every record; the time, the body's bytes and the
 * stations shown. A kept-alive socket the server closed as it was reused is
 * asked again once (Node's agent races the server's keep-alive timeout).
 */
async function listing (url: string, agent: Agent | undefined): Promise<{ ms: number, bytes: number, stations: Manifest[] }> {
  try {
    return await listingOnce(url, agent)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') throw err
    return await listingOnce(url, agent)
  }
}

async function listingOnce (url: string, agent: Agent | undefined): Promise<{ ms: number, bytes: number, stations: Manifest[] }> {
  const t = performance.now()
  const body = await new Promise<string>((resolve, reject) => {
    request(url, { agent }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { text += chunk })
      res.on('end', () => { resolve(text) })
      res.on('error', reject)
    }).on('error', reject).end()
  })
  const page = decodeStationsPage(JSON.parse(body))
  const stations = page.stations.map((s) => {
    const verified = verifyManifest(s.record, { now: Date.now() })
    if (!verified.ok) throw verified.error
    return verified.value
  })
  return { ms: performance.now() - t, bytes: Buffer.byteLength(body), stations }
}

async function overHttp (origins: string[]): Promise<Record<string, unknown>> {
  const warmAgent = new Agent({ keepAlive: true })
  const pick = (i: number): string => origins[(i * 37) % origins.length]!
  const measure = async (path: (i: number) => string, agent: (i: number) => Agent | undefined): Promise<{ ms: ReturnType<typeof distribution>, bytes: number, shown: number, liveFirst?: boolean }> => {
    const ms: number[] = []
    let bytes = 0
    let shown = 0
    let liveFirst = true
    for (let i = 0; i < TRIES; i++) {
      const result = await listing(`${pick(i)}${path(i)}`, agent(i))
      ms.push(result.ms)
      bytes = Math.max(bytes, result.bytes)
      shown = result.stations.length
      liveFirst &&= result.stations[0]?.studio?.onAir === true
    }
    return { ms: distribution(ms), bytes, shown, liveFirst }
  }
  try {
    return await measureAll(measure, warmAgent)
  } finally {
    warmAgent.destroy()
  }
}

type Measure = (path: (i: number) => string, agent: (i: number) => Agent | undefined) => Promise<unknown>

async function measureAll (measure: Measure, warmAgent: Agent): Promise<Record<string, unknown>> {
  // Warm: the same kept-alive connections, and records verified before (the first round warms them).
  await measure(() => '/api/stations?limit=30', () => warmAgent)
  const firstScreenWarm = await measure(() => '/api/stations?limit=30', () => warmAgent)
  const firstScreenCold = await measure(() => '/api/stations?limit=30', () => new Agent({ keepAlive: false }))
  const search = await measure((i) => `/api/stations?limit=30&q=${WORDS[i % WORDS.length]!.slice(0, 4 + (i % 3))}`, () => warmAgent)
  const twoWords = await measure((i) => `/api/stations?limit=30&q=${WORDS[i % WORDS.length]!}%20${WORDS[(i * 3 + 1) % WORDS.length]!.slice(0, 3)}`, () => warmAgent)
  const tag = await measure((i) => `/api/stations?limit=30&tag=${TAGS[i % TAGS.length]!}`, () => warmAgent)
  const languageCountry = await measure((i) => `/api/stations?limit=30&language=${LANGUAGES[i % LANGUAGES.length]!}&country=${COUNTRIES[i % COUNTRIES.length]!}`, () => warmAgent)
  const deepPage = await measure(() => '/api/stations?limit=100', () => warmAgent)
  return { firstScreenWarm, firstScreenCold, searchNamePrefix: search, searchTwoWords: twoWords, tag, languageAndCountry: languageCountry, page100: deepPage }
}

/** The light directory page in Chromium: first card cold (new context) and warm (reload), and a search typed into it. */
async function inChromium (origin: string): Promise<Record<string, unknown>> {
  const browser = await launchChromium()
  try {
    const cold: number[] = []
    const warm: number[] = []
    const search: number[] = []
    for (let i = 0; i < 5; i++) {
      const context = await browser.newContext()
      await context.addInitScript('globalThis.__name = (fn) => fn')
      const page = await context.newPage()
      let t = Date.now()
      await page.goto(origin)
      await page.locator('[data-station-id]').first().waitFor({ timeout: 30_000 })
      cold.push(Date.now() - t)
      t = Date.now()
      await page.reload()
      await page.locator('[data-station-id]').first().waitFor({ timeout: 30_000 })
      warm.push(Date.now() - t)
      const word = WORDS[(i + 2) % WORDS.length]!
      t = Date.now()
      await page.fill('[data-testid=search]', word)
      await page.waitForFunction((w) => {
        const cards = Array.from(document.querySelectorAll('[data-station-id]'))
        return cards.length > 0 && cards.every((c) => (c.textContent ?? '').toLowerCase().includes(w))
      }, word, { timeout: 30_000 })
      search.push(Date.now() - t)
      await context.close()
    }
    return { firstCardColdMs: distribution(cold), firstCardWarmMs: distribution(warm), searchTypedMs: distribution(search) }
  } catch (err) {
    return { error: (err as Error).message }
  } finally {
    await browser.close()
  }
}

/** An honest first publish in Chromium at 8 bits (the minting shown on the page), and a flooder's native cost per 1,000 stations. */
async function proofOfWork (): Promise<Record<string, unknown>> {
  requireStampBits(8)
  const native: number[] = []
  for (let i = 0; i < 20; i++) {
    const { publicKey } = generateKeyPairSync('ed25519')
    const id = stationIdFromPublicKey(new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)))
    const t = performance.now()
    await mintStamp(id, { yieldTurn: async () => {} })
    native.push(performance.now() - t)
  }
  const nativeMs = distribution(native)
  const web = await startWeb()
  const browserMs: number[] = []
  try {
    for (let i = 0; i < 10; i++) {
      const { page, context } = await web.newPage()
      await page.goto(`${web.origin}/station`)
      await page.fill('[data-testid=new-passphrase]', 'benchmark passphrase')
      await page.fill('[data-testid=new-passphrase-2]', 'benchmark passphrase')
      await page.click('[data-testid=generate]')
      await page.locator('[data-testid=my-station-id]').waitFor({ timeout: 30_000 })
      await page.fill('[data-testid=field-name]', `Stamp Bench ${i}`)
      await page.fill('[data-testid=field-country]', 'NL')
      await page.fill('[data-testid=field-homepage]', 'https://example.org/')
      await page.fill('[data-testid=field-stream-url-0]', 'https://stream.example.org/live.ogg')
      const t = Date.now()
      await page.click('[data-testid=publish]')
      await page.locator('[data-testid=stamp-progress][data-state=done]').waitFor({ timeout: 60_000 })
      browserMs.push(Date.now() - t)
      await context.close()
    }
  } finally {
    await web.stop()
    requireStampBits(0)
  }
  return {
    bits: 8,
    honestFirstPublishStampChromiumMs: distribution(browserMs),
    nativeMintMs: nativeMs,
    flooderCoreMinutesPer1000Stations: round(native.reduce((a, b) => a + b, 0) / native.length * 1000 / 60_000),
    flooderMinutesPer1000StationsFromOneHostAtOneRelay: round(1000 / 60)
  }
}
