/**
 * The listener's network service: one browser libp2p node that joins through
 * the relays, reads the directory (DHT providers and the directory topic),
 * resolves stations and dials them by key. When every relay drops, it dials
 * them again with a doubling backoff. Vue code reaches it only through
 * composables.
 *
 * The configuration, the node, the relays, the directory topic and each
 * network operation are components (NetworkComponents); `new
 * NetworkService()` wires the browser's (network-browser-components.ts),
 * unit tests in-memory ones.
 *
 * @example
 * ```ts
 * const network = new NetworkService()   // the app: this tab's identity
 * const network = new NetworkService({ loadConfig, createNode, connectToRelays, watchDirectory, resolve, dial, list }, { identity })   // a test
 * network.addEventListener('status:change', (e) => { render(e.detail.status) })
 * const { manifest } = await network.resolve(stationId, { signal })
 * await network.dial(manifest, { signal })
 * await network.stop()
 * ```
 */
import { logger } from '@libp2p/logger'
import { RECORDS_DEFAULTS, type DialedStation, type ListInit, type OpenStudioNode, type ResolvedStation } from '@openstudio/network'
import type { ListenerReport, Manifest, NowPlaying, StationKey } from '@openstudio/protocol'
import type { PeerId } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { abandonable, eitherSignal } from './abort.ts'
import { Backoff, pause } from './backoff.ts'
import { relayPeerIds, type NetworkConfig } from './config.ts'
import { sessionIdentity } from './identity.ts'
import { browserNetworkComponents } from './network-browser-components.ts'
import type { AbortOptions, DirectoryFeed, NetworkComponents, NetworkDialInit, NetworkNode } from './network-components.ts'
import { humanError } from './human-error.ts'
import { NetworkStoppedError } from './network-errors.ts'

export type { DirectoryFeed, NetworkComponents, NetworkDialInit, NetworkNode } from './network-components.ts'
export { NetworkStoppedError } from './network-errors.ts'

const log = logger('openstudio:app:network')

export const NETWORK_DEFAULTS = {
  /** After the last relay dropped, the first redial waits this long… */
  redialFirstMs: 1_000,
  /** …and each further one twice the last, up to this. */
  redialMaxMs: 30_000
} as const

export type NetworkStatus = 'idle' | 'loading-config' | 'connecting' | 'online' | 'error'

export interface NetworkStatusChange {
  status: NetworkStatus
  /** Why, for 'error', in words a person can act on. */
  error?: string
  /** Relays connected now. */
  relays: number
}

export interface NetworkEvents {
  /** The status or the number of connected relays changed; `detail.error` says why for 'error'. */
  'status:change': CustomEvent<NetworkStatusChange>
  /** A verified station was announced on the directory topic. */
  'station:announce': CustomEvent<ResolvedStation>
  /** A relay reported a station's listeners (its signature checked; whether it speaks for the station is the reader's call). */
  'listeners:report': CustomEvent<ListenerReport>
  /** A station signed a newer now-playing title (its signature checked). */
  'now-playing:change': CustomEvent<NowPlaying>
}

export interface NetworkServiceInit {
  /**
   * The participant identity: the node's key, which signs room messages.
   * @default this tab's session identity (`sessionIdentity`)
   */
  identity?: StationKey
}

/** What the directory list is asked for; the service adds the stations it heard and the relays to ask. */
export type NetworkListInit = Omit<ListInit, 'known' | 'snapshot' | 'snapshotServers' | 'snapshotsFromWalk'>

/** One start of the node, until its stop. */
interface Run<N> {
  /** Aborted by `stop` (or a failed start): cancels the start, the redials and every operation on the node. */
  readonly controller: AbortController
  /** The node, once online. */
  node?: N
  redialing: boolean
}

/**
 * The page's node. `start` is idempotent and shared: every caller waits for
 * the same start, and a caller's `signal` abandons only its own wait. A
 * `stop` (idempotent) during it leaves nothing running. After a stop, or a
 * failed start, the next `start` (or resolve, dial, list) starts anew.
 */
export class NetworkService<Node extends NetworkNode = OpenStudioNode> extends TypedEventEmitter<NetworkEvents> {
  status: NetworkStatus = 'idle'
  error?: string
  config?: NetworkConfig
  /** This participant's identity (the node's key; it signs room messages). */
  readonly identity: StationKey
  private readonly components: NetworkComponents<Node>
  private readonly pause: NonNullable<NetworkComponents<Node>['pause']>
  private run?: Run<Node>
  private watcher?: DirectoryFeed
  private starting?: Promise<Node>
  private stopping?: Promise<void>
  private lastRelays = 0
  /** Calls to `stop`: a start that waited for a stop to end does not run when another came meanwhile. */
  private stops = 0

