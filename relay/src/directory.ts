/**
 * The relay's directory: a StationIndex of every verified station it hears
 * of (records put to its DHT store, announcements on the directory topic, and
 * its own stored records at start), kept within its limits, and answers from
 * it in evidence order (docs/directory.md).
 *
 * The index is the store's gatekeeper: a DHT put of a station the index
 * refuses (over its source's allowance, or no room) fails, and a station the
 * index lets go of loses its stored record too, so the datastore never holds
 * more stations than the index. Sources are counted by host and by peer: the
 * kad gate (kad-gate.ts) tells the record validator and the datastore which
 * connection a put or provider record came on.
 */
import { logger } from '@libp2p/logger'
import { fetchSnapshot, readStoredRecord, recordDatastoreKey, validateRecordCached, type DirectoryWatcher, type ResolvedStation, type SnapshotSource } from '@openstudio/node'
import { isOnAir, PROTOCOL, stationIdFromRecordKey, stationRecordKey, verifyManifest, type ListenerReport, type NowPlaying } from '@openstudio/protocol'
import { KadGate } from './kad-gate.ts'
import { PeerRateLimiter } from './rate-limit.ts'
import { StationIndex, type StationIndexInit, type StationSource } from './station-index.ts'
import type { Refusals } from './refusals.ts'
import type { Datastore, Key } from 'interface-datastore'
import type { Libp2p, PeerId } from '@libp2p/interface'

const log = logger('openstudio:relay:directory')

export const RELAY_DIRECTORY_DEFAULTS = {
  /** A bootstrap relay's snapshot that takes longer is cut short (what arrived counts). */
  syncTimeoutMs: 30_000,
  /** Provider records one host, or one peer, may add in a minute (a station adds one per tag and one for the whole directory). */
  providersPerMinute: 600,
  /** Provider records held at once: 50,000 stations with their tags, and room. */
  maxProviders: 600_000
} as const

/** A DHT put or provider record this relay refused to store. */
export class DirectoryRefusedError extends Error {
  override readonly name = 'DirectoryRefusedError'
}

export interface RelayDirectoryComponents {
  /** The host of a directly connected peer (see hostOf), or undefined. */
  hostOf: (peer: PeerId | string) => string | undefined
  refusals: Refusals
}

export interface RelayDirectoryInit {
  /** The kad-dht datastorePrefix. */
  prefix: string
  index?: Omit<StationIndexInit, 'onForget'>
  /** @default RELAY_DIRECTORY_DEFAULTS.providersPerMinute */
  providersPerMinute?: number
  /** @default RELAY_DIRECTORY_DEFAULTS.maxProviders */
  maxProviders?: number
}

export class RelayDirectory {
  readonly index: StationIndex
  /** Provider records stored, counted at start and kept by the guard. */
  providers = 0
  /** Wraps kad-dht's inbound stream handler (createOpenStudioNode's `wrapKadHandler`). */
  readonly kadGate: KadGate<StationSource>
  private readonly providerLimits: PeerRateLimiter
  private readonly maxProviders: number
  private readonly prefix: string
  private readonly recordPrefix: string
  private readonly providerPrefix: string
  private store?: Datastore

  constructor (private readonly components: RelayDirectoryComponents, init: RelayDirectoryInit) {
    this.index = new StationIndex({ ...init.index, onForget: (id, why) => { this.dropRecord(id, why) } })
    this.kadGate = new KadGate((connection) => this.sourceOf(connection.remotePeer, connection.limits === undefined))
    this.providerLimits = new PeerRateLimiter(init.providersPerMinute ?? RELAY_DIRECTORY_DEFAULTS.providersPerMinute, 60_000, 10_000)
    this.maxProviders = init.maxProviders ?? RELAY_DIRECTORY_DEFAULTS.maxProviders
    this.prefix = init.prefix
    this.recordPrefix = `${init.prefix}/record/`
    this.providerPrefix = `${init.prefix}/provider/`
  }

  /**
   * The datastore kad-dht should use: `datastore`, with station records
   * going through the index and provider records through their limits.
   * Everything else passes through.
   */
  guard<D extends Datastore> (datastore: D): D {
    this.store = datastore
    const put = async (key: Key, value: Uint8Array, options?: unknown): Promise<Key> => {
      const name = key.toString()
      if (name.startsWith(this.recordPrefix)) this.storeRecord(value)
      else if (name.startsWith(this.providerPrefix) && !(await datastore.has(key))) this.storeProvider()
      return await datastore.put(key, value, options as never)
    }
    const remove = async (key: Key, options?: unknown): Promise<void> => {
      if (key.toString().startsWith(this.providerPrefix) && await datastore.has(key)) this.providers = Math.max(0, this.providers - 1)
      await datastore.delete(key, options as never)
    }
    return new Proxy(datastore, {
      get: (target, property, receiver) => {
        if (property === 'put') return put
        if (property === 'delete') return remove
        const value: unknown = Reflect.get(target, property, receiver)
        return typeof value === 'function' ? value.bind(target) : value
      }
    })
  }

