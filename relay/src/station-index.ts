/**
 * A relay's in-memory index of verified stations: it answers paged, filtered
 * directory queries ordered by evidence, and stays within bounds under floods
 * of throwaway stations (a station key costs nothing to make).
 *
 * The caller verifies every record before offering it; the index never looks
 * at a signature. Time comes from `init.now`, so expiry, refill and the
 * established/live states are testable with a fake clock.
 *
 * Flood defence, for stations not held yet (updates of held stations are free):
 * - each source (a host, a peer, or both) takes a token from a bucket per new
 *   station, and holds at most `maxFreshPerSource` fresh ones: past that, its
 *   own oldest fresh station makes room;
 * - when the store is full, the newcomer takes the place of, in order, an
 *   expired station, the oldest fresh station of its own source (so a flood
 *   replaces itself before it touches anyone else's), the oldest fresh
 *   station of anyone;
 * - a station that is on air, has listeners, or is established is never
 *   evicted for a newcomer.
 */
import { bytesEqual, isNewerManifest, isOnAir, type Manifest, type SignedManifest } from '@openstudio/protocol'
import { EMPTY, ExpiryQueue, IdQueue, Postings, TokenIndex } from './station-index-parts.ts'

/** Defaults of StationIndexInit. */
export const STATION_INDEX_DEFAULTS = {
  /** Room for the 50k stations of a large directory, and headroom. */
  maxStations: 60_000,
  maxFreshPerSource: 256,
  newPerSource: { burst: 30, perMinute: 60 },
  maxSources: 10_000,
  establishedMs: 60 * 60_000,
  orderRefreshMs: 2_000
} as const

/** Bounds of a StationQuery; past them, `query` throws InvalidQueryError. */
export const STATION_QUERY_LIMITS = {
  defaultLimit: 30,
  maxLimit: 100,
  /** Furthest offset a cursor may point to: deep paging of a 50k directory is a crawl, not a person. */
  maxOffset: 10_000,
  maxText: 80,
  maxTag: 32,
  maxLanguage: 35,
  maxCountry: 2,
  maxCursor: 64
} as const

/** Fresh stations looked at, at most, to find one that may make room (so an offer stays O(1)). */
const EVICTION_SCAN_MAX = 1_024
const MINUTE_MS = 60_000

export interface StationIndexInit {
  /** Stations held at once. @default STATION_INDEX_DEFAULTS.maxStations */
  maxStations?: number
  /** Fresh (not yet established) stations one source may hold at once. @default 256 */
  maxFreshPerSource?: number
  /** Token bucket of new stations per source. @default { burst: 30, perMinute: 60 } */
  newPerSource?: { burst: number, perMinute: number }
  /** Sources tracked at once; past it, the least recently seen is forgotten. @default 10_000 */
  maxSources?: number
  /** A station first seen this long ago is established. @default 1 hour */
  establishedMs?: number
  /** The evidence order is re-sorted at most this often (0: whenever it changed). @default 2_000 */
  orderRefreshMs?: number
  /** Unix milliseconds now. @default Date.now */
  now?: () => number
  /** Called for each station the index lets go of (a relay deletes its stored record with it). */
  onForget?: (stationId: string, why: 'evicted' | 'expired' | 'removed') => void
}

/**
 * Where an offer came from. Each field given is a source with its own limits
 * (an offer must pass both); an offer with neither is trusted (local): not
 * limited, though its stations, while fresh, may make room like any other.
 */
export interface StationSource {
  /** The host the offer came from (see `hostOf`): an address costs something, a peer id does not. */
  host?: string
  peer?: string
}

export interface IndexedStation {
  manifest: Manifest
  record: Uint8Array
  /** When the index first took this station (Unix ms). */
  firstSeen: number
  /** When this station's newest record was last offered (Unix ms). */
  lastSeen: number
  /** Listeners relays report for it (`setListeners`). */
  listeners: number
  /** Its newest signed now-playing statement (`setNowPlaying`), for readers to verify themselves. */
  nowPlaying?: { at: number, statement: Uint8Array }
}