  /** The page's network, on the browser's components. */
  constructor (init?: NetworkServiceInit)
  /** A network on the components given (tests, other platforms). */
  constructor (components: NetworkComponents<Node>, init?: NetworkServiceInit)
  constructor (components?: NetworkComponents<Node> | NetworkServiceInit, init?: NetworkServiceInit) {
    super()
    if (components !== undefined && 'createNode' in components) {
      this.components = components
    } else {
      // Only the first overload gets here, where Node is the default, OpenStudioNode.
      this.components = browserNetworkComponents() as unknown as NetworkComponents<Node>
      init = components
    }
    this.identity = init?.identity ?? sessionIdentity()
    this.pause = this.components.pause ?? pause
  }

  /**
   * Starts the node once and joins through the relays; later calls wait for
   * the same start. `signal` abandons this wait only.
   * @throws {NetworkStoppedError} when stopped during it
   * @throws {ConfigError | NoRelayError | TimeoutError} when it failed (nothing runs; the status says why)
   * @throws the signal's reason when `signal` aborts first
   */
  async start (options: AbortOptions = {}): Promise<Node> {
    options.signal?.throwIfAborted()
    if (this.stopping !== undefined) {
      // A stop in progress ends first, and this start is a new one, unless it was asked to stop again meanwhile.
      const stops = this.stops
      await this.stopping
      if (this.stops !== stops) throw new NetworkStoppedError()
    }
    this.starting ??= this.begin().catch((err: Error) => {
      this.starting = undefined
      throw err
    })
    return await abandonable(this.starting, options.signal)
  }

  /** Stops the node, the directory listener and any redial. Idempotent; resolves once nothing runs. */
  async stop (): Promise<void> {
    this.stops++
    this.stopping ??= this.halt().finally(() => { this.stopping = undefined })
    await this.stopping
  }

  /** The libp2p node, while online. */
  get libp2p (): Node | undefined {
    return this.run?.node
  }

  /** Relays currently connected. */
  get relayCount (): number {
    return this.connectedRelays().length
  }

  /** Listener reports heard on the directory topic since start. */
  get listenerReports (): ListenerReport[] {
    return [...(this.watcher?.listeners.values() ?? [])]
  }

  /** A station's newest signed title heard on the directory topic since start. */
  nowPlayingOf (stationId: string): NowPlaying | undefined {
    return this.watcher?.nowPlaying.get(stationId)?.nowPlaying
  }

  /** Stations heard on the directory topic since start. */
  get heard (): ResolvedStation[] {
    return [...(this.watcher?.stations.values() ?? [])]
  }

  /**
   * The directory's verified stations (starting the network if need be).
   * @throws {NetworkStoppedError} when stopped during it, or the start's error
   */
  async list (init: NetworkListInit = {}): Promise<ResolvedStation[]> {
    const { node, signal } = await this.use(init)
    return await this.components.list(node, {
      ...init,
      signal,
      known: this.heard,
      snapshotServers: this.connectedRelays().slice(0, RECORDS_DEFAULTS.relaysAsked)
    })
  }

  /**
   * A station's newest verified manifest (starting the network if need be).
   * @throws {StationNotFoundError | InvalidRecordError | InvalidStationIdError | TimeoutError}, or the start's error
   */
  async resolve (stationId: string, options: AbortOptions = {}): Promise<ResolvedStation> {
    const { node, signal } = await this.use(options)
    return await this.components.resolve(node, stationId, { signal })
  }

  /**
   * Dials the station a manifest describes and pings it (starting the network if need be).
   * @throws {NoRelayError} when the manifest names no relay, the dial's error, or the start's error
   */
  async dial (manifest: Manifest, init: NetworkDialInit = {}): Promise<DialedStation> {
    const { node, signal } = await this.use(init)
    return await this.components.dial(node, manifest, { ...init, signal })
  }

  /** The started node, and a signal that `stop` aborts as well as `signal`. */
  private async use (options: AbortOptions): Promise<{ node: Node, signal: AbortSignal }> {
    const node = await this.start(options)
    const run = this.run
    if (run?.node !== node) throw new NetworkStoppedError()
    return { node, signal: eitherSignal(run.controller.signal, options.signal) }
  }