  /**
   * Loads the station records and counts the provider records already stored
   * (a restart), as trusted: they passed the limits, and their stamps were
   * checked, when they were put. Each record's signature is checked again
   * (0.15 ms natively; a stamp would cost 4 ms, 3.5 minutes for 50,000).
   */
  async load (signal?: AbortSignal): Promise<void> {
    const store = this.store
    if (store === undefined) return
    let stations = 0
    const now = Date.now()
    for await (const { value } of store.query({ prefix: this.recordPrefix.slice(0, -1) }, { signal })) {
      const stored = readStoredRecord(value)
      if (stored === undefined) continue
      let stationId: string
      try {
        stationId = stationIdFromRecordKey(stored.key)
      } catch {
        continue
      }
      const result = verifyManifest(stored.value, { now, stationId, stampVerifiedBefore: true })
      if (result.ok && this.index.offer({ manifest: result.value, record: stored.value }) === 'added') stations++
    }
    for await (const _ of store.queryKeys({ prefix: this.providerPrefix.slice(0, -1) }, { signal })) this.providers++
    log('loaded %d stations and %d provider records', stations, this.providers)
  }

  /**
   * Runs before a peer's put of a station record is verified (createOpenStudioNode's
   * `admitRecord`): a new station over its source's allowance is refused
   * before its record costs a signature check and a stamp.
   * @throws {DirectoryRefusedError}
   */
  readonly admitRecord = (key: Uint8Array): void => {
    const source = this.kadGate.sourceOfPut()
    if (source === undefined) return
    let stationId: string
    try {
      stationId = stationIdFromRecordKey(key)
    } catch {
      return
    }
    if (!this.index.admissible(stationId, source)) this.refuseStation(stationId, 'refused-rate')
  }