/**
 * - `unchanged`: the held manifest is as new or newer, or the offer has
 *   expired already (an expired offer is never kept);
 * - `refused-rate`: a source is out of tokens, or holds `maxFreshPerSource`
 *   fresh stations that are all protected;
 * - `refused-full`: the store is full and nothing may make room.
 */
export type OfferOutcome = 'added' | 'updated' | 'unchanged' | 'refused-rate' | 'refused-full'

export interface StationQuery {
  /** Exact tag. */
  tag?: string
  /** Language tag, any case. */
  language?: string
  /** ISO 3166-1 alpha-2 code, any case. */
  country?: string
  /** Words of the name (or tags): each must match a word exactly, the last one as a prefix. Accents and case do not matter. */
  text?: string
  /** true: only stations on air now (false or absent: no filter). */
  live?: boolean
  /** @default 30, at most 100 */
  limit?: number
  /** `next` of the previous page. */
  cursor?: string
}

export interface StationPage {
  stations: IndexedStation[]
  /** Cursor of the next page; absent on the last page and past STATION_QUERY_LIMITS.maxOffset. */
  next?: string
  /** Stations that match, exact at the time of the query (not capped by maxOffset). */
  total: number
}

export interface StationIndexStats {
  stations: number
  /** Held stations not yet established. */
  fresh: number
  /** Held stations on air now. */
  live: number
  /** Sources tracked. */
  sources: number
  /** (key, station) pairs in the tag, language, country and word indexes: they grow and shrink with the stations. */
  indexed: number
  /** Counters since construction. */
  refusedRate: number
  refusedFull: number
  /** Stations dropped to make room (store full, or a source at its fresh limit). */
  evicted: number
  /** Stations dropped because their manifest expired. */
  expired: number
}

/** A query outside STATION_QUERY_LIMITS, or a cursor this index did not make. */
export class InvalidQueryError extends Error {
  override readonly name = 'InvalidQueryError'
}

interface Entry extends IndexedStation {
  /** Tells the expiry queue's current item for this station from stale ones; unique per stored manifest. */
  rev: number
  sources: readonly string[]
  /** Keys in the indexes, derived from `manifest` when it was kept. */
  language: string
  country: string
  tokens: ReadonlySet<string>
  sortName: string
}

interface SourceState {
  tokens: number
  at: number
  /** Its fresh stations, oldest added first. */
  fresh: IdQueue
}

interface Evidence {
  id: string
  /** 0: on air, 1: has listeners, 2: the rest. */
  rank: number
  listeners: number
  firstSeen: number
  name: string
}

interface Order {
  ids: string[]
  rank: Map<string, number>
  version: number
  at: number
  /** When an on-air claim in it runs out, making it stale. */
  staleAt: number
}


/**
 * Memory is bounded: stations by `maxStations` (with their index keys),
 * sources by `maxSources`.
 * @example
 * ```ts
 * const index = new StationIndex()
 * // `station` is a verified { manifest, record } (network's ResolvedStation has this shape).
 * index.offer(station, { host: hostOf(connection.remoteAddr), peer: connection.remotePeer.toString() })
 * const page = index.query({ tag: 'jazz', text: 'radio ke', limit: 20 })
 * const more = page.next === undefined ? undefined : index.query({ tag: 'jazz', text: 'radio ke', limit: 20, cursor: page.next })
 * ```
 */
export class StationIndex {
  private readonly stations = new Map<string, Entry>()
  private readonly sources = new Map<string, SourceState>()
  /** Source keys, least recently seen first. */
  private readonly sourceOrder = new IdQueue()
  /** Ids of fresh stations, oldest added first, except that protected ones met by an eviction scan move to the back. */
  private readonly fresh = new IdQueue()
  /** Stations whose manifest claimed on-air when kept; the claim is checked again on read. */
  private readonly live = new Set<string>()
  private readonly byTag = new Postings()
  private readonly byLanguage = new Postings()
  private readonly byCountry = new Postings()
  private readonly byToken = new TokenIndex()
  private readonly expiry = new ExpiryQueue()
  /** Stations added since the order was sorted; they page after the sorted ones. */
  private readonly unranked = new Set<string>()
  private order: Order = { ids: [], rank: new Map(), version: 0, at: 0, staleAt: 0 }
  private orderDirty = true
  private rev = 0
  private readonly counters = { refusedRate: 0, refusedFull: 0, evicted: 0, expired: 0 }
  private readonly init: Required<Omit<StationIndexInit, 'now' | 'onForget'>>
  private readonly now: () => number
  private readonly onForget: StationIndexInit['onForget']

