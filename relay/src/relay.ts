/**
 * The relay node that station owners run: circuit relay v2 server, kad-dht
 * server, gossipsub (directory topic, and the room topics its peers are in),
 * identify and ping, over TCP and WebSockets, with a persistent identity and
 * datastore, TURN credentials when a coturn is configured, and an HTTP server
 * for health and metrics.
 */
import { mkdir } from 'node:fs/promises'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { logger } from '@libp2p/logger'
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import {
  createOpenStudioNode, DHT_DATASTORE_PREFIX, DirectoryWatcher, generateKeyPair, handleRecords, hostOf, hostOfIp, privateAddressGater, RELAY_SERVER_DEFAULTS, storedProviders,
  type InboundLimitsInit, type OpenStudioNode, type RelayServerInit
} from '@openstudio/node'
import { LevelDatastore } from 'datastore-level'
import { MemoryDatastore } from 'datastore-core'
import { Gauge, Registry } from 'prom-client'
import { DEFAULT_LISTEN, RECORD_COUNT_REFRESH_MS, RESERVATION_POLICY_DEFAULTS } from './constants.ts'
import { ReservationPolicy } from './reservations.ts'
import { BootstrapChecker, isWebSocketAddr, type BootstrapCandidate } from './bootstrap.ts'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { PROTOCOL, requiredStampBits } from '@openstudio/protocol'
import { startHttp, startMetricsHttp, stopHttp } from './http.ts'
import { hlsRouter } from './hls-http.ts'
import { loadOrCreateRelayKey } from './identity.ts'
import { RoomRouter } from './rooms.ts'
import { ListenerAnnouncer } from './listeners.ts'
import { ProgramService, type ProgramInit } from './program.ts'
import { registerProgramMetrics, registerRoomMetrics, registerTurnMetrics } from './service-metrics.ts'
import { TurnService, type TurnInit } from './turn.ts'
import { Teardown } from './teardown.ts'
import { refusalCounter, type Refusals } from './refusals.ts'
import { servedStations, type ServedStations } from './stations.ts'
import { RelayDirectory } from './directory.ts'
import { directoryRoutes } from './directory-http.ts'
import type { StationIndexInit } from './station-index.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Server } from 'node:http'
import type { Datastore } from 'interface-datastore'
import type { PeerId, PrivateKey } from '@libp2p/interface'

const log = logger('openstudio:relay')

/** The peer-store tag of a served station's studio, and its value (a reservation holder's is 1): pruning keeps it longest. */
export const STATION_TAG = 'openstudio-station'
const STATION_TAG_VALUE = 100
/** The watcher only dedupes announcements before the index takes them: a small window is enough. */
const WATCHER_MAX_STATIONS = 1024

export interface RelayInit {
  /** @default DEFAULT_LISTEN (TCP 4001, WebSockets 4002 on all interfaces) */
  listen?: string[]
  /** Other relays to join. @default [] */
  bootstrap?: string[]
  /** Serve `/health` and `/metrics` here. @default no HTTP server */
  http?: { host: string, port: number }
  /** Serve `/metrics` only here, on a server of its own; `http` then answers 404 for it. @default on `http` */
  metrics?: { host: string, port: number }
  /** Require `Authorization: Bearer <token>` for `/metrics`, wherever it is served. @default no token */
  metricsToken?: string
  /** Keep the identity and DHT records here across restarts. @default in memory */
  dataDir?: string
  /** Keep loopback and LAN addresses (loopback tests, LANs). @default false */
  allowPrivate?: boolean
  /** Circuit relay limits. */
  relayServer?: RelayServerInit
  /** Public addresses to announce instead of the listen addresses. */
  announce?: string[]
  /** Serve the built web app from this directory. @default no app */
  appDir?: string
  /** Room topics routed at once. @default DEFAULT_MAX_ROOMS (1024) */
  maxRooms?: number
  /** Hand out credentials of this coturn over `/openstudio/turn/1`. @default TURN off: the protocol is not registered */
  turn?: TurnInit
  /** Take the program of these stations on `/openstudio/program/1` and feed it to Icecast. @default off: the protocol is not registered */
  program?: ProgramInit
  /**
   * The stations this relay serves (station ids, or `*` for any, on local
   * networks): TURN credentials go only to their calls, and their rooms and
   * studios get reserved capacity. @default none
   */
  stations?: string[]
  /** Limits on what strangers may hold here, beyond `relayServer` and `maxRooms`. See docs/relay-limits.md. */
  limits?: RelayLimitsInit
  /** The directory index's limits (stations held, new stations per host and peer). @default STATION_INDEX_DEFAULTS */
  directory?: StationIndexInit
}

