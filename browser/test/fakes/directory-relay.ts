/**
 * Stations for the directory's tests: signed records (real keys and
 * signatures), a relay's `/api/stations` answers as JSON, and an in-memory
 * directory API that answers `list` as a relay would, in its own order.
 */
import { buildManifest, encodeStationsPage, generateStationKey, signManifest, type Manifest, type StationKey } from '@openstudio/protocol'
import type { AbortOptions } from '../../src/services/abort.ts'
import type { HttpStation, HttpStationsPage, StationsQuery } from '../../src/services/directory-http.ts'
import { DRAFT } from '../../../protocol/test/fixtures/draft.ts'

export interface SignedStation {
  key: StationKey
  manifest: Manifest
  record: Uint8Array
}

/** A station signed by `key` (a new one when not given). */
export function signedStation (name: string, init: { key?: StationKey, seq?: number, now?: number, tags?: string[], language?: string } = {}): SignedStation {
  const key = init.key ?? generateStationKey()
  const manifest = buildManifest(key.id, { ...DRAFT, name, tags: init.tags ?? DRAFT.tags, language: init.language ?? DRAFT.language }, { seq: init.seq ?? 1, now: init.now ?? Date.now() })
  return { key, manifest, record: signManifest(manifest, key).record }
}

/** The JSON body a relay sends for these stations. */
export function pageJson (stations: Array<Pick<SignedStation, 'record'> & { listeners?: number }>, more: { next?: string, total?: number } = {}): string {
  return JSON.stringify(encodeStationsPage({
    stations: stations.map((s) => ({ record: s.record, listeners: s.listeners ?? 0, firstSeen: 1 })),
    next: more.next,
    total: more.total ?? stations.length
  }))
}

/** What a page shows of a station the relay sent. */
export function httpStation (station: SignedStation, listeners = 0): HttpStation {
  return { manifest: station.manifest, record: station.record, listeners, firstSeen: 1 }
}

/**
 * A relay's directory API in memory: `stations` in the relay's order (the
 * test's to change), filtered by tag, language and text, paged by offset
 * cursors. Every query is kept; `failure` makes the next ones throw; `gate`
 * holds answers back.
 */
export class MemoryDirectoryApi {
  stations: HttpStation[] = []
  readonly queries: StationsQuery[] = []
  failure?: Error
  rejected = 0

  async list (query: StationsQuery = {}, options: AbortOptions = {}): Promise<HttpStationsPage> {
    this.queries.push(query)
    options.signal?.throwIfAborted()
    if (this.failure !== undefined) throw this.failure
    const words = (query.text ?? '').toLowerCase().split(/\s+/).filter((w) => w !== '')
    const found = this.stations.filter(({ manifest: m }) =>
      (query.tag === undefined || query.tag === '' || m.tags.includes(query.tag)) &&
      (query.language === undefined || query.language === '' || m.language === query.language) &&
      words.every((w) => m.name.toLowerCase().includes(w)))
    const from = Number(query.cursor ?? 0)
    const limit = query.limit ?? 30
    const next = from + limit < found.length ? String(from + limit) : undefined
    return { stations: found.slice(from, from + limit), next, total: found.length, rejected: this.rejected }
  }
}
