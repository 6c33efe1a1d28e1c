/**
 * The one libp2p node factory of OpenStudio. Relays, the CLI and tests build
 * their nodes here; platform parts (transports, datastore, metrics) are
 * injected, so the protocol configuration exists once.
 */
import { bootstrap } from '@libp2p/bootstrap'
import { circuitRelayServer, type CircuitRelayService } from '@libp2p/circuit-relay-v2'
import { gossipsub, type GossipSub } from '@libp2p/gossipsub'
import { identify, type Identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper, removePrivateAddressesMapper, type KadDHT } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { ping, type Ping } from '@libp2p/ping'
import { isPrivate } from '@libp2p/utils'
import { yamux } from '@libp2p/yamux'
import { PROTOCOL } from '@openstudio/protocol'
import { createLibp2p, type Libp2p, type Libp2pOptions } from 'libp2p'
import { sha256 } from 'multiformats/hashes/sha2'
import { DHT_DATASTORE_PREFIX, GOSSIP_MAX_MESSAGE_BYTES, GOSSIP_SCORE, INBOUND_CONNECTIONS_PER_SECOND, INBOUND_LIMITS_DEFAULTS, PING_INTERVAL_MS, PING_TIMEOUT_MIN_MS, RELAY_SERVER_DEFAULTS, STREAM_LIMITS } from './constants.ts'
import { HostLimits, type HostRefusal } from './host-limits.ts'
import { recordRules } from './dht-records.ts'
import { gossipScoreParams, RoomRejections, validateGossip, type GossipDropListener } from './gossip-validation.ts'
import { wholeFrames } from './whole-frames.ts'
import { hostOfIp } from './host.ts'
import { refreshBootstrapAddresses } from './bootstrap-addresses.ts'
import type { ConnectionGater, PrivateKey, StreamHandler, StreamHandlerOptions } from '@libp2p/interface'
import type { Datastore } from 'interface-datastore'
import type { Multiaddr } from '@multiformats/multiaddr'

export interface RelayServerInit {
  /** @default 512 */
  maxReservations?: number
  /** @default 10 minutes */
  reservationTtlMs?: number
  /** Longest life of one relayed connection. @default RELAY_SERVER_DEFAULTS.durationLimitMs (1 hour) */
  durationLimitMs?: number
  /** Bytes one relayed connection may carry, both directions together. @default RELAY_SERVER_DEFAULTS.dataLimitBytes (1 MiB) */
  dataLimitBytes?: number
}

/** Limits on inbound connections, for nodes that accept them from strangers (relays). See docs/relay-limits.md. */
export interface InboundLimitsInit {
  /** @default INBOUND_LIMITS_DEFAULTS.maxConnections */
  maxConnections?: number
  /** @default INBOUND_LIMITS_DEFAULTS.maxPending */
  maxPending?: number
  /** @default INBOUND_LIMITS_DEFAULTS.maxPendingPerHost */
  maxPendingPerHost?: number
  /** @default INBOUND_LIMITS_DEFAULTS.maxPerHost */
  maxPerHost?: number
  /** @default INBOUND_LIMITS_DEFAULTS.upgradeTimeoutMs */
  upgradeTimeoutMs?: number
  /** Addresses (IPs) no per-host limit applies to, such as a trusted reverse proxy. @default none */
  exemptHosts?: string[]
  /** Told of every connection refused for its host. */
  onRefuse?: (reason: HostRefusal, host: string) => void
}

export interface OpenStudioNodeInit {
  /** The node's identity. A station's own node uses the station key. @default a new key */
  privateKey?: PrivateKey
  /**
   * Wraps kad-dht's handler of inbound streams (a relay's kad gate sees who
   * puts what; relay/src/kad-gate.ts). @default kad-dht's handler as it is
   */
  wrapKadHandler?: (handler: StreamHandler) => StreamHandler
  /** Runs before a station record put here is verified, and refuses it by throwing (see recordRules). @default none */
  admitRecord?: (key: Uint8Array) => void
  /** Persistent store of DHT records, peers and the like. @default in memory */
  datastore?: Datastore
  /** Multiaddrs to listen on. @default [] */
  listen?: string[]
  /** Multiaddrs of relays to connect to at start. @default [] */
  bootstrap?: string[]
  /**
   * Keep loopback and LAN addresses: dial them, and keep them in DHT answers.
   * Needed on loopback and LANs; off on the public internet.
   * @default false
   */
  allowPrivate?: boolean
  /** Answer DHT queries (relays) or only ask them (clients). @default 'client' */
  dhtMode?: 'server' | 'client'
  /**
   * kad-dht's K: the closest peers a query tracks, and how many providers a
   * provider query collects before it stops. Nodes that list the directory
   * want it larger than the number of stations.
   * @default 20
   */
  dhtBucketSize?: number
  /** Run a circuit relay v2 server with these limits. @default no relay server */
  relayServer?: RelayServerInit
  /** Announce these multiaddrs instead of the listen addresses. */
  announce?: string[]
  /** Platform transports, e.g. `[tcp(), webSockets(), circuitRelayTransport()]`. */
  transports: NonNullable<Libp2pOptions['transports']>
  /** A libp2p metrics implementation, e.g. prometheus. */
  metrics?: Libp2pOptions['metrics']
  /** Replaces the connection gater derived from `allowPrivate`. */
  connectionGater?: ConnectionGater
  connectionManager?: Libp2pOptions['connectionManager']
  /** Count inbound connections by host and bound them (relays). @default libp2p's own limits only */
  inboundLimits?: InboundLimitsInit
  /** Told of every gossip message the validators dropped (relays count them). */
  onGossipDrop?: GossipDropListener
}