/** A relay's limits per host and in total. Every field has a default in constants.ts. */
export interface RelayLimitsInit {
  /** Inbound connections, in all and per host. @default INBOUND_LIMITS_DEFAULTS */
  inbound?: Omit<InboundLimitsInit, 'onRefuse'>
  /** Circuit relay reservations one host may hold. @default RESERVATION_POLICY_DEFAULTS.maxPerHost */
  reservationsPerHost?: number
  /** Reservation slots kept for the served stations' studios. @default RESERVATION_POLICY_DEFAULTS.reservedForStations */
  reservationsForStations?: number
  /** Room topics one peer may open. @default ROOM_POLICY_DEFAULTS.perPeer */
  roomsPerPeer?: number
  /** Room topics the peers of one host may open. @default ROOM_POLICY_DEFAULTS.perHost */
  roomsPerHost?: number
}

/** What a browser needs to join the network through this relay. */
export interface BootstrapInfo {
  /** WebSocket multiaddrs (with /p2p/) of this relay and of relays it knows. */
  relays: string[]
  /** Whether the network runs on private addresses (local or LAN mode). */
  allowPrivate: boolean
  /** The proof of work this relay requires of a station key (docs/directory.md): a page requires no less. */
  stampBits: number
}

export interface RelayHealth {
  status: 'ok'
  peerId: string
  peers: number
  /** Station records stored, counted at most every RECORD_COUNT_REFRESH_MS. */
  records: number
  reservations: number
  stationsHeard: number
  /** Room topics routed. */
  rooms: number
  /** Whether this relay hands out TURN credentials. */
  turn: boolean
  /** The program this relay feeds to Icecast, when one runs. */
  program?: {
    station: string
    icecast: string
    attempt: number
    reconnects: number
    listeners?: number
    bufferedMs: number
    backlogMs: number
    bytesIn: number
    bytesOut: number
    /** Each rendition (the MP3 mount): its ffmpeg and its Icecast source. */
    renditions: Array<{ name: string, ffmpeg: string, icecast?: string, restarts: number, bytesDropped: number, error?: string }>
    nowPlaying?: string
  }
  dhtMode: 'client' | 'server'
  uptimeSeconds: number
  memory: { rssBytes: number, heapUsedBytes: number }
}

export class Relay {
  private server?: Server
  private metricsServer?: Server
  /** The last DHT record count, when it was taken, and the count under way (one at a time). */
  private records: { count?: number, countedAt: number, counting?: Promise<void> } = { countedAt: 0 }
  /** Set once stop (or a failed create) began: no new record count starts. */
  private stopped = false
  private stopping?: Promise<void>
  private readonly startedAt = Date.now()

  private constructor (
    readonly node: OpenStudioNode,
    private readonly datastore: Datastore & { close?: () => Promise<void> },
    readonly registry: Registry,
    /** The verified announcements heard on the directory topic. */
    readonly watcher: DirectoryWatcher,
    /** The stations this relay knows, within its limits, and the answers it gives from them (directory.ts). */
    readonly directory: RelayDirectory,
    readonly rooms: RoomRouter,
    readonly turn: TurnService | undefined,
    readonly program: ProgramService | undefined,
    readonly stations: ServedStations,
    readonly refusals: Refusals & { counts: () => Promise<Record<string, number>> },
    private readonly bootstrapCheck: BootstrapChecker,
    /** How to stop every part `create` started, newest first. */
    private readonly teardown: Teardown
  ) {}

