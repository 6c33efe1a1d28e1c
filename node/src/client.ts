/**
 * A short-lived client node for the CLI and tools: dials relays, uses the DHT
 * as a client, and (with a station key) is the station's own node, reachable
 * through a relay reservation so that its directory provider records carry
 * addresses.
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import type { StationKey } from '@openstudio/protocol'
import { connectToRelays, createOpenStudioNode, DIRECTORY_READER_K, libp2pKeyOf, type OpenStudioNode } from '@openstudio/network'

export interface ClientInit {
  /** Relay multiaddrs to join through. */
  bootstrap: string[]
  /** Act as this station's node (its PeerId is the station id). */
  stationKey?: StationKey
  /** @default false */
  allowPrivate?: boolean
  /** @default 10 s */
  connectTimeoutMs?: number
  signal?: AbortSignal
}

/**
 * Starts a client node and waits until it can use the network.
 * @throws {NoRelayError | TimeoutError}
 */
export async function openClient (init: ClientInit): Promise<OpenStudioNode> {
  const reachable = init.stationKey !== undefined
  const node = await createOpenStudioNode({
    privateKey: init.stationKey === undefined ? undefined : libp2pKeyOf(init.stationKey),
    listen: reachable ? ['/p2p-circuit'] : [],
    allowPrivate: init.allowPrivate,
    // A station's own node publishes (K closest servers); other clients read the directory.
    dhtBucketSize: reachable ? undefined : DIRECTORY_READER_K,
    transports: [tcp(), webSockets(), circuitRelayTransport()]
  })
  try {
    await connectToRelays(node, init.bootstrap, { timeoutMs: init.connectTimeoutMs, signal: init.signal, reachable })
    return node
  } catch (err) {
    await node.stop()
    throw err
  }
}