export interface OpenStudioServices {
  identify: Identify
  ping: Ping
  dht: KadDHT
  pubsub: GossipSub
  relay?: CircuitRelayService
  [key: string]: unknown
}

export type OpenStudioNode = Libp2p<OpenStudioServices>

/**
 * Creates (and starts) an OpenStudio libp2p node.
 *
 * @example
 * ```ts
 * const node = await createOpenStudioNode({
 *   transports: [tcp(), webSockets(), circuitRelayTransport()],
 *   bootstrap: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…'],
 *   allowPrivate: true
 * })
 * ```
 */
export async function createOpenStudioNode (init: OpenStudioNodeInit): Promise<OpenStudioNode> {
  const allowPrivate = init.allowPrivate ?? false
  const relay = init.relayServer === undefined ? undefined : defaultsOf(init.relayServer)
  const { validators, selectors } = recordRules(init.datastore === undefined ? undefined : { datastore: init.datastore, prefix: DHT_DATASTORE_PREFIX }, init.admitRecord)
  const gossipRejections = new RoomRejections()
  const services: Record<string, unknown> = {
    identify: identify({ maxInboundStreams: STREAM_LIMITS.identify }),
    ping: ping({ maxInboundStreams: STREAM_LIMITS.ping }),
    dht: withKadHandler(init.wrapKadHandler, kadDHT({
      protocol: PROTOCOL.kad,
      clientMode: (init.dhtMode ?? 'client') === 'client',
      kBucketSize: init.dhtBucketSize,
      peerInfoMapper: allowPrivate ? passthroughMapper : removePrivateAddressesMapper,
      validators,
      selectors,
      maxInboundStreams: STREAM_LIMITS.kad,
      logPrefix: 'openstudio:dht',
      // Queries wait for the first self-query; run it at once so a short-lived client is not held up.
      initialQuerySelfInterval: 0,
      datastorePrefix: DHT_DATASTORE_PREFIX
    })),
    pubsub: gossipsub({
      emitSelf: false,
      allowPublishToZeroTopicPeers: true,
      maxInboundDataLength: GOSSIP_MAX_MESSAGE_BYTES,
      maxInboundStreams: STREAM_LIMITS.gossipsub,
      // Junk costs its sender score (GOSSIP_SCORE); many peers sharing one address (loopback, NAT, proxies) costs nothing.
      scoreParams: gossipScoreParams(gossipRejections),
      scoreThresholds: GOSSIP_SCORE.thresholds,
      // Content-addressed per topic: the same announcement from two publishers is one message, and the
      // same bytes on two topics (a relay's listener report: directory and room) are two.
      msgIdFn: async (message) => (await sha256.digest(topicAndData(message.topic, message.data))).bytes
    })
  }
  if (relay !== undefined) {
    services.relay = circuitRelayServer({
      maxInboundHopStreams: STREAM_LIMITS.hop,
      reservations: {
        maxReservations: relay.maxReservations,
        reservationTtl: relay.reservationTtlMs,
        defaultDurationLimit: relay.durationLimitMs,
        defaultDataLimit: BigInt(relay.dataLimitBytes),
        applyDefaultLimit: true
      }
    })
  }
  const inbound = init.inboundLimits === undefined ? undefined : inboundLimitsOf(init.inboundLimits)
  const hostLimits = inbound === undefined ? undefined : new HostLimits({ ...inbound, exempt: inbound.exemptHosts.map(hostOfIp), onRefuse: inbound.onRefuse })
  const node = await createLibp2p<OpenStudioServices>({
    privateKey: init.privateKey,
    datastore: init.datastore,
    addresses: { listen: init.listen ?? [], announce: init.announce },
    transports: init.transports.map((t) => hostLimits === undefined ? wholeFrames(t) : hostLimits.wrap(wholeFrames(t))),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ maxInboundStreams: STREAM_LIMITS.perConnection })],
    peerDiscovery: (init.bootstrap?.length ?? 0) > 0 ? [bootstrap({ list: init.bootstrap ?? [] })] : [],
    connectionGater: init.connectionGater ?? privateAddressGater(allowPrivate),
    connectionManager: {
      // Loopback, NAT and reverse proxies put many peers behind one address.
      inboundConnectionThreshold: INBOUND_CONNECTIONS_PER_SECOND,
      ...inbound === undefined
        ? {}
        // Host limits keep the pending total themselves, dropping the oldest; libp2p's own cap is only a backstop.
        : { maxConnections: inbound.maxConnections, maxIncomingPendingConnections: inbound.maxPending + PENDING_BACKSTOP_MARGIN, inboundUpgradeTimeout: inbound.upgradeTimeoutMs },
      ...init.connectionManager
    },
    connectionMonitor: { pingInterval: PING_INTERVAL_MS, pingTimeout: { minTimeout: PING_TIMEOUT_MIN_MS, maxTimeout: PING_TIMEOUT_MIN_MS } },
    metrics: init.metrics,
    services: services as never
  })
  // Every node forwards the directory topic, browsers too: nothing is forwarded unverified.
  validateGossip(node.services.pubsub, gossipRejections, { onDrop: init.onGossipDrop })
  // A persistent peer store may remember the bootstrap peers' addresses as too old to dial (see the module).
  await refreshBootstrapAddresses(node.peerStore, init.bootstrap ?? [])
  return node
}