  /**
   * Creates and starts a relay. On failure it stops whatever it had started,
   * newest first (HTTP servers, the bootstrap check, program, TURN, rooms,
   * the records handler, the directory watcher, the node, the datastore), so
   * that no timer, socket or handler outlives it, and rethrows.
   */
  static async create (init: RelayInit = {}): Promise<Relay> {
    const teardown = new Teardown()
    try {
      return await Relay.start(init, teardown)
    } catch (err) {
      await teardown.run()
      throw err
    }
  }

  /** Starts each part in turn, and adds the way to stop it to `teardown` as soon as it runs. */
  private static async start (init: RelayInit, teardown: Teardown): Promise<Relay> {
    let datastore: Datastore & { close?: () => Promise<void> } = new MemoryDatastore()
    let privateKey: PrivateKey = await generateKeyPair('Ed25519')
    if (init.dataDir !== undefined) {
      await mkdir(init.dataDir, { recursive: true, mode: 0o700 })
      privateKey = await loadOrCreateRelayKey(init.dataDir)
      const level = new LevelDatastore(`${init.dataDir}/datastore`)
      await level.open()
      teardown.add('datastore', async () => { await level.close() })
      datastore = level
    }
    const registry = new Registry()
    const refusals = refusalCounter(registry)
    const stations = servedStations(init.stations)
    // The node is made below: until then no peer is connected, and no host is known.
    let hostOfAny: (peer: PeerId | string) => string | undefined = () => undefined
    const directory = new RelayDirectory({ hostOf: (peer) => hostOfAny(peer), refusals }, { prefix: DHT_DATASTORE_PREFIX, index: init.directory })
    datastore = directory.guard(datastore)
    await directory.load()
    // The node's gater asks the reservation policy, which is made once the node runs: until then, reservations are refused.
    let reservationPolicy: ReservationPolicy | undefined = undefined
    const node = await createOpenStudioNode({
      privateKey,
      datastore,
      listen: init.listen ?? DEFAULT_LISTEN,
      announce: init.announce,
      bootstrap: init.bootstrap,
      allowPrivate: init.allowPrivate,
      dhtMode: 'server',
      relayServer: init.relayServer ?? {},
      transports: [tcp(), webSockets(), circuitRelayTransport()],
      metrics: prometheusMetrics({ registry, collectDefaultMetrics: true }),
      inboundLimits: { ...init.limits?.inbound, onRefuse: (reason) => { refusals.refuse('connection', reason) } },
      onGossipDrop: (kind, verdict) => { refusals.refuse('gossip', `${kind}-${verdict}`) },
      wrapKadHandler: directory.kadGate.wrap,
      admitRecord: directory.admitRecord,
      connectionGater: {
        ...privateAddressGater(init.allowPrivate ?? false),
        denyInboundRelayReservation: async (peer) => reservationPolicy?.deny(peer) ?? true
      }
    })
    teardown.add('node', async () => { await node.stop() })
    // Behind a trusted proxy every browser shares the proxy's address: there, each peer counts as its own host.
    const trusted = new Set((init.limits?.inbound?.exemptHosts ?? []).map(hostOfIp))
    const limitedHost = (addr: Multiaddr): string | undefined => trusted.has(hostOf(addr)) ? undefined : hostOf(addr)
    hostOfAny = (peer) => {
      try {
        return hostOfPeer(node, typeof peer === 'string' ? peerIdFromString(peer) : peer, limitedHost)
      } catch {
        return undefined
      }
    }
    const policy = new ReservationPolicy({
      reservations: () => node.services.relay?.reservations,
      hostOf: (peer) => hostOfPeer(node, peer, limitedHost),
      stations,
      refusals
    }, {
      maxReservations: init.relayServer?.maxReservations ?? RELAY_SERVER_DEFAULTS.maxReservations,
      maxPerHost: init.limits?.reservationsPerHost ?? RESERVATION_POLICY_DEFAULTS.maxPerHost,
      reservedForStations: init.limits?.reservationsForStations ?? RESERVATION_POLICY_DEFAULTS.reservedForStations
    })
    reservationPolicy = policy
    node.addEventListener('peer:disconnect', (event) => { policy.handlePeerGone(event.detail) })
    // libp2p prunes the connections of the lowest tag value first: the served stations' studios go last.
    node.addEventListener('connection:open', (event) => {
      const peer = event.detail.remotePeer
      if (!stations.isOwn(peer.toString())) return
      node.peerStore.merge(peer, { tags: { [STATION_TAG]: { value: STATION_TAG_VALUE } } }).catch((err: Error) => { log('could not tag station %p: %s', peer, err.message) })
    })
    // The index keeps the stations; the watcher only verifies and passes them on.
    const watcher = new DirectoryWatcher(node.services, { maxStations: WATCHER_MAX_STATIONS })
    watcher.start()
    teardown.add('directory watcher', () => { watcher.stop() })
    teardown.add('directory announcements', directory.watchAnnouncements(watcher))
    teardown.add('directory sync', directory.syncFromBootstrap(node, init.bootstrap ?? []))
    // Readers list the directory from this relay's index and providers instead of a provider query and one DHT get per station.
    const store = { datastore, prefix: DHT_DATASTORE_PREFIX }
    teardown.add('records handler', await handleRecords(node, directory.snapshotSource((cid, signal) => storedProviders(store, cid, signal))))
    const rooms = new RoomRouter({
      pubsub: node.services.pubsub,
      events: node,
      hostOf: (peer) => hostOfPeer(node, peer, limitedHost),
      stations,
      refusals
    }, { maxRooms: init.maxRooms, roomsPerPeer: init.limits?.roomsPerPeer, roomsPerHost: init.limits?.roomsPerHost })
    rooms.start()
    teardown.add('rooms', () => { rooms.stop() })
    const turn = init.turn === undefined ? undefined : new TurnService({ registrar: node, stations, refusals, hostOf: limitedHost }, init.turn)
    if (turn !== undefined) {
      await turn.start()
      teardown.add('TURN', async () => { await turn.stop() })
    }
    const program = init.program === undefined ? undefined : new ProgramService({ registrar: node }, init.program)
    if (program !== undefined) {
      await program.start()
      teardown.add('program', async () => { await program.stop() })
      // The relay signs the listener counts it reads from Icecast, with its own key.
      new ListenerAnnouncer({ pubsub: node.services.pubsub }, privateKey).follow(program)
      program.addEventListener('program:listeners', (e) => { directory.report({ ...e.detail, relay: node.peerId.toString() }) })
      program.addEventListener('program:now-playing', (e) => { directory.nowPlaying(e.detail) })
    }
    const checker = new BootstrapChecker({
      candidates: async () => relayCandidates(node),
      probe: async (addr, signal) => {
        const connection = await node.dial(multiaddr(addr), { signal, force: true })
        await connection.close().catch((err: Error) => { connection.abort(err) })
        return connection.remotePeer.toString()
      },
      refusals
    }, { configured: init.bootstrap, allowPrivate: init.allowPrivate })
    const onIdentify = (event: CustomEvent<{ protocols: string[] }>): void => { if (event.detail.protocols.includes(PROTOCOL.kad)) void checker.check() }
    node.addEventListener('peer:identify', onIdentify)
    checker.start()
    teardown.add('bootstrap check', async () => {
      node.removeEventListener('peer:identify', onIdentify)
      await checker.stop()
    })
    const relay = new Relay(node, datastore, registry, watcher, directory, rooms, turn, program, stations, refusals, checker, teardown)
    teardown.add('record count', async () => { await relay.stopCounting() })
    relay.registerGauges()
    registerRoomMetrics(registry, rooms)
    if (turn !== undefined) registerTurnMetrics(registry, turn)
    if (program !== undefined) registerProgramMetrics(registry, program)
    if (init.http !== undefined) {
      const server = await startHttp({
        ...init.http,
        registry,
        refusals,
        metricsToken: init.metricsToken,
        trustedProxies: init.limits?.inbound?.exemptHosts,
        serveMetrics: init.metrics === undefined,
        appDir: init.appDir,
        health: async () => relay.health(),
        directory: directoryRoutes(directory.index, { refusals, trustedProxies: init.limits?.inbound?.exemptHosts }),
        hls: init.program?.hls === undefined || init.program.hls === false ? undefined : hlsRouter(init.program.hls.dir),
        bootstrap: async () => relay.bootstrapInfo(init.allowPrivate ?? false)
      })
      relay.server = server
      teardown.add('HTTP server', async () => { await stopHttp(server) })
    }
    if (init.metrics !== undefined) {
      const server = await startMetricsHttp({ ...init.metrics, registry, refusals, metricsToken: init.metricsToken })
      relay.metricsServer = server
      teardown.add('metrics server', async () => { await stopHttp(server) })
    }
    log('relay %s started', node.peerId)
    return relay
  }

