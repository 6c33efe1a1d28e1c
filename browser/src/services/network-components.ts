/**
 * What the page's network service needs from outside (NetworkComponents):
 * the configuration, the node, the relays, the directory topic, and the
 * network operations it runs on the node (resolve, dial, list). The
 * browser's are in network-browser-components.ts; unit tests use in-memory
 * ones.
 */
import type { DialedStation, DialInit, DirectoryWatcher, ListInit, ResolvedStation } from '@openstudio/network'
import type { Manifest, StationKey } from '@openstudio/protocol'
import type { Libp2p } from '@libp2p/interface'
import type { AbortOptions } from './abort.ts'
import type { NetworkConfig } from './config.ts'

export type { AbortOptions } from './abort.ts'

/** The node, as the service drives it (an OpenStudioNode in the browser). */
export type NetworkNode = Pick<Libp2p, 'peerId' | 'getPeers' | 'addEventListener' | 'removeEventListener' | 'stop'>

/** The directory topic, as the service reads it (a DirectoryWatcher). */
export type DirectoryFeed = Pick<DirectoryWatcher, 'stations' | 'listeners' | 'nowPlaying' | 'start' | 'stop' | 'addEventListener' | 'removeEventListener'>

/** How a dial may go: its signal, and the time for each WebRTC attempt. */
export type NetworkDialInit = Pick<DialInit, 'signal' | 'webrtcAttemptsMs' | 'upgrade' | 'timeoutMs'>

export interface NetworkComponents<Node extends NetworkNode> {
  /**
   * Where the network is: the relays to join through.
   * @throws {ConfigError} when no relay is known
   */
  loadConfig: (options: AbortOptions) => Promise<NetworkConfig>
  /**
   * Starts this participant's node, keyed by `identity`, not yet connected.
   * @throws the signal's reason when it aborts (a node that starts anyway is stopped by the service)
   */
  createNode: (init: { config: NetworkConfig, identity: StationKey }, options: AbortOptions) => Promise<Node>
  /**
   * Dials `relays` and waits until the node can use the DHT.
   * @throws {NoRelayError} when no relay could be dialled
   * @throws {TimeoutError} when the DHT was not ready in time
   */
  connectToRelays: (node: Node, relays: readonly string[], options: AbortOptions) => Promise<void>
  /** A listener on the directory topic of `node`, not yet started. */
  watchDirectory: (node: Node) => DirectoryFeed
  /**
   * A station's newest verified manifest.
   * @throws {StationNotFoundError | InvalidRecordError | InvalidStationIdError | TimeoutError}
   */
  resolve: (node: Node, stationId: string, options: AbortOptions) => Promise<ResolvedStation>
  /**
   * Dials the station a manifest describes, and pings it.
   * @throws {NoRelayError} when the manifest names no relay, or the dial's error
   */
  dial: (node: Node, manifest: Manifest, init: NetworkDialInit) => Promise<DialedStation>
  /** The verified stations of the directory (listDirectory, with the relays' snapshots in the browser). */
  list: (node: Node, init: ListInit) => Promise<ResolvedStation[]>
  /**
   * Waits before a redial of the relays.
   * @default pause (backoff.ts)
   * @throws the signal's reason when it aborts
   */
  pause?: (ms: number, options: AbortOptions) => Promise<void>
}
