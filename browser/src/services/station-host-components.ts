/**
 * What a station's own node needs from outside (StationHostComponents): the
 * node itself, the ping handler, the relays, one publish, and a pause for
 * the republish schedule. The browser's are in
 * station-host-browser-components.ts; unit tests use in-memory ones.
 */
import type { PublishInit, PublishResult } from '@openstudio/network'
import type { AbortOptions } from './abort.ts'

export type { AbortOptions } from './abort.ts'

/** The station's node, as the host drives it (an OpenStudioNode in the browser). */
export interface StationNode {
  /** Its addresses; a `/p2p-circuit` one names a relay it holds a reservation on. */
  getMultiaddrs: () => ReadonlyArray<{ toString: () => string }>
  /** Stops the node. */
  stop: () => void | Promise<void>
}

/**
 * What one publish signs: the station (a key without a valid stamp has one
 * minted first), its fields, the relays to list, the studio and the seq to
 * pass; and where it tells its steps and the stamp's progress.
 */
export type StationPublishInit = Pick<PublishInit, 'key' | 'draft' | 'studio' | 'lastSeq' | 'onProgress' | 'onStampProgress' | 'onStamp'> & { relays: string[] }

export interface StationHostComponents<Node extends StationNode> {
  /**
   * Starts the station's node: its key is the station key, so its PeerId is the station id.
   * @throws the signal's reason when it aborts (a node that starts anyway is stopped by the host)
   */
  createNode: (options: AbortOptions) => Promise<Node>
  /**
   * Answers pings on `node` (callers prove a dial by key with one).
   * @returns what removes the handler
   */
  handlePing: (node: Node, options: AbortOptions) => Promise<() => Promise<void>>
  /**
   * Joins through `relays` and waits for a reservation, so that callers can dial the station by key.
   * @throws {NoRelayError} when no relay could be dialled
   * @throws {TimeoutError} when no reservation came in time
   */
  connectToRelays: (node: Node, relays: readonly string[], options: AbortOptions) => Promise<void>
  /**
   * Signs and publishes the manifest once (publishStation in the browser),
   * minting the key's stamp first when it has none that verifies.
   * @returns the result, with the stamp the record carries
   * @throws {NotStoredError} when no DHT server stored it
   * @throws the signal's reason when it aborts (also while the stamp is minted)
   */
  publish: (node: Node, init: StationPublishInit, options: AbortOptions) => Promise<PublishResult>
  /**
   * Waits until the next republish or retry.
   * @default pause (backoff.ts)
   * @throws the signal's reason when it aborts
   */
  pause?: (ms: number, options: AbortOptions) => Promise<void>
  /** The clock an on-air claim's `liveUntil` is set by. @default Date.now */
  now?: () => number
}
