import { buildManifest, signManifest, stationKeyFromSeed, type Manifest, type SignedManifest } from '@openstudio/protocol'
import { describe, expect, it } from 'vitest'
import { StationIndex, STATION_QUERY_LIMITS, type StationIndexInit, type StationQuery } from '../src/station-index.ts'

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0)
const SECOND = 1000
const MINUTE = 60 * SECOND
const HOUR = 60 * MINUTE

const KEY = stationKeyFromSeed(new Uint8Array(32).fill(7))
const DRAFT = {
  name: 'Radio Kestrel',
  description: 'Talk and new music from the hills.',
  tags: ['talk', 'music'],
  language: 'en',
  country: 'GB',
  homepage: 'https://kestrel.example/',
  streams: [{ url: 'https://stream.kestrel.example/live.ogg', codec: 'opus', bitrate: 96, mount: '/live.ogg' }]
}
/** A valid manifest that the stations below copy; the index keys by `id` and never verifies, so ids need not be real. */
const TEMPLATE = buildManifest(KEY.id, DRAFT, { seq: 1, now: T0 })
const encoder = new TextEncoder()

/** A station with `fields` over the template; its record bytes differ whenever seq, issuedAt or name do. */
function station (id: string, fields: Partial<Manifest> = {}): SignedManifest {
  const manifest: Manifest = { ...TEMPLATE, id, ...fields }
  return { manifest, record: encoder.encode(JSON.stringify([id, manifest.seq, manifest.issuedAt, manifest.name])) }
}

/** Manifest fields of a studio on air until `until`. */
function onAir (until: number): Partial<Manifest> {
  return { studio: { peer: KEY.id, onAir: true, liveUntil: until } }
}

/** An index over a clock the test moves; refreshes its order on every change unless told otherwise. */
function harness (init: StationIndexInit = {}) {
  const clock = { now: T0 }
  const index = new StationIndex({ orderRefreshMs: 0, ...init, now: () => clock.now })
  const ids = (q: StationQuery = {}): string[] => index.query(q).stations.map((s) => s.manifest.id)
  return { index, clock, ids }
}

const invalidQuery = expect.objectContaining({ name: 'InvalidQueryError' })

describe('StationIndex: keeping the newest manifest', () => {
  it('replaces a station only with a newer signed manifest, and a replay of an older one changes nothing', () => {
    const { index, clock, ids } = harness()
    const first = signManifest(TEMPLATE, KEY)
    const renamed = signManifest(buildManifest(KEY.id, { ...DRAFT, name: 'Owl FM', tags: ['jazz'] }, { seq: 2, now: T0 + SECOND }), KEY)
    expect(index.offer(first)).toBe('added')
    clock.now += MINUTE
    expect(index.offer(renamed)).toBe('updated')
    clock.now += MINUTE
    expect(index.offer(first)).toBe('unchanged')
    const held = index.get(KEY.id)
    expect(held?.manifest.seq).toBe(2)
    expect(held?.record).toEqual(renamed.record)
    expect(held?.lastSeen).toBe(T0 + MINUTE)
    expect(held?.firstSeen).toBe(T0)
    // The indexes follow the kept manifest, not the replay.
    expect(ids({ text: 'kestrel' })).toEqual([])
    expect(ids({ tag: 'talk' })).toEqual([])
    expect(ids({ text: 'owl' })).toEqual([KEY.id])
    expect(ids({ tag: 'jazz' })).toEqual([KEY.id])
    // jazz; en; gb; owl, fm, jazz: nothing of the first manifest is left in the indexes.
    expect(index.stats().indexed).toBe(6)
  })

  it('refreshes lastSeen for the same record only, not for another record of the same seq', () => {
    const { index, clock } = harness()
    const a = station('a', { seq: 5 })
    expect(index.offer(a)).toBe('added')
    clock.now += MINUTE
    expect(index.offer(station('a', { seq: 5, name: 'Same seq, other bytes' }))).toBe('unchanged')
    expect(index.get('a')?.lastSeen).toBe(T0)
    expect(index.get('a')?.manifest.name).toBe('Radio Kestrel')
    expect(index.offer({ manifest: a.manifest, record: a.record.slice() })).toBe('unchanged')
    expect(index.get('a')?.lastSeen).toBe(T0 + MINUTE)
  })

  it('takes no token for updates of a held station', () => {
    const { index } = harness({ newPerSource: { burst: 1, perMinute: 1 } })
    const from = { host: '203.0.113.1', peer: 'peer-a' }
    expect(index.offer(station('a', { seq: 1 }), from)).toBe('added')
    for (let seq = 2; seq < 10; seq++) expect(index.offer(station('a', { seq }), from)).toBe('updated')
    expect(index.offer(station('b'), from)).toBe('refused-rate')
    expect(index.stats().refusedRate).toBe(1)
  })
})

