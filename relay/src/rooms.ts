/**
 * Room routing: gossipsub forwards only the topics a node subscribes to, and a
 * studio and its callers are often connected to each other only through
 * relays. So the relay joins a station's room topic while a peer of its own
 * (not another relay) is subscribed to it, and leaves when none is. It never
 * reads room messages: it only forwards them, and receivers verify signatures.
 */
import { logger } from '@libp2p/logger'
import { TypedEventEmitter, type Libp2pEvents, type PeerId, type TypedEventTarget } from '@libp2p/interface'
import { isStationId, PROTOCOL, TOPIC } from '@openstudio/protocol'
import { DEFAULT_MAX_ROOMS, ROOM_POLICY_DEFAULTS } from './constants.ts'
import { NO_REFUSALS, type Refusals } from './refusals.ts'
import { releaseRoomTopic, validateRoomTopic } from '@openstudio/node'
import type { OpenStudioServices } from '@openstudio/node'
import type { ServedStations } from './stations.ts'

const log = logger('openstudio:relay:rooms')

const ROOM_PREFIX = TOPIC.room('')

/** The station id of a room topic, or undefined for any other topic. */
export function roomOf (topic: string): string | undefined {
  if (!topic.startsWith(ROOM_PREFIX)) return undefined
  const id = topic.slice(ROOM_PREFIX.length)
  return isStationId(id) ? id : undefined
}

type PubSub = OpenStudioServices['pubsub']

/** Why a subscription opened no room. */
export type RoomRefusal = 'full' | 'per-peer' | 'per-host'

export interface RoomRouterComponents {
  pubsub: Pick<PubSub, 'subscribe' | 'unsubscribe' | 'getSubscribers' | 'addEventListener' | 'removeEventListener'>
  /** The node's events: identify tells relays apart, disconnects end subscriptions. */
  events: TypedEventTarget<Pick<Libp2pEvents, 'peer:identify' | 'peer:disconnect'>>
  /** The host a peer is connected from (see `hostOf`), for the per-host limit. @default every peer its own host */
  hostOf?: (peer: PeerId) => string | undefined
  /** Rooms of these stations are routed before any other. @default none */
  stations?: ServedStations
  refusals?: Refusals
}

export interface RoomRouterInit {
  /** Rooms routed at once; a subscription to one more is not followed. @default DEFAULT_MAX_ROOMS */
  maxRooms?: number
  /** Rooms one peer may open (be the first subscriber of). @default ROOM_POLICY_DEFAULTS.perPeer */
  roomsPerPeer?: number
  /** Rooms the peers of one host may open. @default ROOM_POLICY_DEFAULTS.perHost */
  roomsPerHost?: number
  /** Of `maxRooms`, slots only the served stations' rooms may take. @default ROOM_POLICY_DEFAULTS.reservedForStations, at most a sixteenth of `maxRooms` */
  reservedForStations?: number
}

export interface RoomRouterEvents {
  /** The relay subscribed to a room topic (detail: the station id). */
  'room:join': CustomEvent<string>
  /** The relay left a room topic: no peer of its own is subscribed any more. */
  'room:leave': CustomEvent<string>
  /** A peer's subscription opened no room: the relay routes its maximum, or the peer or its host opened its share. */
  'room:refuse': CustomEvent<{ room: string, peer: string, reason: RoomRefusal }>
}

/**
 * @example
 * ```ts
 * const rooms = new RoomRouter({ pubsub: node.services.pubsub, events: node })
 * rooms.start()
 * rooms.addEventListener('room:join', (e) => console.log('routing', e.detail))
 * ```
 */
export class RoomRouter extends TypedEventEmitter<RoomRouterEvents> {
  /** Station ids of the rooms routed now. */
  readonly rooms = new Set<string>()
  /** Subscriptions not followed because of the cap, since start. */
  refused = 0
  private readonly maxRooms: number
  private readonly limits: { perPeer: number, perHost: number, reservedForStations: number }
  /** Who opened each routed room: rooms count against their opener's peer and host until they close. */
  private readonly openedBy = new Map<string, { peer: string, host: string }>()
  /** Peers that announced the DHT server protocol: relays, whose subscriptions keep no room open. */
  private readonly relays = new Set<string>()
  private running = false

  constructor (private readonly components: RoomRouterComponents, init: RoomRouterInit = {}) {
    super()
    this.maxRooms = init.maxRooms ?? DEFAULT_MAX_ROOMS
    this.limits = {
      perPeer: init.roomsPerPeer ?? ROOM_POLICY_DEFAULTS.perPeer,
      perHost: init.roomsPerHost ?? ROOM_POLICY_DEFAULTS.perHost,
      reservedForStations: Math.min(init.reservedForStations ?? Math.min(ROOM_POLICY_DEFAULTS.reservedForStations, Math.floor(this.maxRooms / 16)), this.maxRooms)
    }
    this.addEventListener('room:leave', (event) => { this.openedBy.delete(event.detail) })
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.components.pubsub.addEventListener('subscription-change', this.onSubscriptionChange)
    this.components.pubsub.addEventListener('gossipsub:heartbeat', this.onHeartbeat)
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
  }