/** Dials to private and loopback addresses are refused unless `allowPrivate`. */
export function privateAddressGater (allowPrivate: boolean): ConnectionGater {
  return {
    denyDialMultiaddr: (ma: Multiaddr) => !allowPrivate && isPrivate(ma)
  }
}

function inboundLimitsOf (init: InboundLimitsInit): Required<Omit<InboundLimitsInit, 'onRefuse'>> & Pick<InboundLimitsInit, 'onRefuse'> {
  const D = INBOUND_LIMITS_DEFAULTS
  return {
    maxConnections: init.maxConnections ?? D.maxConnections,
    maxPending: init.maxPending ?? D.maxPending,
    maxPendingPerHost: init.maxPendingPerHost ?? D.maxPendingPerHost,
    maxPerHost: init.maxPerHost ?? D.maxPerHost,
    upgradeTimeoutMs: init.upgradeTimeoutMs ?? D.upgradeTimeoutMs,
    exemptHosts: init.exemptHosts ?? [],
    onRefuse: init.onRefuse
  }
}

/** libp2p's pending cap sits this far above the host limits' own, which a dropped connection leaves a moment later. */
const PENDING_BACKSTOP_MARGIN = 32

function defaultsOf (init: RelayServerInit): Required<RelayServerInit> {
  return {
    maxReservations: init.maxReservations ?? RELAY_SERVER_DEFAULTS.maxReservations,
    reservationTtlMs: init.reservationTtlMs ?? RELAY_SERVER_DEFAULTS.reservationTtlMs,
    durationLimitMs: init.durationLimitMs ?? RELAY_SERVER_DEFAULTS.durationLimitMs,
    dataLimitBytes: init.dataLimitBytes ?? RELAY_SERVER_DEFAULTS.dataLimitBytes
  }
}

const utf8 = new TextEncoder()

/** `topic`, a zero byte, then `data`: what a gossipsub message id hashes (every message goes through it, so no per-byte copying). */
function topicAndData (topic: string, data: Uint8Array): Uint8Array {
  const prefix = utf8.encode(topic)
  const out = new Uint8Array(prefix.length + 1 + data.length)
  out.set(prefix, 0)
  out.set(data, prefix.length + 1)
  return out
}

/**
 * kad-dht's service factory, with its inbound stream handler wrapped: the
 * service gets a registrar whose `handle` wraps the handler it registers for
 * the kad protocol. A service factory taking its components is libp2p's own
 * composition point; libp2p's stream middleware is not used, since its
 * registrar (3.3) appends the handler to the middleware array on every
 * inbound stream and runs middleware on outbound streams too (js-libp2p#3534).
 */
/** The part of libp2p's internal registrar that services register handlers with. */
interface Registrar {
  handle: (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions) => Promise<void>
}

function withKadHandler<T> (wrap: ((handler: StreamHandler) => StreamHandler) | undefined, factory: (components: any) => T): (components: any) => T { // eslint-disable-line @typescript-eslint/no-explicit-any
  if (wrap === undefined) return factory
  return (components: { registrar: Registrar }) => {
    const registrar = new Proxy(components.registrar, {
      get: (target, property, receiver) => {
        if (property === 'handle') {
          return async (protocol: string, handler: StreamHandler, options?: StreamHandlerOptions) => target.handle(protocol, protocol === PROTOCOL.kad ? wrap(handler) : handler, options)
        }
        const value: unknown = Reflect.get(target, property, receiver)
        return typeof value === 'function' ? value.bind(target) : value
      }
    })
    return factory(new Proxy(components, { get: (target, property, receiver) => property === 'registrar' ? registrar : Reflect.get(target, property, receiver) }))
  }
}