describe('StationIndex: new stations per source', () => {
  it('refuses new stations past the burst of one host, whatever peers it uses, and refills over time', () => {
    const { index, clock } = harness({ newPerSource: { burst: 3, perMinute: 60 } })
    const outcomes = []
    for (let i = 0; i < 5; i++) outcomes.push(index.offer(station(`h${i}`), { host: '203.0.113.9', peer: `peer-${i}` }))
    expect(outcomes).toEqual(['added', 'added', 'added', 'refused-rate', 'refused-rate'])
    expect(index.offer(station('other'), { host: '203.0.113.10', peer: 'peer-x' })).toBe('added')
    clock.now += SECOND
    expect(index.offer(station('h5'), { host: '203.0.113.9', peer: 'peer-5' })).toBe('added')
    expect(index.offer(station('h6'), { host: '203.0.113.9', peer: 'peer-6' })).toBe('refused-rate')
    clock.now += 10 * MINUTE
    // Refill stops at the burst.
    const later = []
    for (let i = 7; i < 12; i++) later.push(index.offer(station(`h${i}`), { host: '203.0.113.9', peer: `peer-${i}` }))
    expect(later).toEqual(['added', 'added', 'added', 'refused-rate', 'refused-rate'])
    expect(index.stats().refusedRate).toBe(5)
  })

  it('refuses new stations past the burst of one peer, whatever hosts it comes through', () => {
    const { index } = harness({ newPerSource: { burst: 2, perMinute: 1 } })
    const outcomes = []
    for (let i = 0; i < 4; i++) outcomes.push(index.offer(station(`p${i}`), { host: `198.51.100.${i}`, peer: 'peer-flood' }))
    expect(outcomes).toEqual(['added', 'added', 'refused-rate', 'refused-rate'])
    expect(index.offer(station('p-alone'), { peer: 'peer-flood' })).toBe('refused-rate')
  })

  it('takes a token only when both buckets have one', () => {
    const { index } = harness({ newPerSource: { burst: 2, perMinute: 1 } })
    const host = '203.0.113.7'
    expect(index.offer(station('a'), { host: '203.0.113.99', peer: 'peer-a' })).toBe('added')
    expect(index.offer(station('b'), { host: '203.0.113.99', peer: 'peer-a' })).toBe('added')
    // peer-a is empty: refused, and the host's bucket is not charged for it.
    expect(index.offer(station('c'), { host, peer: 'peer-a' })).toBe('refused-rate')
    expect(index.offer(station('d'), { host, peer: 'peer-d' })).toBe('added')
    expect(index.offer(station('e'), { host, peer: 'peer-e' })).toBe('added')
    expect(index.offer(station('f'), { host, peer: 'peer-f' })).toBe('refused-rate')
  })

  it('does not limit trusted offers (no source)', () => {
    const { index } = harness({ newPerSource: { burst: 1, perMinute: 1 }, maxFreshPerSource: 1 })
    for (let i = 0; i < 100; i++) expect(index.offer(station(`t${i}`))).toBe('added')
    expect(index.size).toBe(100)
  })

  it('forgets the least recently seen source past maxSources', () => {
    const { index } = harness({ maxSources: 2, newPerSource: { burst: 1, perMinute: 1 } })
    expect(index.offer(station('a1'), { host: 'a' })).toBe('added')
    expect(index.offer(station('b1'), { host: 'b' })).toBe('added')
    expect(index.offer(station('a2'), { host: 'a' })).toBe('refused-rate')
    // c pushes out b, the least recently seen, not a.
    expect(index.offer(station('c1'), { host: 'c' })).toBe('added')
    expect(index.offer(station('a3'), { host: 'a' })).toBe('refused-rate')
    expect(index.offer(station('b2'), { host: 'b' })).toBe('added')
    expect(index.stats().sources).toBe(2)
  })
})