  get peerId (): string {
    return this.node.peerId.toString()
  }

  /** Listen addresses with the relay's /p2p/ id. */
  get multiaddrs (): string[] {
    return this.node.getMultiaddrs().map((ma) => ma.toString())
  }

  /** The HTTP server's bound address, when it runs. */
  get httpAddress (): { host: string, port: number } | undefined {
    const address = this.server?.address()
    return typeof address === 'object' && address !== null ? { host: address.address, port: address.port } : undefined
  }

  /** The metrics server's bound address, when `metrics` was given. */
  get metricsAddress (): { host: string, port: number } | undefined {
    const address = this.metricsServer?.address()
    return typeof address === 'object' && address !== null ? { host: address.address, port: address.port } : undefined
  }

  async health (): Promise<RelayHealth> {
    return {
      status: 'ok',
      peerId: this.peerId,
      peers: this.node.getPeers().length,
      records: await this.countRecords(),
      reservations: this.reservations(),
      stationsHeard: this.directory.index.size,
      rooms: this.rooms.rooms.size,
      turn: this.turn !== undefined,
      program: this.programHealth(),
      dhtMode: this.node.services.dht.getMode(),
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      memory: { rssBytes: process.memoryUsage.rss(), heapUsedBytes: process.memoryUsage().heapUsed }
    }
  }