  /**
   * Fills the index from the snapshot of each configured bootstrap relay,
   * once, when it is first identified: a relay that joins (or comes back after
   * a while) lists what the network knows without waiting for every station
   * to republish. The operator chose these relays, so their stations come in
   * without a source's allowance; each record is verified all the same, and
   * a snapshot holds at most MAX_SNAPSHOT_RECORDS, best first.
   */
  syncFromBootstrap (node: Pick<Libp2p, 'dialProtocol' | 'addEventListener' | 'removeEventListener' | 'getPeers' | 'peerStore'>, bootstrap: readonly string[]): () => void {
    const wanted = new Set(bootstrap.flatMap((addr) => addr.includes('/p2p/') ? [addr.split('/p2p/').at(-1) as string] : []))
    const controller = new AbortController()
    const identified = (peer: PeerId, protocols: string[]): void => {
      if (!protocols.includes(PROTOCOL.records) || !wanted.delete(peer.toString())) return
      void this.sync(node, peer, AbortSignal.any([controller.signal, AbortSignal.timeout(RELAY_DIRECTORY_DEFAULTS.syncTimeoutMs)]))
    }
    const onIdentify = (event: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => { identified(event.detail.peerId, event.detail.protocols) }
    node.addEventListener('peer:identify', onIdentify)
    // A bootstrap relay identified before this ran.
    for (const peer of node.getPeers()) {
      if (!wanted.has(peer.toString())) continue
      node.peerStore.get(peer).then((info) => { identified(peer, info.protocols) }, () => {})
    }
    return () => {
      controller.abort()
      node.removeEventListener('peer:identify', onIdentify)
    }
  }

  private async sync (node: Pick<Libp2p, 'dialProtocol'>, peer: PeerId, signal: AbortSignal): Promise<void> {
    let added = 0
    try {
      for await (const item of fetchSnapshot(node, peer, { signal })) {
        if ('providers' in item) break
        if (this.index.offer(item.station) === 'added') added++
      }
    } catch (err) {
      log('snapshot of %p ended: %s', peer, (err as Error).message)
    }
    log('%d stations from the snapshot of %p', added, peer)
  }

  /** Offers each station announced on the directory topic, and follows the listener counts relays report and the titles stations sign. */
  watchAnnouncements (watcher: Pick<DirectoryWatcher, 'addEventListener' | 'removeEventListener'>): () => void {
    const onStation = (event: CustomEvent<ResolvedStation & { from?: string }>): void => {
      const from = event.detail.from
      this.offer(event.detail, from === undefined ? { peer: 'unsigned' } : this.sourceOfId(from))
    }
    const onListeners = (event: CustomEvent<ListenerReport>): void => { this.report(event.detail) }
    const onNowPlaying = (event: CustomEvent<{ nowPlaying: NowPlaying, statement: Uint8Array }>): void => { this.nowPlaying(event.detail) }
    watcher.addEventListener('station:announce', onStation)
    watcher.addEventListener('listeners:report', onListeners)
    watcher.addEventListener('now-playing:change', onNowPlaying)
    return () => {
      watcher.removeEventListener('station:announce', onStation)
      watcher.removeEventListener('listeners:report', onListeners)
      watcher.removeEventListener('now-playing:change', onNowPlaying)
    }
  }

  /**
   * What `/openstudio/records/2` answers from: the index in evidence order
   * (live, listened to, established, then the rest), so a flood of new
   * stations never pushes a real one out of a snapshot.
   */
  snapshotSource (providerSource: SnapshotSource['providers']): SnapshotSource {
    const index = this.index
    return {
      async * records (_signal, tag) {
        let cursor: string | undefined
        do {
          const page = index.query({ tag, limit: 100, cursor })
          for (const station of page.stations) yield { key: stationRecordKey(station.manifest.id), value: station.record }
          cursor = page.next
        } while (cursor !== undefined)
      },
      providers: providerSource
    }
  }

  private offer (station: ResolvedStation, source: StationSource): void {
    const outcome = this.index.offer(station, source)
    if (outcome === 'refused-rate' || outcome === 'refused-full') this.components.refusals.refuse('directory', outcome)
  }

  /**
   * A relay's count for a station that lists that relay in its manifest;
   * others are the relay's word about a stranger. This relay's own counts
   * come here straight from its program (gossipsub does not hand a node its
   * own messages).
   */
  report (report: Pick<ListenerReport, 'station' | 'relay' | 'listeners'>): void {
    const station = this.index.get(report.station)
    if (station === undefined || !station.manifest.relays.some((addr) => addr.endsWith(`/p2p/${report.relay}`))) return
    this.index.setListeners(report.station, isOnAir(station.manifest, Date.now()) ? report.listeners : 0)
  }

  /**
   * A station's verified now-playing statement: the index keeps the newest
   * for the directory API, whose readers verify it again. This relay's own
   * program's titles come here straight from the program.
   */
  nowPlaying (heard: { nowPlaying: NowPlaying, statement: Uint8Array }): void {
    this.index.setNowPlaying(heard.nowPlaying.station, { at: heard.nowPlaying.at, statement: heard.statement })
  }

  /**
   * A station record kad-dht stores (it verified it): the index takes it, on
   * the allowance of the peer that put it (none for this node's own), or it
   * is not stored.
   * @throws {DirectoryRefusedError}
   */
  private storeRecord (value: Uint8Array): void {
    const station = verified(value)
    if (station === undefined) return
    const outcome = this.index.offer(station, this.kadGate.sourceOfPut() ?? {})
    if (outcome === 'refused-rate' || outcome === 'refused-full') this.refuseStation(station.manifest.id, outcome)
  }

  private refuseStation (stationId: string, outcome: 'refused-rate' | 'refused-full'): never {
    this.components.refusals.refuse('directory', outcome)
    throw new DirectoryRefusedError(`station ${stationId} not stored: ${outcome}`)
  }

  /** @throws {DirectoryRefusedError} when the store holds maxProviders, or the source that adds it added its minute's provider records already */
  private storeProvider (): void {
    if (this.providers >= this.maxProviders) {
      this.components.refusals.refuse('directory', 'providers-full')
      throw new DirectoryRefusedError('provider record not stored: the store is full')
    }
    const source = this.kadGate.sourceOfPut() ?? {}
    const now = Date.now()
    if ((source.host !== undefined && !this.providerLimits.take(`host:${source.host}`, now)) ||
      (source.peer !== undefined && !this.providerLimits.take(`peer:${source.peer}`, now))) {
      this.components.refusals.refuse('directory', 'providers-rate')
      throw new DirectoryRefusedError('provider record not stored: over the allowance')
    }
    this.providers++
  }

  /** Deletes the stored record of a station the index let go of. */
  private dropRecord (stationId: string, why: string): void {
    const store = this.store
    if (store === undefined) return
    Promise.resolve(store.delete(recordDatastoreKey(this.prefix, stationRecordKey(stationId)))).catch((err: Error) => { log.error('could not delete the %s record of %s: %s', why, stationId, err.message) })
  }

  private sourceOf (peer: PeerId, direct: boolean): StationSource {
    return { peer: peer.toString(), host: direct ? this.components.hostOf(peer) : undefined }
  }

  /** An announcement's author: its host too when it is connected here (otherwise the announcement came through other relays). */
  private sourceOfId (id: string): StationSource {
    return { peer: id, host: this.components.hostOf(id) }
  }
}

/** A stored or put DHT record's station, verified (from the cache: the validator checked it), or undefined. */
function verified (serialized: Uint8Array): ResolvedStation | undefined {
  const record = readStoredRecord(serialized)
  if (record === undefined) return undefined
  const result = validateRecordCached(record.key, record.value, Date.now())
  return result.ok ? { manifest: result.value, record: record.value } : undefined
}