describe('StationIndex: eviction', () => {
  it("evicts a source's own oldest fresh station past maxFreshPerSource, even with room to spare", () => {
    const { index } = harness({ maxFreshPerSource: 3 })
    const from = { host: '203.0.113.5' }
    index.offer(station('other'), { host: '203.0.113.6' })
    for (let i = 0; i < 5; i++) expect(index.offer(station(`own${i}`), from)).toBe('added')
    expect(index.get('own0')).toBeUndefined()
    expect(index.get('own1')).toBeUndefined()
    expect(['own2', 'own3', 'own4', 'other'].every((id) => index.get(id) !== undefined)).toBe(true)
    expect(index.stats()).toMatchObject({ stations: 4, evicted: 2 })
  })

  it('lets a station stop being fresh once established, so it no longer counts against its source', () => {
    const { index, clock } = harness({ maxFreshPerSource: 2 })
    const from = { host: '203.0.113.5' }
    index.offer(station('old0'), from)
    index.offer(station('old1'), from)
    clock.now += HOUR
    for (let i = 0; i < 4; i++) index.offer(station(`new${i}`), from)
    expect(index.get('old0')).toBeDefined()
    expect(index.get('old1')).toBeDefined()
    expect(index.get('new1')).toBeUndefined()
    expect(index.stats()).toMatchObject({ stations: 4, fresh: 2 })
  })

  it("never evicts live, listened or established stations for a flood, nor another source's fresh ones while the flooder has its own", () => {
    const { index, clock } = harness({ maxStations: 10, maxFreshPerSource: 5, newPerSource: { burst: 1e6, perMinute: 1e6 } })
    index.offer(station('established'), { host: '192.0.2.1' })
    clock.now += HOUR
    index.offer(station('listened'), { host: '192.0.2.2' })
    index.setListeners('listened', 4)
    index.offer(station('live', onAir(T0 + 20 * HOUR)), { host: '192.0.2.3' })
    for (let i = 0; i < 3; i++) index.offer(station(`neighbour${i}`), { host: '192.0.2.4' })
    const kept = ['established', 'listened', 'live', 'neighbour0', 'neighbour1', 'neighbour2']
    for (let i = 0; i < 1000; i++) {
      clock.now += 10
      expect(index.offer(station(`flood${i}`), { host: '198.51.100.66', peer: `throwaway-${i}` })).toBe('added')
    }
    expect(kept.filter((id) => index.get(id) === undefined)).toEqual([])
    expect(index.size).toBe(10)
    expect(index.get('flood999')).toBeDefined()
    expect(index.stats().evicted).toBe(996)
  })

  it('makes room with the oldest fresh station of anyone when the store is full and the newcomer has none', () => {
    const { index, clock } = harness({ maxStations: 4 })
    index.offer(station('established'))
    clock.now += HOUR
    index.offer(station('fresh0'), { host: '192.0.2.1' })
    index.offer(station('live', onAir(T0 + 20 * HOUR)), { host: '192.0.2.2' })
    index.offer(station('fresh1'), { host: '192.0.2.3' })
    expect(index.offer(station('newcomer'), { host: '192.0.2.4' })).toBe('added')
    expect(index.get('fresh0')).toBeUndefined()
    expect(['established', 'live', 'fresh1', 'newcomer'].every((id) => index.get(id) !== undefined)).toBe(true)
  })

  it('refuses a new station when every held one is protected, and charges no token for it', () => {
    const { index, clock } = harness({ maxStations: 3, newPerSource: { burst: 1, perMinute: 1 } })
    index.offer(station('established'))
    clock.now += HOUR
    index.offer(station('listened'))
    index.setListeners('listened', 1)
    index.offer(station('live', onAir(T0 + 2 * HOUR)))
    const from = { host: '192.0.2.8' }
    expect(index.offer(station('newcomer'), from)).toBe('refused-full')
    expect(index.stats()).toMatchObject({ refusedFull: 1, refusedRate: 0, evicted: 0, stations: 3 })
    // A listener count of 0 lifts the protection.
    index.setListeners('listened', 0)
    expect(index.offer(station('newcomer'), from)).toBe('added')
    expect(index.get('listened')).toBeUndefined()
  })

  it("refuses a source whose fresh stations are all protected once it is at its limit", () => {
    const { index, clock } = harness({ maxFreshPerSource: 2 })
    const from = { host: '192.0.2.9' }
    index.offer(station('live0', onAir(T0 + 10 * MINUTE)), from)
    index.offer(station('live1', onAir(T0 + 10 * MINUTE)), from)
    expect(index.offer(station('third'), from)).toBe('refused-rate')
    clock.now += 10 * MINUTE
    expect(index.offer(station('third'), from)).toBe('added')
    expect(index.get('live0')).toBeUndefined()
  })
})