  stop (): void {
    if (!this.running) return
    this.running = false
    this.components.pubsub.removeEventListener('subscription-change', this.onSubscriptionChange)
    this.components.pubsub.removeEventListener('gossipsub:heartbeat', this.onHeartbeat)
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    for (const room of this.rooms) this.leave(room)
    this.relays.clear()
  }

  /** A peer changed its subscriptions. Public for tests without a network. */
  handleSubscriptionChange (peer: PeerId, subscriptions: ReadonlyArray<{ topic: string, subscribe: boolean }>): void {
    for (const { topic, subscribe } of subscriptions) {
      const room = roomOf(topic)
      if (room === undefined) continue
      if (!subscribe) this.check(room)
      else if (!this.relays.has(peer.toString()) && !this.rooms.has(room) && this.admit(room, peer)) this.join(room, peer)
    }
  }

  /** A peer is gone: it keeps no room open, even if gossipsub has not forgotten it yet. */
  handlePeerGone (peer: PeerId): void {
    this.relays.delete(peer.toString())
    for (const room of this.rooms) this.check(room, peer.toString())
  }

  /** Leaves every room that no peer of this relay's own is subscribed to. */
  sweep (): void {
    for (const room of this.rooms) this.check(room)
  }

  private join (room: string, peer: PeerId): void {
    // `admit` has checked the limits.
    if (this.rooms.has(room)) return
    this.rooms.add(room)
    // The relay forwards the room: only well-formed, signed messages for this station (before it subscribes).
    validateRoomTopic(this.components.pubsub, room)
    this.components.pubsub.subscribe(TOPIC.room(room))
    log('routing room %s (first subscriber %p)', room, peer)
    this.safeDispatchEvent('room:join', { detail: room })
  }

  /**
   * Whether `peer` may open `room`: a served station's room always may (up to
   * `maxRooms`); any other only below the slots kept for served stations, and
   * while its peer and host are under their shares. Charges the room to them.
   */
  private admit (room: string, peer: PeerId): boolean {
    const id = peer.toString()
    const host = this.components.hostOf?.(peer) ?? `peer:${id}`
    let reason: RoomRefusal | undefined
    if (this.components.stations?.serves(room) !== true) {
      let byPeer = 0
      let byHost = 0
      for (const opener of this.openedBy.values()) {
        if (opener.peer === id) byPeer++
        if (opener.host === host) byHost++
      }
      reason = this.rooms.size >= this.maxRooms - this.limits.reservedForStations
        ? 'full'
        : byPeer >= this.limits.perPeer ? 'per-peer' : byHost >= this.limits.perHost ? 'per-host' : undefined
    } else if (this.rooms.size >= this.maxRooms) {
      reason = 'full'
    }
    if (reason !== undefined) {
      this.refused++
      log('not routing room %s for %p (%s): %s', room, peer, host, reason)
      ;(this.components.refusals ?? NO_REFUSALS).refuse('room', reason)
      this.safeDispatchEvent('room:refuse', { detail: { room, peer: id, reason } })
      return false
    }
    this.openedBy.set(room, { peer: id, host })
    return true
  }

  private check (room: string, gone?: string): void {
    if (!this.rooms.has(room)) return
    const held = this.components.pubsub.getSubscribers(TOPIC.room(room)).some((p) => {
      const id = p.toString()
      return id !== gone && !this.relays.has(id)
    })
    if (!held) this.leave(room)
  }

  private leave (room: string): void {
    if (!this.rooms.delete(room)) return
    this.components.pubsub.unsubscribe(TOPIC.room(room))
    releaseRoomTopic(this.components.pubsub, room)
    log('left room %s', room)
    this.safeDispatchEvent('room:leave', { detail: room })
  }

  private readonly onSubscriptionChange = (event: CustomEvent<{ peerId: PeerId, subscriptions: Array<{ topic: string, subscribe: boolean }> }>): void => {
    this.handleSubscriptionChange(event.detail.peerId, event.detail.subscriptions)
  }

  private readonly onHeartbeat = (): void => {
    this.sweep()
  }

  private readonly onIdentify = (event: CustomEvent<{ peerId: PeerId, protocols: string[] }>): void => {
    if (event.detail.protocols.includes(PROTOCOL.kad)) {
      this.relays.add(event.detail.peerId.toString())
      this.sweep()
    } else {
      this.relays.delete(event.detail.peerId.toString())
    }
  }

  private readonly onDisconnect = (event: CustomEvent<PeerId>): void => {
    this.handlePeerGone(event.detail)
  }
}