  /**
   * This relay's WebSocket addresses first, then other relays' addresses that
   * this relay has checked itself (see bootstrap.ts). `allowPrivate` is what
   * the relay was started with: private and loopback addresses only then.
   */
  async bootstrapInfo (allowPrivate: boolean): Promise<BootstrapInfo> {
    const own = this.multiaddrs.filter((a) => isWebSocketAddr(a) && this.bootstrapCheck.allowed(a))
    return { relays: [...new Set([...own, ...this.bootstrapCheck.listed()])], allowPrivate, stampBits: requiredStampBits() }
  }

  /**
   * Stops every part `create` started, newest first: the HTTP servers, the
   * bootstrap check, program, TURN, rooms, the records handler, the directory
   * watcher and the node, and flushes the datastore. Idempotent: every call
   * waits for the same stop.
   * @throws the first error a part stopped with (each part is stopped all the same)
   */
  async stop (): Promise<void> {
    this.stopping ??= (async () => {
      this.stopped = true
      const failures = await this.teardown.run()
      log('relay %s stopped%s', this.peerId, failures.length === 0 ? '' : ` (${failures.map((f) => f.step).join(', ')} failed)`)
      if (failures[0] !== undefined) throw failures[0].error
    })()
    return this.stopping
  }

  /** No new record count starts, and the one under way is over. */
  private async stopCounting (): Promise<void> {
    this.stopped = true
    await this.records.counting
  }