  constructor (init: StationIndexInit = {}) {
    const { now, onForget, ...limits } = init
    this.init = { ...STATION_INDEX_DEFAULTS, ...definedFields(limits) }
    this.now = now ?? Date.now
    this.onForget = onForget
  }

  /**
   * Offers a verified station. A held station is replaced only by a newer
   * manifest (`isNewerManifest`), for free; a new one goes through the flood
   * defence (see the module doc). O(1) amortized, plus the station's index
   * keys.
   */
  offer (station: SignedManifest, source: StationSource = {}): OfferOutcome {
    const now = this.now()
    this.dropExpired(now)
    this.graduate(this.fresh, now)
    if (station.manifest.expiresAt <= now) return 'unchanged'
    const held = this.stations.get(station.manifest.id)
    if (held === undefined) return this.admit(station, sourceKeys(source), now)
    if (!isNewerManifest(station.manifest, held.manifest)) {
      // A replay of an older record says nothing about the station now; only the same record refreshes it.
      if (bytesEqual(station.record, held.record)) held.lastSeen = now
      return 'unchanged'
    }
    this.unindex(held)
    held.manifest = station.manifest
    held.record = station.record
    held.lastSeen = now
    this.index(held, now)
    return 'updated'
  }

  /**
   * Whether an offer of `stationId` from `source` would get past the rate
   * limits: the station is held already (an update is free), or every bucket
   * of the source has a token. Takes nothing; lets a caller refuse before
   * paying for a record's verification.
   */
  admissible (stationId: string, source: StationSource = {}): boolean {
    if (this.stations.has(stationId)) return true
    const now = this.now()
    return sourceKeys(source).every((key) => this.source(key, now).tokens >= 1)
  }

  /** Sets the listeners relays report for a held station; anything but a positive count is 0. */
  setListeners (stationId: string, listeners: number): void {
    const entry = this.stations.get(stationId)
    const count = Number.isFinite(listeners) && listeners > 0 ? Math.floor(listeners) : 0
    if (entry === undefined || entry.listeners === count) return
    entry.listeners = count
    this.orderDirty = true
  }

  /** Keeps a held station's newest now-playing statement (verified by the caller); an older one changes nothing. */
  setNowPlaying (stationId: string, nowPlaying: { at: number, statement: Uint8Array }): void {
    const entry = this.stations.get(stationId)
    if (entry === undefined || (entry.nowPlaying !== undefined && entry.nowPlaying.at >= nowPlaying.at)) return
    entry.nowPlaying = nowPlaying
  }

  get (stationId: string): IndexedStation | undefined {
    this.dropExpired(this.now())
    const entry = this.stations.get(stationId)
    return entry === undefined ? undefined : view(entry)
  }

  /** Drops a station (not counted as evicted); false when it was not held. */
  remove (stationId: string): boolean {
    const entry = this.stations.get(stationId)
    if (entry === undefined) return false
    this.forget(entry, 'removed')
    return true
  }

  get size (): number {
    this.dropExpired(this.now())
    return this.stations.size
  }