describe('StationIndex: expiry', () => {
  it('hides an expired station from get and query, and frees its place', () => {
    const { index, clock, ids } = harness({ maxStations: 1 })
    index.offer(station('short', { expiresAt: T0 + MINUTE }))
    expect(ids()).toEqual(['short'])
    clock.now = T0 + MINUTE
    expect(index.get('short')).toBeUndefined()
    expect(index.query({})).toEqual({ stations: [], total: 0 })
    expect(ids({ tag: 'talk' })).toEqual([])
    expect(index.offer(station('next'), { host: '192.0.2.1' })).toBe('added')
    expect(index.stats()).toMatchObject({ stations: 1, expired: 1, evicted: 0, refusedFull: 0 })
    clock.now = T0 + 25 * HOUR
    expect(index.stats()).toMatchObject({ stations: 0, expired: 2, indexed: 0 })
  })

  it("drops an expired station to make room even if nothing reads it", () => {
    const { index, clock } = harness({ maxStations: 2 })
    index.offer(station('a', { expiresAt: T0 + MINUTE }))
    index.offer(station('b', { expiresAt: T0 + 2 * HOUR }))
    clock.now += HOUR
    expect(index.offer(station('c'))).toBe('added')
    expect(index.stats()).toMatchObject({ stations: 2, expired: 1, evicted: 0 })
  })

  it("keeps a station whose newer manifest lives longer than the one it replaced", () => {
    const { index, clock } = harness()
    index.offer(station('a', { seq: 1, expiresAt: T0 + MINUTE }))
    index.offer(station('a', { seq: 2, expiresAt: T0 + HOUR }))
    clock.now += 2 * MINUTE
    expect(index.get('a')?.manifest.seq).toBe(2)
  })

  it("answers 'unchanged' to an offer that has expired already, and keeps nothing", () => {
    const { index } = harness()
    expect(index.offer(station('late', { expiresAt: T0 }))).toBe('unchanged')
    expect(index.size).toBe(0)
  })
})

describe('StationIndex: query order', () => {
  it('puts live stations first (most listeners, then name), then listened ones, then the longest known', () => {
    const { index, clock, ids } = harness()
    index.offer(station('old', { name: 'Zulu' }))
    clock.now += MINUTE
    index.offer(station('middle', { name: 'Yankee' }))
    index.offer(station('middle-b', { name: 'Alpha' }))
    clock.now += MINUTE
    index.offer(station('young', { name: 'Able' }))
    index.offer(station('heard-2', { name: 'X' }))
    index.offer(station('heard-9', { name: 'W' }))
    index.offer(station('live-quiet-b', { name: 'Bravo', ...onAir(T0 + HOUR) }))
    index.offer(station('live-quiet-a', { name: 'Alpha', ...onAir(T0 + HOUR) }))
    index.offer(station('live-loud', { name: 'Zebra', ...onAir(T0 + HOUR) }))
    index.setListeners('heard-2', 2)
    index.setListeners('heard-9', 9)
    index.setListeners('live-loud', 50)
    index.setListeners('nobody', 5)
    expect(ids()).toEqual(['live-loud', 'live-quiet-a', 'live-quiet-b', 'heard-9', 'heard-2', 'old', 'middle-b', 'middle', 'young'])
    expect(index.get('nobody')).toBeUndefined()
  })

  it('lets the cached order be stale by at most orderRefreshMs, also when an on-air claim runs out', () => {
    const { index, clock, ids } = harness({ orderRefreshMs: 2 * SECOND })
    index.offer(station('a', { name: 'A' }))
    index.offer(station('b', { name: 'B' }))
    expect(ids()).toEqual(['a', 'b'])
    index.setListeners('b', 3)
    clock.now += SECOND
    expect(ids()).toEqual(['a', 'b'])
    clock.now += SECOND
    expect(ids()).toEqual(['b', 'a'])
    index.offer(station('c', { name: 'C', ...onAir(T0 + 10 * SECOND) }))
    expect(ids()).toEqual(['b', 'a', 'c'])
    clock.now += 2 * SECOND
    expect(ids()).toEqual(['c', 'b', 'a'])
    // Nothing changes but the time: the claim runs out at T0 + 10 s.
    clock.now = T0 + 10 * SECOND
    expect(ids()).toEqual(['b', 'a', 'c'])
    expect(ids({ live: true })).toEqual([])
  })

  it('shows a station added since the last sort after the sorted ones', () => {
    const { index, clock, ids } = harness({ orderRefreshMs: 2 * SECOND })
    index.offer(station('a'))
    expect(ids()).toEqual(['a'])
    index.offer(station('b', onAir(T0 + HOUR)))
    expect(ids()).toEqual(['a', 'b'])
    expect(ids({ tag: 'talk' })).toEqual(['a', 'b'])
    clock.now += 2 * SECOND
    expect(ids()).toEqual(['b', 'a'])
  })
})

