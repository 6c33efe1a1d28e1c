/**
 * In-memory parts for the page's network service: a node whose peers the
 * test connects and drops, a configuration, node start and relay join that a
 * `Gate` can hold back (they do not look at the abort: the service must
 * clean up whatever arrives late), the real DirectoryWatcher on an
 * in-memory topic, and resolves, dials and lists the test answers.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { DirectoryWatcher, type DialedStation, type ListInit, type ResolvedStation } from '@openstudio/network'
import { buildManifest, signManifest, type Manifest, type StationKey } from '@openstudio/protocol'
import type { Libp2pEvents, PeerId } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import type { NetworkConfig } from '../../src/services/config.ts'
import type { NetworkComponents, NetworkDialInit } from '../../src/services/network.ts'
import { ManualPauses } from './caller-parts.ts'
import { MemoryBus } from './room-bus.ts'
import type { Gate } from './studio-parts.ts'
import { DRAFT } from '../../../protocol/test/fixtures/draft.ts'

/** A participant's node: the peers it is connected to are the test's to change. */
export class FakeNetworkNode extends TypedEventEmitter<Libp2pEvents> {
  readonly peerId: PeerId
  readonly peers: PeerId[] = []
  stops = 0

  constructor (identity: StationKey) {
    super()
    this.peerId = peerIdFromString(identity.id)
  }

  getPeers (): PeerId[] {
    return [...this.peers]
  }

  async stop (): Promise<void> {
    this.stops++
  }

  connect (peer: PeerId): void {
    if (this.peers.some((p) => p.equals(peer))) return
    this.peers.push(peer)
    this.safeDispatchEvent('peer:connect', { detail: peer })
  }

  disconnect (peer: PeerId): void {
    const at = this.peers.findIndex((p) => p.equals(peer))
    if (at < 0) return
    this.peers.splice(at, 1)
    this.safeDispatchEvent('peer:disconnect', { detail: peer })
  }
}

/** A call into a component that the test answers. */
export interface Pending<Args, T> {
  args: Args
  node: FakeNetworkNode
  signal?: AbortSignal
  resolve: (value: T) => void
  reject: (err: Error) => void
}

export interface FakeNetworkParts {
  components: NetworkComponents<FakeNetworkNode>
  config: NetworkConfig
  /** The relays' peer ids, in the order of `config.relays`. */
  relayIds: PeerId[]
  /** Every node started, in order. */
  nodes: FakeNetworkNode[]
  /** The identity each node was started with. */
  identities: StationKey[]
  configLoads: number
  configGate?: Gate
  /** The configuration fails with this. */
  configError?: Error
  nodeGate?: Gate
  /** Each relay join, with the relays it was given. */
  joins: Array<{ relays: readonly string[], signal?: AbortSignal }>
  joinGate?: Gate
  /** The next relay joins fail with these, one each. */
  joinErrors: Error[]
  /** The directory topic the node's watcher reads. */
  bus: MemoryBus
  resolves: Array<Pending<string, ResolvedStation>>
  dials: Array<Pending<{ manifest: Manifest, init: NetworkDialInit }, DialedStation>>
  lists: Array<Pending<ListInit, ResolvedStation[]>>
  pauses: ManualPauses
}

/** A relay's multiaddr, as the bootstrap gives it. */
export const relayAddress = (name: string, id: string): string => `/dns4/${name}.relay.test/tcp/443/wss/p2p/${id}`

/** A verified station, as the DHT or the directory topic would give it. */
export function resolvedStation (key: StationKey, name: string, now = Date.now()): ResolvedStation {
  const manifest = buildManifest(key.id, { ...DRAFT, name }, { seq: 1, now })
  return signManifest(manifest, key)
}

/** Parts whose configuration names two relays; a relay join connects the node to each of them. */
export function fakeNetworkParts (relays: readonly StationKey[]): FakeNetworkParts {
  const relayIds = relays.map((r) => peerIdFromString(r.id))
  const pending = <Args, T>(list: Array<Pending<Args, T>>, args: Args, node: FakeNetworkNode, signal?: AbortSignal): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      // Like the network layer's operations: an abort rejects them.
      signal?.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
      list.push({ args, node, signal, resolve, reject })
    })
  const parts: FakeNetworkParts = {
    config: { relays: relays.map((r, i) => relayAddress(`r${i}`, r.id)), allowPrivate: false },
    relayIds,
    nodes: [],
    identities: [],
    configLoads: 0,
    joins: [],
    joinErrors: [],
    bus: new MemoryBus(),
    resolves: [],
    dials: [],
    lists: [],
    pauses: new ManualPauses(),
    components: {
      loadConfig: async () => {
        parts.configLoads++
        await parts.configGate?.promise
        if (parts.configError !== undefined) throw parts.configError
        return parts.config
      },
      createNode: async ({ identity }) => {
        await parts.nodeGate?.promise
        const node = new FakeNetworkNode(identity)
        parts.nodes.push(node)
        parts.identities.push(identity)
        return node
      },
      connectToRelays: async (node, joined, { signal }) => {
        parts.joins.push({ relays: joined, signal })
        await parts.joinGate?.promise
        const error = parts.joinErrors.shift()
        if (error !== undefined) throw error
        for (const id of relayIds) node.connect(id)
      },
      watchDirectory: () => new DirectoryWatcher({ pubsub: parts.bus.member() }),
      resolve: async (node, stationId, { signal }) => pending(parts.resolves, stationId, node, signal),
      dial: async (node, manifest, init) => pending(parts.dials, { manifest, init }, node, init.signal),
      list: async (node, init) => pending(parts.lists, init, node, init.signal),
      pause: async (ms, options) => parts.pauses.pause(ms, options)
    }
  }
  return parts
}
