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
import { DEFAULT_MAX_ROOMS } from './constants.ts'
import type { OpenStudioServices } from '@openstudio/node'

const log = logger('openstudio:relay:rooms')

const ROOM_PREFIX = TOPIC.room('')

/** The station id of a room topic, or undefined for any other topic. */
export function roomOf (topic: string): string | undefined {
  if (!topic.startsWith(ROOM_PREFIX)) return undefined
  const id = topic.slice(ROOM_PREFIX.length)
  return isStationId(id) ? id : undefined
}

type PubSub = OpenStudioServices['pubsub']

export interface RoomRouterComponents {
  pubsub: Pick<PubSub, 'subscribe' | 'unsubscribe' | 'getSubscribers' | 'addEventListener' | 'removeEventListener'>
  /** The node's events: identify tells relays apart, disconnects end subscriptions. */
  events: TypedEventTarget<Pick<Libp2pEvents, 'peer:identify' | 'peer:disconnect'>>
}

export interface RoomRouterInit {
  /** Rooms routed at once; a subscription to one more is not followed. @default DEFAULT_MAX_ROOMS */
  maxRooms?: number
}

export interface RoomRouterEvents {
  /** The relay subscribed to a room topic (detail: the station id). */
  'room:join': CustomEvent<string>
  /** The relay left a room topic: no peer of its own is subscribed any more. */
  'room:leave': CustomEvent<string>
  /** A peer subscribed to a room while the relay already routes `maxRooms`. */
  'room:refuse': CustomEvent<{ room: string, peer: string }>
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
  /** Peers that announced the DHT server protocol: relays, whose subscriptions keep no room open. */
  private readonly relays = new Set<string>()
  private running = false

  constructor (private readonly components: RoomRouterComponents, init: RoomRouterInit = {}) {
    super()
    this.maxRooms = init.maxRooms ?? DEFAULT_MAX_ROOMS
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
      else if (!this.relays.has(peer.toString())) this.join(room, peer)
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
    if (this.rooms.has(room)) return
    if (this.rooms.size >= this.maxRooms) {
      this.refused++
      log('not routing room %s for %p: already routing %d rooms', room, peer, this.maxRooms)
      this.safeDispatchEvent('room:refuse', { detail: { room, peer: peer.toString() } })
      return
    }
    this.rooms.add(room)
    this.components.pubsub.subscribe(TOPIC.room(room))
    log('routing room %s (first subscriber %p)', room, peer)
    this.safeDispatchEvent('room:join', { detail: room })
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