describe('StationIndex: filters', () => {
  function directory () {
    const h = harness()
    h.index.offer(station('cafe', { name: 'Café Ünïcode Radio', tags: ['jazz', 'hip-hop'], language: 'pt-BR', country: 'BR' }))
    h.index.offer(station('radio', { name: 'Radio Cafeteria', tags: ['news'], language: 'en', country: 'GB' }))
    h.index.offer(station('kiosk', { name: 'Ｋｉｏｓｋ ＦＭ', tags: ['jazz'], language: 'de', country: 'DE', ...onAir(T0 + HOUR) }))
    return h
  }

  it('filters by exact tag', () => {
    const { ids } = directory()
    expect(ids({ tag: 'jazz' }).sort()).toEqual(['cafe', 'kiosk'])
    expect(ids({ tag: 'jaz' })).toEqual([])
    expect(ids({ tag: 'hip-hop' })).toEqual(['cafe'])
  })

  it('filters by language and country in any case', () => {
    const { ids } = directory()
    expect(ids({ language: 'PT-br' })).toEqual(['cafe'])
    expect(ids({ country: 'gb' })).toEqual(['radio'])
    expect(ids({ language: 'en', country: 'DE' })).toEqual([])
  })

  it('filters by live', () => {
    const { ids } = directory()
    expect(ids({ live: true })).toEqual(['kiosk'])
    expect(ids({ live: true, tag: 'news' })).toEqual([])
  })

  it('matches every word of the text, the last by prefix, without accents, case or compatibility forms', () => {
    const { ids } = directory()
    expect(ids({ text: 'cafe' }).sort()).toEqual(['cafe', 'radio'])
    expect(ids({ text: 'CAFÉ unic' })).toEqual(['cafe'])
    expect(ids({ text: 'radio caf' }).sort()).toEqual(['cafe', 'radio'])
    // Only the last word is a prefix.
    expect(ids({ text: 'caf radio' })).toEqual([])
    expect(ids({ text: 'kiosk fm' })).toEqual(['kiosk'])
    expect(ids({ text: 'u' })).toEqual(['cafe'])
    // Tags count as words.
    expect(ids({ text: 'hop' })).toEqual(['cafe'])
    expect(ids({ text: 'news radio' })).toEqual(['radio'])
    expect(ids({ text: 'cafe', country: 'BR' })).toEqual(['cafe'])
  })

  it('forgets a removed station in every index', () => {
    const { index, ids } = directory()
    expect(index.remove('cafe')).toBe(true)
    expect(index.remove('cafe')).toBe(false)
    expect(ids({ tag: 'hip-hop' })).toEqual([])
    expect(ids({ text: 'unicode' })).toEqual([])
    expect(ids({ country: 'BR' })).toEqual([])
    expect(ids()).toEqual(['kiosk', 'radio'])
    index.remove('kiosk')
    index.remove('radio')
    expect(index.stats()).toMatchObject({ stations: 0, indexed: 0 })
  })
})