  /**
   * One page of the held stations that match `q`, by evidence: on air first
   * (more listeners first, then name), then with listeners (more first, then
   * longest known), then the rest, longest known first; ties by name, then id.
   *
   * Work: without filters, O(offset + limit) over the cached order; with
   * filters, O(s + m log m), where s is the smallest index set of the filters
   * (tag, language, country, on air, a whole word; for a text-only query of one
   * word, the stations with a word of that prefix) and m the matches. The order
   * is re-sorted (O(n log n)) at most once per `orderRefreshMs`, when stations
   * changed or an on-air claim ran out; until then, new stations come after
   * the sorted ones.
   *
   * Paging is by offset into that order. Until the order is re-sorted, pages
   * neither repeat nor skip a station, except that one dropped meanwhile
   * shifts the later pages by one (new stations go to the end). Across a
   * re-sort, a station whose place changed may show twice or not at all: the
   * cursor's version names the order its offset counted in, and a cursor of
   * an older order still continues at its offset.
   * @throws {InvalidQueryError} for a limit out of 1..100, a text longer than 80,
   * a tag longer than 32, or a cursor this index did not make
   */
  query (q: StationQuery = {}): StationPage {
    const limit = q.limit ?? STATION_QUERY_LIMITS.defaultLimit
    if (!Number.isInteger(limit) || limit < 1 || limit > STATION_QUERY_LIMITS.maxLimit) throw new InvalidQueryError(`limit must be 1 to ${STATION_QUERY_LIMITS.maxLimit}`)
    const filter = compileFilter(q)
    const offset = q.cursor === undefined ? 0 : decodeCursor(q.cursor)
    const now = this.now()
    this.dropExpired(now)
    const order = this.sortedOrder(now)
    const { stations, total } = filter === undefined
      ? { stations: this.walk(order, offset, limit, now), total: this.stations.size }
      : this.search(filter, order, offset, limit, now)
    const end = offset + limit
    const next = end < total && end <= STATION_QUERY_LIMITS.maxOffset ? encodeCursor(order.version, end) : undefined
    return { stations: stations.map(view), ...(next === undefined ? {} : { next }), total }
  }

  /** Counts; `fresh` and `live` are counted now, O(n). */
  stats (): StationIndexStats {
    const now = this.now()
    this.dropExpired(now)
    let fresh = 0
    let live = 0
    for (const entry of this.stations.values()) {
      if (!this.isEstablished(entry, now)) fresh++
      if (isOnAir(entry.manifest, now)) live++
    }
    const indexed = this.byTag.count + this.byLanguage.count + this.byCountry.count + this.byToken.count
    return { stations: this.stations.size, fresh, live, sources: this.sources.size, indexed, ...this.counters }
  }

  private admit (station: SignedManifest, keys: string[], now: number): OfferOutcome {
    const sources = keys.map((key) => this.source(key, now))
    if (sources.some((s) => s.tokens < 1)) return this.refuse('refused-rate')
    const victims = new Set<string>()
    for (const s of sources) {
      this.graduate(s.fresh, now)
      if (s.fresh.size < this.init.maxFreshPerSource) continue
      const victim = this.evictable(s.fresh, now, victims, false)
      if (victim === undefined) return this.refuse('refused-rate')
      victims.add(victim)
    }
    // Expired stations are gone already (dropExpired), so room comes from the source's own fresh stations, then anyone's.
    if (this.stations.size - victims.size >= this.init.maxStations) {
      let victim: string | undefined
      for (const s of sources) victim ??= this.evictable(s.fresh, now, victims, false)
      victim ??= this.evictable(this.fresh, now, victims, true)
      if (victim === undefined) return this.refuse('refused-full')
      victims.add(victim)
    }
    for (const s of sources) s.tokens -= 1
    for (const id of victims) {
      const entry = this.stations.get(id)
      if (entry !== undefined) this.forget(entry, 'evicted')
      this.counters.evicted++
    }
    const { manifest, record } = station
    const entry: Entry = { manifest, record, firstSeen: now, lastSeen: now, listeners: 0, rev: 0, sources: keys, language: '', country: '', tokens: EMPTY, sortName: '' }
    this.stations.set(manifest.id, entry)
    this.index(entry, now)
    this.fresh.add(manifest.id)
    for (const s of sources) s.fresh.add(manifest.id)
    if (!this.order.rank.has(manifest.id)) this.unranked.add(manifest.id)
    return 'added'
  }

  private refuse (outcome: 'refused-rate' | 'refused-full'): OfferOutcome {
    if (outcome === 'refused-rate') this.counters.refusedRate++
    else this.counters.refusedFull++
    return outcome
  }

