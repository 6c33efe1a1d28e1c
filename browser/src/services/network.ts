/**
 * The listener's network service: one browser libp2p node that joins through
 * the relays, reads the directory (DHT providers and the directory topic),
 * resolves stations and dials them by key. Vue code reaches it only through
 * composables.
 */
import { logger } from '@libp2p/logger'
import {
  connectToRelays, dialStation, fetchSnapshot, libp2pKeyOf, RECORDS_DEFAULTS, DirectoryWatcher, listDirectory, resolveStation,
  type DialedStation, type DialInit, type ListInit, type OpenStudioNode, type ResolvedStation
} from '@openstudio/network'
import type { ListenerReport, Manifest, StationKey } from '@openstudio/protocol'
import type { PeerId } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { loadNetworkConfig, relayPeerIds, type NetworkConfig } from './config.ts'
import { sessionIdentity } from './identity.ts'
import { createBrowserNode } from './node.ts'

const log = logger('openstudio:app:network')

export type NetworkStatus = 'idle' | 'loading-config' | 'connecting' | 'online' | 'error'

export interface NetworkEvents {
  /** The status changed; `detail.error` says why for 'error'. */
  'status:change': CustomEvent<{ status: NetworkStatus, error?: string, relays: number }>
  /** A verified station was announced on the directory topic. */
  'station:announce': CustomEvent<ResolvedStation>
  /** A relay reported a station's listeners (its signature checked; whether it speaks for the station is the reader's call). */
  'listeners:report': CustomEvent<ListenerReport>
}

export interface NetworkServiceInit {
  /**
   * The participant identity: the node's key, which signs room messages.
   * @default this tab's session identity (`sessionIdentity`)
   */
  identity?: StationKey
}

export class NetworkService extends TypedEventEmitter<NetworkEvents> {
  status: NetworkStatus = 'idle'
  error?: string
  config?: NetworkConfig
  /** This participant's identity (the node's key; it signs room messages). */
  readonly identity: StationKey
  private node?: OpenStudioNode
  private watcher?: DirectoryWatcher
  private starting?: Promise<OpenStudioNode>

  constructor (init: NetworkServiceInit = {}) {
    super()
    this.identity = init.identity ?? sessionIdentity()
  }

  /** Starts the node once; later calls wait for the same start. */
  async start (): Promise<OpenStudioNode> {
    this.starting ??= this.doStart().catch((err: Error) => {
      this.starting = undefined
      this.setStatus('error', humanError(err))
      throw err
    })
    return this.starting
  }

  async stop (): Promise<void> {
    this.watcher?.stop()
    await this.node?.stop()
    this.node = undefined
    this.starting = undefined
    this.setStatus('idle')
  }

  /** The libp2p node, once started. */
  get libp2p (): OpenStudioNode | undefined {
    return this.node
  }

  /** Relays currently connected. */
  get relayCount (): number {
    return this.connectedRelays().length
  }

  private connectedRelays (): PeerId[] {
    const relays = new Set(relayPeerIds(this.config?.relays ?? []))
    return this.node?.getPeers().filter((p) => relays.has(p.toString())) ?? []
  }

  /** Listener reports heard on the directory topic since start. */
  get listenerReports (): ListenerReport[] {
    return [...(this.watcher?.listeners.values() ?? [])]
  }

  /** Stations heard on the directory topic since start. */
  get heard (): ResolvedStation[] {
    return [...(this.watcher?.stations.values() ?? [])]
  }

  async list (init: Omit<ListInit, 'known'> = {}): Promise<ResolvedStation[]> {
    const node = await this.start()
    return listDirectory(node.services, {
      ...init,
      known: this.heard,
      snapshot: (relay, signal) => fetchSnapshot(node, relay, { tag: init.tag, signal }),
      snapshotServers: this.connectedRelays().slice(0, RECORDS_DEFAULTS.relaysAsked),
      snapshotsFromWalk: false
    })
  }

  async resolve (stationId: string, signal?: AbortSignal): Promise<ResolvedStation> {
    const node = await this.start()
    return resolveStation(node.services, stationId, { signal })
  }

  async dial (manifest: Manifest, init: Pick<DialInit, 'signal' | 'webrtcAttemptsMs'> = {}): Promise<DialedStation> {
    const node = await this.start()
    return dialStation(node, manifest, init)
  }

  private async doStart (): Promise<OpenStudioNode> {
    this.setStatus('loading-config')
    this.config = await loadNetworkConfig()
    this.setStatus('connecting')
    const node = await createBrowserNode({ config: this.config, privateKey: libp2pKeyOf(this.identity) })
    try {
      await connectToRelays(node, this.config.relays)
    } catch (err) {
      await node.stop()
      throw err
    }
    this.node = node
    this.watcher = new DirectoryWatcher(node.services)
    this.watcher.addEventListener('station:announce', (e) => { this.safeDispatchEvent('station:announce', { detail: e.detail }) })
    this.watcher.addEventListener('listeners:report', (e) => { this.safeDispatchEvent('listeners:report', { detail: e.detail }) })
    this.watcher.start()
    node.addEventListener('peer:disconnect', () => { this.setStatus(this.relayCount > 0 ? 'online' : 'connecting') })
    node.addEventListener('peer:connect', () => { this.setStatus('online') })
    this.setStatus('online')
    log('online as %p through %d relays', node.peerId, this.relayCount)
    return node
  }

  private setStatus (status: NetworkStatus, error?: string): void {
    this.status = status
    this.error = error
    this.safeDispatchEvent('status:change', { detail: { status, error, relays: this.relayCount } })
  }
}

/** An error message a person can act on. */
export function humanError (err: Error): string {
  switch (err.name) {
    case 'NoRelayError': return `No relay could be reached. Check your connection, or add a relay in Settings. (${err.message})`
    case 'TimeoutError': return `The network did not answer in time: ${err.message}`
    case 'ConfigError': return err.message
    case 'StationNotFoundError': return 'This station is not in the directory: it may never have been published, or its manifest expired.'
    case 'InvalidRecordError': return 'This station\'s records failed verification; they may be forged. Nothing from them is shown.'
    case 'InvalidStationIdError': return 'That is not a station id. Station ids start with 12D3KooW.'
    default: return err.message
  }
}