  private programHealth (): RelayHealth['program'] {
    const current = this.program?.current
    if (current === undefined) return undefined
    const { state, attempt, reconnects, bufferedMs, backlogMs, bytesIn, bytesOut } = current.status
    const renditions = current.renditions.map((r) => ({
      name: r.name, ffmpeg: r.transcoder.state, icecast: r.icecast, restarts: r.transcoder.restarts, bytesDropped: r.transcoder.bytesDropped, error: r.transcoder.error
    }))
    return { station: current.station, icecast: state, attempt, reconnects, listeners: current.listeners, bufferedMs, backlogMs, bytesIn, bytesOut, renditions, nowPlaying: current.nowPlaying }
  }

  private reservations (): number {
    return this.node.services.relay?.reservations.size ?? 0
  }

  /**
   * Stored DHT records, from a count refreshed in the background at most every
   * RECORD_COUNT_REFRESH_MS (a count scans every record): only the first call
   * waits for one, so a flood of `/health` or `/metrics` hits costs nothing.
   */
  private async countRecords (): Promise<number> {
    const records = this.records
    if (records.counting === undefined && !this.stopped && Date.now() - records.countedAt >= RECORD_COUNT_REFRESH_MS) {
      records.countedAt = Date.now()
      records.counting = (async () => {
        let n = 0
        for await (const _ of this.datastore.queryKeys({ prefix: `${DHT_DATASTORE_PREFIX}/record` })) n++
        records.count = n
      })().catch((err: Error) => { log.error('counting the DHT records failed: %s', err.message) })
        .finally(() => { records.counting = undefined })
    }
    if (records.count === undefined) await records.counting
    return records.count ?? 0
  }

  private registerGauges (): void {
    const relay = this // eslint-disable-line @typescript-eslint/no-this-alias
    const registers = [this.registry]
    new Gauge({ name: 'openstudio_relay_reservations', help: 'Circuit relay v2 reservations held', registers, collect () { this.set(relay.reservations()) } })
    new Gauge({ name: 'openstudio_relay_peers', help: 'Connected peers', registers, collect () { this.set(relay.node.getPeers().length) } })
    new Gauge({ name: 'openstudio_relay_stations_heard', help: 'Verified stations in this relay\'s directory index', registers, collect () { this.set(relay.directory.index.size) } })
    new Gauge({ name: 'openstudio_relay_announcements_rejected', help: 'Directory announcements that failed verification', registers, collect () { this.set(relay.watcher.rejected) } })
    new Gauge({ name: 'openstudio_dht_records', help: `Station records stored by this DHT server (recounted at most every ${RECORD_COUNT_REFRESH_MS / 1000} s)`, registers, async collect () { this.set(await relay.countRecords()) } })
  }
}

/** Connected DHT servers and the WebSocket addresses they claim, for the bootstrap check. */
async function relayCandidates (node: OpenStudioNode): Promise<BootstrapCandidate[]> {
  const candidates: BootstrapCandidate[] = []
  for (const peer of node.getPeers()) {
    const info = await node.peerStore.get(peer).catch(() => undefined)
    if (info === undefined || !info.protocols.includes(PROTOCOL.kad)) continue
    const id = peer.toString()
    const addresses = info.addresses.map((a) => a.multiaddr.toString()).filter(isWebSocketAddr)
    candidates.push({ peer: id, addresses: addresses.map((a) => a.includes('/p2p/') ? a : `${a}/p2p/${id}`) })
  }
  return candidates
}

/** The host `peer` is directly connected from (see `hostOf`), or undefined when it is reached only through relays. */
function hostOfPeer (node: OpenStudioNode, peer: PeerId, hostOfAddr: (addr: Multiaddr) => string | undefined): string | undefined {
  const direct = node.getConnections(peer).find((c) => c.limits === undefined)
  return direct === undefined ? undefined : hostOfAddr(direct.remoteAddr)
}
