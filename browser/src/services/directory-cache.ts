/**
 * The directory cache: the signed records of stations seen before, in
 * IndexedDB, so that a reload renders at once and then refreshes. Every cached
 * record is verified again before it is shown; expired and forged ones are
 * dropped.
 */
import { stationRecordKey, validateStationRecord } from '@openstudio/protocol'
import { createStore, delMany, entries, setMany, type UseStore } from 'idb-keyval'
import type { ResolvedStation } from '@openstudio/network'

/** Stations kept at most. */
export const DIRECTORY_CACHE_MAX = 1000

export class DirectoryCache {
  private readonly store: UseStore

  constructor (store?: UseStore) {
    this.store = store ?? createStore('openstudio-directory', 'records')
  }

  /** The cached stations that still verify. */
  async load (now = Date.now()): Promise<ResolvedStation[]> {
    const all = await entries<string, Uint8Array>(this.store)
    const valid: ResolvedStation[] = []
    const dropped: string[] = []
    for (const [id, record] of all.slice(0, DIRECTORY_CACHE_MAX)) {
      const result = typeof id === 'string' && record instanceof Uint8Array ? safeValidate(id, record, now) : undefined
      if (result === undefined) dropped.push(String(id))
      else valid.push({ manifest: result, record })
    }
    if (dropped.length > 0) await delMany(dropped, this.store)
    return valid
  }

  async save (stations: Iterable<ResolvedStation>): Promise<void> {
    await setMany([...stations].slice(0, DIRECTORY_CACHE_MAX).map((s) => [s.manifest.id, s.record]), this.store)
  }
}

function safeValidate (id: string, record: Uint8Array, now: number): ResolvedStation['manifest'] | undefined {
  try {
    const result = validateStationRecord(stationRecordKey(id), record, now)
    return result.ok ? result.value : undefined
  } catch {
    return undefined
  }
}