describe('StationIndex: paging', () => {
  it('returns every match exactly once across pages, in the order of one page', () => {
    const { index, clock } = harness()
    for (let i = 0; i < 250; i++) {
      clock.now += i % 7
      index.offer(station(`s${i}`, { name: `Station ${i % 13}`, tags: i % 2 === 0 ? ['even'] : ['odd'], ...(i % 10 === 0 ? onAir(T0 + HOUR) : {}) }))
      if (i % 9 === 0) index.setListeners(`s${i}`, i)
    }
    for (const filter of [{}, { tag: 'even' }, { text: 'stat' }]) {
      const seen: string[] = []
      let cursor: string | undefined
      let pages = 0
      do {
        const page = index.query({ ...filter, limit: 30, ...(cursor === undefined ? {} : { cursor }) })
        seen.push(...page.stations.map((s) => s.manifest.id))
        cursor = page.next
        pages++
        expect(page.total).toBe(Object.keys(filter).length === 0 || 'text' in filter ? 250 : 125)
      } while (cursor !== undefined)
      expect(new Set(seen).size).toBe(seen.length)
      expect(seen.length).toBe('tag' in filter ? 125 : 250)
      expect(pages).toBe(Math.ceil(seen.length / 30))
      const all = [...index.query({ ...filter, limit: 100 }).stations, ...index.query({ ...filter, limit: 100, cursor: index.query({ ...filter, limit: 100 }).next }).stations]
      expect(seen.slice(0, 200)).toEqual(all.map((s) => s.manifest.id))
    }
  })

  it(`stops giving a next cursor at offset ${STATION_QUERY_LIMITS.maxOffset}`, () => {
    const { index } = harness()
    for (let i = 0; i < STATION_QUERY_LIMITS.maxOffset + 300; i++) index.offer(station(`s${i}`))
    let page = index.query({ limit: 100 })
    let pages = 1
    while (page.next !== undefined) {
      page = index.query({ limit: 100, cursor: page.next })
      pages++
    }
    expect(pages).toBe(STATION_QUERY_LIMITS.maxOffset / 100 + 1)
    expect(page.stations).toHaveLength(100)
    expect(page.total).toBe(STATION_QUERY_LIMITS.maxOffset + 300)
  })

  it('rejects malformed cursors and out-of-range queries with InvalidQueryError', () => {
    const { index } = harness()
    for (let i = 0; i < 40; i++) index.offer(station(`s${i}`))
    const good = index.query({ limit: 10 }).next
    expect(good).toBeDefined()
    const bad: StationQuery[] = [
      { cursor: 'not a cursor!' },
      { cursor: '' },
      { cursor: Buffer.from('1.20000').toString('base64url') },
      { cursor: Buffer.from('x.10').toString('base64url') },
      { cursor: Buffer.from('1.010').toString('base64url') },
      { cursor: `${good ?? ''}A` },
      { cursor: 'A'.repeat(1000) },
      { limit: 0 },
      { limit: 101 },
      { limit: 1.5 },
      { limit: Number.NaN },
      { text: 'x'.repeat(81) },
      { tag: 't'.repeat(33) }
    ]
    for (const q of bad) expect(() => index.query(q), JSON.stringify(q)).toThrow(invalidQuery)
    expect(index.query({ cursor: good, limit: 10, text: 'x'.repeat(80), tag: 't'.repeat(32) }).total).toBe(0)
    expect(index.query({ cursor: good, limit: 100 }).stations).toHaveLength(30)
  })
})

describe('StationIndex: floods', () => {
  it('stays within its bounds through 100k new stations from many sources', () => {
    const { index, clock } = harness({ orderRefreshMs: 2 * SECOND })
    index.offer(station('established', { expiresAt: T0 + 48 * HOUR }))
    clock.now += HOUR
    index.offer(station('listened', { expiresAt: T0 + 48 * HOUR }))
    index.setListeners('listened', 1)
    const outcomes = new Map<string, number>()
    for (let i = 0; i < 100_000; i++) {
      clock.now += 10
      const outcome = index.offer(station(`flood-${i}`, { name: `Flood ${i}` }), { host: `10.0.${i % 2000}`, peer: `throwaway-${i}` })
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1)
      if (i % 10_000 === 9_999) expect(index.query({ text: `flood ${i}` }).total).toBe(1)
    }
    const stats = index.stats()
    expect(stats.stations).toBeLessThanOrEqual(60_000)
    expect(stats.sources).toBeLessThanOrEqual(10_000)
    // Per station: its 2 tags, language, country, and 4 words (2 of the name, 2 of the tags).
    expect(stats.indexed).toBe(8 * stats.stations)
    expect(outcomes.get('added')).toBe(100_000)
    expect(stats.evicted).toBe(100_002 - 60_000)
    expect(index.get('established')).toBeDefined()
    expect(index.get('listened')).toBeDefined()
    expect(index.get('flood-99999')).toBeDefined()
    expect(index.query({ limit: 2 }).stations.map((s) => s.manifest.id)).toEqual(['listened', 'established'])
  })
})