  private async begin (): Promise<Node> {
    const run: Run<Node> = { controller: new AbortController(), redialing: false }
    this.run = run
    const { signal } = run.controller
    let node: Node | undefined
    try {
      this.setStatus('loading-config')
      const config = await this.components.loadConfig({ signal })
      signal.throwIfAborted()
      this.config = config
      this.setStatus('connecting')
      node = await this.components.createNode({ config, identity: this.identity }, { signal })
      signal.throwIfAborted()
      await this.components.connectToRelays(node, config.relays, { signal })
      signal.throwIfAborted()
      this.attach(run, node, config)
      log('online as %p through %d relays', node.peerId, this.relayCount)
      return node
    } catch (err) {
      // Nothing of a failed or stopped start runs on: a node that came up late stops too.
      const stopped = signal.aborted
      if (!stopped) run.controller.abort(err)
      try {
        await node?.stop()
      } catch (e) {
        log.error('node did not stop: %s', (e as Error).message)
      }
      if (stopped) throw signal.reason
      this.setStatus('error', humanError(err as Error))
      throw err
    }
  }

  /** The node is online: the directory topic is read and the relays watched, until the run ends. */
  private attach (run: Run<Node>, node: Node, config: NetworkConfig): void {
    const { signal } = run.controller
    const watcher = this.components.watchDirectory(node)
    watcher.addEventListener('station:announce', (e) => { this.safeDispatchEvent('station:announce', { detail: e.detail }) }, { signal })
    watcher.addEventListener('listeners:report', (e) => { this.safeDispatchEvent('listeners:report', { detail: e.detail }) }, { signal })
    watcher.addEventListener('now-playing:change', (e) => { this.safeDispatchEvent('now-playing:change', { detail: e.detail.nowPlaying }) }, { signal })
    watcher.start()
    this.watcher = watcher
    run.node = node
    const onPeers = (): void => {
      this.setStatus(this.linkStatus(config))
      if (this.relayCount === 0 && relayPeerIds(config.relays).length > 0) void this.redial(run, node, config.relays)
    }
    node.addEventListener('peer:connect', onPeers, { signal })
    node.addEventListener('peer:disconnect', onPeers, { signal })
    this.setStatus('online')
  }

  /** Online while a relay is connected (or, with no relay id known, any peer). */
  private linkStatus (config: NetworkConfig): NetworkStatus {
    const known = relayPeerIds(config.relays).length > 0
    return this.relayCount > 0 || (!known && (this.run?.node?.getPeers().length ?? 0) > 0) ? 'online' : 'connecting'
  }

  /** Every relay dropped: dials them again, backing off, until one is back or the run ends. Never rejects. */
  private async redial (run: Run<Node>, node: Node, relays: readonly string[]): Promise<void> {
    if (run.redialing) return
    run.redialing = true
    const { signal } = run.controller
    const backoff = new Backoff({ initialMs: NETWORK_DEFAULTS.redialFirstMs, maxMs: NETWORK_DEFAULTS.redialMaxMs })
    try {
      while (this.relayCount === 0) {
        await this.pause(backoff.next(), { signal })
        if (this.relayCount > 0) break
        try {
          await this.components.connectToRelays(node, relays, { signal })
          log('back through %d relays', this.relayCount)
        } catch (err) {
          signal.throwIfAborted()
          log('relays not reached again: %s', (err as Error).message)
        }
      }
    } catch (err) {
      // Only the run's end stops the redials.
      if (!signal.aborted) log.error('redial failed: %s', (err as Error).message)
    } finally {
      run.redialing = false
    }
  }

  private async halt (): Promise<void> {
    const run = this.run
    run?.controller.abort(new NetworkStoppedError())
    // A start in progress sees the abort and rolls itself back.
    await this.starting?.catch(() => {})
    this.starting = undefined
    this.watcher?.stop()
    this.watcher = undefined
    const node = run?.node
    if (run !== undefined) run.node = undefined
    await node?.stop()
    this.setStatus('idle')
  }

  private connectedRelays (): PeerId[] {
    const relays = new Set(relayPeerIds(this.config?.relays ?? []))
    return this.run?.node?.getPeers().filter((p) => relays.has(p.toString())) ?? []
  }

  /** Tells of a new status, or of a new number of relays. */
  private setStatus (status: NetworkStatus, error?: string): void {
    const relays = this.relayCount
    if (status === this.status && error === this.error && relays === this.lastRelays) return
    this.status = status
    this.error = error
    this.lastRelays = relays
    this.safeDispatchEvent('status:change', { detail: { status, error, relays } })
  }
}