  /** A source's state, refilled to now and marked most recently seen; the least recently seen is forgotten past maxSources. */
  private source (key: string, now: number): SourceState {
    const { burst, perMinute } = this.init.newPerSource
    let state = this.sources.get(key)
    if (state === undefined) {
      const oldest = this.sourceOrder.first()
      if (this.sources.size >= this.init.maxSources && oldest !== undefined) {
        this.sources.delete(oldest)
        this.sourceOrder.delete(oldest)
      }
      state = { tokens: burst, at: now, fresh: new IdQueue() }
      this.sources.set(key, state)
    } else {
      state.tokens = Math.min(burst, state.tokens + Math.max(0, now - state.at) * perMinute / MINUTE_MS)
      state.at = now
    }
    this.sourceOrder.moveToBack(key)
    return state
  }

  /**
   * The first station of `ids` (a fresh set) that may make room: not in
   * `exclude` and not protected. Established ones met are no longer fresh;
   * with `rotate`, protected ones met move to the back. Looks at most at
   * EVICTION_SCAN_MAX ids.
   */
  private evictable (ids: IdQueue, now: number, exclude: ReadonlySet<string>, rotate: boolean): string | undefined {
    let budget = Math.min(ids.size, EVICTION_SCAN_MAX)
    for (const id of ids) {
      if (budget-- <= 0) return undefined
      const entry = this.stations.get(id)
      if (entry === undefined || this.isEstablished(entry, now)) {
        if (entry === undefined) ids.delete(id)
        else this.settle(entry)
        continue
      }
      if (exclude.has(id)) continue
      if (entry.listeners === 0 && !isOnAir(entry.manifest, now)) return id
      if (rotate) ids.moveToBack(id)
    }
    return undefined
  }

  /** Settles the established stations at the front of a fresh set (oldest added first), O(1) amortized. */
  private graduate (ids: IdQueue, now: number): void {
    for (const id of ids) {
      const entry = this.stations.get(id)
      if (entry !== undefined && !this.isEstablished(entry, now)) return
      if (entry === undefined) ids.delete(id)
      else this.settle(entry)
    }
  }

  private isEstablished (entry: Entry, now: number): boolean {
    return now - entry.firstSeen >= this.init.establishedMs
  }

  /** Takes a station out of the fresh sets. */
  private settle (entry: Entry): void {
    const id = entry.manifest.id
    this.fresh.delete(id)
    for (const key of entry.sources) this.sources.get(key)?.fresh.delete(id)
  }

  private forget (entry: Entry, why: 'evicted' | 'expired' | 'removed'): void {
    this.settle(entry)
    this.unindex(entry)
    this.stations.delete(entry.manifest.id)
    this.unranked.delete(entry.manifest.id)
    this.onForget?.(entry.manifest.id, why)
  }

  /** Drops the stations whose manifest expired, soonest first; O(log n) each. */
  private dropExpired (now: number): void {
    for (let next = this.expiry.peek(); next !== undefined && next.at <= now; next = this.expiry.peek()) {
      this.expiry.pop()
      const entry = this.stations.get(next.id)
      if (entry === undefined || entry.rev !== next.rev) continue
      this.forget(entry, 'expired')
      this.counters.expired++
    }
  }

  private index (entry: Entry, now: number): void {
    const m = entry.manifest
    entry.rev = ++this.rev
    entry.language = m.language.toLowerCase()
    entry.country = m.country.toLowerCase()
    entry.tokens = new Set([...words(m.name), ...m.tags.flatMap(words)])
    entry.sortName = fold(m.name)
    for (const tag of m.tags) this.byTag.add(tag, m.id)
    this.byLanguage.add(entry.language, m.id)
    this.byCountry.add(entry.country, m.id)
    for (const token of entry.tokens) this.byToken.add(token, m.id)
    if (isOnAir(m, now)) this.live.add(m.id)
    this.expiry.push({ at: m.expiresAt, id: m.id, rev: entry.rev })
    if (this.expiry.length > 2 * this.stations.size + 1024) {
      this.expiry.reset([...this.stations.values()].map((e) => ({ at: e.manifest.expiresAt, id: e.manifest.id, rev: e.rev })))
    }
    this.orderDirty = true
  }

  private unindex (entry: Entry): void {
    const m = entry.manifest
    for (const tag of m.tags) this.byTag.delete(tag, m.id)
    this.byLanguage.delete(entry.language, m.id)
    this.byCountry.delete(entry.country, m.id)
    for (const token of entry.tokens) this.byToken.delete(token, m.id)
    this.live.delete(m.id)
  }

