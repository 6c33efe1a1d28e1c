/**
 * Listing the directory: the answers of a few DHT servers near a directory
 * key (all stations, or one tag), each with the station records and the
 * providers it holds; a provider query when too few answers held
 * providers; the providers no answer held a record for, each resolved with
 * bounded concurrency; and stations heard on the directory topic. Verified
 * manifests only, one per station, newest seq.
 */
import { logger } from '@libp2p/logger'
import { directoryCid, isNewerManifest, isStationId } from '@openstudio/protocol'
import parallel from 'it-parallel'
import { TimeoutError } from '../errors.ts'
import { resolveStation, type ResolvedStation } from '../station/resolve.ts'
import type { SnapshotItem } from './records.ts'
import type { KadDHT } from '@libp2p/kad-dht'
import type { PeerId } from '@libp2p/interface'

const log = logger('openstudio:directory')

export const LIST_DEFAULTS = {
  concurrency: 16,
  timeoutMs: 15_000,
  /**
   * Time the walk towards the directory key and the provider query may take
   * before the stations found so far are resolved. A search can run long (a
   * station's node that is gone still shows up in answers); the listing
   * then shows what it found.
   */
  providerSearchMs: 4_000,
  resolveTimeoutMs: 8_000,
  /**
   * Servers whose provider lists are enough, from snapshots and provider
   * query answers together. Each of the K servers closest to a directory
   * key holds every provider that reached it, so a few lists together hold
   * them all; asking every server the query meets (14–20 of 20 relays here,
   * each answering with all 200 providers and their addresses) cost 2 s of
   * CPU for nothing new.
   */
  providerServers: 4,
  /**
   * DHT servers met on the way to the directory key whose snapshots are read
   * (see `ListInit.snapshot`). Each holds the records it is among the K
   * closest to: on 20 relays that know each other, 184–199 of 200, so a few
   * together hold nearly all, and every record they miss costs a DHT get.
   */
  snapshotServers: 6,
  /** A snapshot that takes longer is cut short (what arrived counts). */
  snapshotTimeoutMs: 4_000
} as const

export interface DirectoryComponents {
  dht: Pick<KadDHT, 'get' | 'findProviders' | 'getClosestPeers'>
}

export interface ListInit {
  /** Only stations with this tag. */
  tag?: string
  /** Verified stations known already (from the directory topic or a cache). */
  known?: Iterable<ResolvedStation>
  /**
   * Reads one DHT server's snapshot (see fetchSnapshot): its records, then
   * the providers it holds for the directory key. A station seen there is
   * not resolved again through the DHT, and with enough provider lists no
   * provider query is made. It is asked of `snapshotServers` at once, then
   * (with `snapshotsFromWalk`) of the servers that answer the walk towards
   * the directory key, up to LIST_DEFAULTS.snapshotServers in all.
   */
  snapshot?: (server: PeerId, signal: AbortSignal) => AsyncIterable<SnapshotItem>
  /** Servers whose snapshots are read first: the relays the node is connected to. */
  snapshotServers?: Iterable<PeerId>
  /** Also read the snapshots of servers the walk meets (a browser, which reaches only WebSocket relays, does not). @default true */
  snapshotsFromWalk?: boolean
  /** Time each station's DHT get may take (a timed-out one is asked once more). @default 8 s */
  resolveTimeoutMs?: number
  /** Resolves in flight at once. @default 16 */
  concurrency?: number
  /** @default 15 s */
  timeoutMs?: number
  signal?: AbortSignal
  onProgress?: (progress: { found: number, resolved: number }) => void
  /** Called with each station as soon as it verifies, before the whole list is done. */
  onStation?: (station: ResolvedStation) => void
}

/**
 * Lists the verified stations of the directory (manifest and signed record),
 * newest manifest per station, sorted by name.
 * @throws {MalformedError} for an invalid tag
 */