  /** The evidence order, re-sorted when stale and at least `orderRefreshMs` after the last sort. */
  private sortedOrder (now: number): Order {
    const old = this.order
    const stale = this.orderDirty || now >= old.staleAt
    if (!stale || (now - old.at < this.init.orderRefreshMs && now >= old.at && old.version > 0)) return old
    const keyed = [...this.stations.values()].map((e) => evidence(e, now)).sort(compareEvidence)
    let staleAt = Infinity
    for (const k of keyed) {
      const until = k.rank === 0 ? this.stations.get(k.id)?.manifest.studio?.liveUntil : undefined
      if (until !== undefined) staleAt = Math.min(staleAt, until)
    }
    const ids = keyed.map((k) => k.id)
    this.order = { ids, rank: new Map(ids.map((id, i) => [id, i])), version: old.version + 1, at: now, staleAt }
    this.orderDirty = false
    this.unranked.clear()
    return this.order
  }

  /** A page of all stations: the sorted ones that are still held, then the unsorted ones. */
  private walk (order: Order, offset: number, limit: number, now: number): Entry[] {
    const page: Entry[] = []
    let skip = offset
    const take = (entry: Entry | undefined): boolean => {
      if (entry === undefined) return true
      if (skip > 0) skip--
      else page.push(entry)
      return page.length < limit
    }
    for (const id of order.ids) if (!take(this.stations.get(id))) return page
    const rest = [...this.unranked].map((id) => evidence(this.stations.get(id) as Entry, now)).sort(compareEvidence)
    for (const k of rest) if (!take(this.stations.get(k.id))) return page
    return page
  }

  private search (filter: Filter, order: Order, offset: number, limit: number, now: number): { stations: Entry[], total: number } {
    const sets: Array<ReadonlySet<string>> = []
    if (filter.tag !== undefined) sets.push(this.byTag.get(filter.tag))
    if (filter.language !== undefined) sets.push(this.byLanguage.get(filter.language))
    if (filter.country !== undefined) sets.push(this.byCountry.get(filter.country))
    if (filter.live) sets.push(this.live)
    for (const word of filter.words) sets.push(this.byToken.exact(word))
    if (sets.length === 0 && filter.prefix !== undefined) sets.push(this.byToken.prefixed(filter.prefix))
    const smallest = sets.reduce((a, b) => b.size < a.size ? b : a)
    const matches: Entry[] = []
    for (const id of smallest) {
      const entry = this.stations.get(id)
      if (entry === undefined) continue
      if (matchesFilter(entry, filter, now)) matches.push(entry)
      // A claim that ran out leaves the on-air set when met, so that set stays about the stations on air.
      else if (smallest === this.live && !isOnAir(entry.manifest, now)) this.live.delete(id)
    }
    const rankOf = (e: Entry): number => order.rank.get(e.manifest.id) ?? Infinity
    matches.sort((a, b) => {
      const ra = rankOf(a)
      const rb = rankOf(b)
      return ra !== rb ? (ra < rb ? -1 : 1) : ra === Infinity ? compareEvidence(evidence(a, now), evidence(b, now)) : 0
    })
    return { stations: matches.slice(offset, offset + limit), total: matches.length }
  }
}

interface Filter {
  tag?: string
  language?: string
  country?: string
  live: boolean
  /** Query words but the last: each must be a word of the station. */
  words: string[]
  /** The last query word: a word of the station must start with it. */
  prefix?: string
}

/** The query's filters, checked against STATION_QUERY_LIMITS; undefined when there are none. */
function compileFilter (q: StationQuery): Filter | undefined {
  const L = STATION_QUERY_LIMITS
  const checkLength = (what: string, value: string | undefined, max: number): void => {
    if (value !== undefined && (typeof value !== 'string' || value.length > max)) throw new InvalidQueryError(`${what} must be a string of at most ${max} characters`)
  }
  checkLength('text', q.text, L.maxText)
  checkLength('tag', q.tag, L.maxTag)
  checkLength('language', q.language, L.maxLanguage)
  checkLength('country', q.country, L.maxCountry)
  const tokens = q.text === undefined ? [] : words(q.text)
  const filter: Filter = {
    ...(q.tag === undefined ? {} : { tag: q.tag }),
    ...(q.language === undefined ? {} : { language: q.language.toLowerCase() }),
    ...(q.country === undefined ? {} : { country: q.country.toLowerCase() }),
    live: q.live === true,
    words: tokens.slice(0, -1),
    ...(tokens.length === 0 ? {} : { prefix: tokens[tokens.length - 1] })
  }
  const any = filter.tag !== undefined || filter.language !== undefined || filter.country !== undefined || filter.live || filter.prefix !== undefined
  return any ? filter : undefined
}

function matchesFilter (entry: Entry, f: Filter, now: number): boolean {
  const m = entry.manifest
  if (m.expiresAt <= now) return false
  if (f.tag !== undefined && !m.tags.includes(f.tag)) return false
  if (f.language !== undefined && entry.language !== f.language) return false
  if (f.country !== undefined && entry.country !== f.country) return false
  if (f.live && !isOnAir(m, now)) return false
  if (!f.words.every((w) => entry.tokens.has(w))) return false
  const prefix = f.prefix
  if (prefix === undefined) return true
  for (const token of entry.tokens) if (token.startsWith(prefix)) return true
  return false
}

function evidence (entry: Entry, now: number): Evidence {
  const rank = isOnAir(entry.manifest, now) ? 0 : entry.listeners > 0 ? 1 : 2
  return { id: entry.manifest.id, rank, listeners: entry.listeners, firstSeen: entry.firstSeen, name: entry.sortName }
}

function compareEvidence (a: Evidence, b: Evidence): number {
  if (a.rank !== b.rank) return a.rank - b.rank
  if (a.rank < 2 && a.listeners !== b.listeners) return b.listeners - a.listeners
  if (a.rank > 0 && a.firstSeen !== b.firstSeen) return a.firstSeen - b.firstSeen
  return compareText(a.name, b.name) || compareText(a.id, b.id)
}

function compareText (a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0
}

/** Lower case, without accents or compatibility forms: "Café Ｒadio" → "cafe radio". */
function fold (text: string): string {
  return text.normalize('NFKD').replace(/\p{M}+/gu, '').toLowerCase()
}

/** The searchable words of a text: runs of letters and digits, folded. */
function words (text: string): string[] {
  return fold(text).split(/[^\p{L}\p{N}]+/u).filter((w) => w !== '')
}

function sourceKeys (source: StationSource): string[] {
  const keys: string[] = []
  if (source.host !== undefined) keys.push(`host:${source.host}`)
  if (source.peer !== undefined) keys.push(`peer:${source.peer}`)
  return keys
}

function view (entry: Entry): IndexedStation {
  const { manifest, record, firstSeen, lastSeen, listeners, nowPlaying } = entry
  return { manifest, record, firstSeen, lastSeen, listeners, ...(nowPlaying === undefined ? {} : { nowPlaying }) }
}

function definedFields<T extends object> (init: T): Partial<T> {
  return Object.fromEntries(Object.entries(init).filter(([key, value]) => value !== undefined && key !== 'now')) as Partial<T>
}

function encodeCursor (version: number, offset: number): string {
  return Buffer.from(`${version}.${offset}`).toString('base64url')
}

/** The offset a cursor points to. @throws {InvalidQueryError} for anything encodeCursor did not make */
function decodeCursor (cursor: string): number {
  const bad = new InvalidQueryError('cursor is not one this index made')
  if (typeof cursor !== 'string' || cursor.length > STATION_QUERY_LIMITS.maxCursor || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw bad
  const match = /^(\d{1,15})\.(\d{1,5})$/.exec(Buffer.from(cursor, 'base64url').toString('latin1'))
  if (match === null) throw bad
  const version = Number(match[1])
  const offset = Number(match[2])
  // The version names the order the offset counted in; a page of a newer order still continues at the offset.
  if (offset > STATION_QUERY_LIMITS.maxOffset || encodeCursor(version, offset) !== cursor) throw bad
  return offset
}