export async function listDirectory (components: DirectoryComponents, init: ListInit = {}): Promise<ResolvedStation[]> {
  const cid = directoryCid(init.tag)
  const timeout = AbortSignal.timeout(init.timeoutMs ?? LIST_DEFAULTS.timeoutMs)
  const signal = init.signal === undefined ? timeout : AbortSignal.any([init.signal, timeout])
  const stations = new Map<string, ResolvedStation>()
  for (const station of init.known ?? []) {
    if (init.tag === undefined || station.manifest.tags.includes(init.tag)) keep(stations, station)
  }

  const wanted = (station: ResolvedStation): boolean => init.tag === undefined || station.manifest.tags.includes(init.tag)
  const ids = new Set<string>()
  /** Servers whose snapshots held providers. */
  const listed = new Set<string>()
  const read = async (server: string, source: AsyncIterable<SnapshotItem>): Promise<void> => {
    try {
      for await (const item of source) {
        if ('station' in item) {
          if (wanted(item.station) && keep(stations, item.station)) init.onStation?.(item.station)
          continue
        }
        for (const id of item.providers) ids.add(id)
        if (item.providers.length > 0) listed.add(server)
      }
    } catch (err) {
      log('a snapshot failed: %s', (err as Error).message)
    }
  }
  const reading: Array<Promise<void>> = []
  const asked = new Set<string>()
  const ask = (server: PeerId): void => {
    if (init.snapshot === undefined || asked.size >= LIST_DEFAULTS.snapshotServers || asked.has(server.toString())) return
    asked.add(server.toString())
    reading.push(read(server.toString(), init.snapshot(server, AbortSignal.any([signal, AbortSignal.timeout(LIST_DEFAULTS.snapshotTimeoutMs)]))))
  }
  for (const server of init.snapshotServers ?? []) ask(server)
  const search = AbortSignal.any([signal, AbortSignal.timeout(LIST_DEFAULTS.providerSearchMs)])
  await walk(components, cid, search, init.snapshotsFromWalk === false ? () => {} : ask)
  await Promise.all(reading)
  if (listed.size < LIST_DEFAULTS.providerServers) await findProviders(components, cid, search, ids, listed)
  const missing = [...ids].filter((id) => !stations.has(id))
  let resolved = 0
  const progress = (): void => { init.onProgress?.({ found: ids.size, resolved: ids.size - missing.length + resolved }) }
  progress()
  // A provider record says the station exists: a get that timed out (a slow server on its path) is asked once more.
  const timedOut: string[] = []
  const resolveAll = async (list: string[], firstPass: boolean): Promise<void> => {
    const jobs = list.map((id) => async (): Promise<ResolvedStation | 'again' | undefined> => {
      try {
        return await resolveStation(components, id, { timeoutMs: init.resolveTimeoutMs ?? LIST_DEFAULTS.resolveTimeoutMs, signal })
      } catch (err) {
        if (firstPass && err instanceof TimeoutError && !signal.aborted) {
          log('station %s timed out, asking again after the others', id)
          timedOut.push(id)
          return 'again'
        }
        log('station %s skipped: %s', id, (err as Error).message)
        return undefined
      }
    })
    for await (const outcome of parallel(jobs, { concurrency: init.concurrency ?? LIST_DEFAULTS.concurrency, ordered: false })) {
      if (outcome === 'again') continue
      resolved++
      progress()
      if (outcome !== undefined && wanted(outcome) && keep(stations, outcome)) init.onStation?.(outcome)
    }
  }
  await resolveAll(missing, true)
  if (timedOut.length > 0 && !signal.aborted) await resolveAll(timedOut, false)
  return [...stations.values()].sort((a, b) => byName(a.manifest, b.manifest))
}

/** Directory order: by name, then id. */
export function byName (a: { name: string, id: string }, b: { name: string, id: string }): number {
  return a.name.localeCompare(b.name) || (a.id < b.id ? -1 : 1)
}

/** Keeps the newest manifest per id (isNewerManifest); true when `station` is kept. */
export function keep (stations: Map<string, ResolvedStation>, station: ResolvedStation): boolean {
  const current = stations.get(station.manifest.id)
  if (current !== undefined && !isNewerManifest(station.manifest, current.manifest)) return false
  stations.set(station.manifest.id, station)
  return true
}

/**
 * Walks towards a directory key. The walk fills the routing table with the
 * servers near the key, and each server that answers it is one to ask for a
 * snapshot (`onServer`).
 */
async function walk (components: DirectoryComponents, cid: ReturnType<typeof directoryCid>, signal: AbortSignal, onServer: (server: PeerId) => void): Promise<void> {
  try {
    for await (const event of components.dht.getClosestPeers(cid.multihash.bytes, { signal })) {
      if (event.name === 'PEER_RESPONSE') onServer(event.from)
    }
  } catch (err) {
    log('closest-peers walk for %s ended: %s', cid, (err as Error).message)
  }
}

/**
 * Adds to `ids` the station ids among the providers of a directory key, from
 * the servers that hold any until, with the servers whose snapshots held some
 * (`listed`), LIST_DEFAULTS.providerServers have answered. Each server answers with
 * every provider it stores; kad-dht stops its query after K providers, so
 * the full lists come from the PEER_RESPONSE events, not the PROVIDER ones.
 *
 * A provider query only follows peers closer to the key than the one that
 * answered, so a reader that knows a single relay asks one or two servers and
 * sees only what they hold. After the walk (see `walk`) the query starts
 * from all the servers near the key (measured: 1 server and 57 of 60
 * stations before, 17 servers and 40 of 40 after, in half a second).
 * @throws the query's error when it failed before finding any station
 */
async function findProviders (components: DirectoryComponents, cid: ReturnType<typeof directoryCid>, signal: AbortSignal, ids: Set<string>, listed: ReadonlySet<string>): Promise<void> {
  const before = ids.size
  const answered = new Set(listed)
  try {
    for await (const event of components.dht.findProviders(cid, { signal })) {
      // PROVIDER events repeat what the responses held, except for the providers this node stores itself.
      if (event.name !== 'PEER_RESPONSE' && event.name !== 'PROVIDER') continue
      for (const provider of event.providers) {
        const id = provider.id.toString()
        if (isStationId(id)) ids.add(id)
      }
      if (event.name === 'PEER_RESPONSE' && event.providers.length > 0) answered.add(event.from.toString())
      if (answered.size >= LIST_DEFAULTS.providerServers) break
    }
  } catch (err) {
    if (ids.size === 0 && !signal.aborted) throw err
    log('provider search for %s ended with %d new stations: %s', cid, ids.size - before, (err as Error).message)
  }
}
