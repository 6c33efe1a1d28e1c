/**
 * One participant's view of a station's room (room protocol 2, docs/room.md).
 * It verifies everything it hears, on the room topic or handed in from a
 * signalling stream, and folds the station's commands through the protocol
 * reducer; nothing anyone else signs changes the state. The station's own
 * channel signs commands and publishes them; everyone else signs requests,
 * which go to the studio on the signalling stream only (see RoomAuthority).
 * The topic also carries the listener counts the station's relay signs (see
 * protocol/listeners.ts).
 */
import { logger } from '@libp2p/logger'
import {
  createRoomState, decodeRoomMessage, encodeRoomMessage, hasGap, reduceRoom, snapshotOf, TOPIC, verifyAnnouncement,
  type ListenerReport, type NowPlaying, type RoomCommand, type RoomEvent, type RoomRequest, type RoomSigner, type RoomState
} from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import { validateRoomTopic } from '../libp2p/gossip-validation.ts'
import type { GossipSub, Message } from '@libp2p/gossipsub'

const log = logger('openstudio:room')

/**
 * Why a room message was dropped: a verification error's name, or
 * `wrong-carrier` (signed by one peer, handed in by another),
 * `not-from-station` (heard where only the station's commands belong), or
 * `other-session` (at the station's own channel: a command of another
 * studio session, such as the same key open in a second browser).
 */
export type RoomRejection = string

export interface RoomChannelEvents {
  /** The room state changed; `detail.event` is the message that changed it. */
  'state:change': CustomEvent<{ state: RoomState, event: RoomEvent }>
  /** A verified message arrived (whether or not it changed anything). */
  'message:receive': CustomEvent<RoomEvent>
  /** Bytes that failed verification, or came from the wrong sender, were dropped. */
  'message:reject': CustomEvent<{ reason: RoomRejection, detail: string }>
  /** Station commands are waiting for earlier ones: ask the studio for a snapshot. */
  'state:gap': CustomEvent<RoomState>
  /** A relay's signed listener count for this room's station (whether that relay speaks for the station is the reader's call). */
  'listeners:report': CustomEvent<ListenerReport>
  /** The station's signed now-playing title, as heard in the room (a replay of an older one too: keep the newest `at`). */
  'now-playing:change': CustomEvent<NowPlaying>
}

export interface RoomChannelComponents {
  pubsub: Pick<GossipSub, 'subscribe' | 'unsubscribe' | 'publish' | 'addEventListener' | 'removeEventListener'>
}

export interface RoomChannelInit {
  /** The clock of this channel's session (its epoch). @default Date.now */
  now?: () => number
}

/**
 * @example
 * ```ts
 * // The studio (the station key):
 * const room = new RoomChannel(node.services, key.id, { id: key.id, secretKey: key.secretKey })
 * room.start()
 * await room.command({ type: 'on-air' })
 * // A caller:
 * const mine = new RoomChannel(node.services, stationId, { id: me.id, secretKey: me.secretKey })
 * mine.addEventListener('state:change', (e) => render(participantsOf(e.detail.state)))
 * mine.start()
 * await signalling.send({ type: 'room', envelope: mine.request({ type: 'self-mute', muted: true }) })
 * ```
 */
export class RoomChannel extends TypedEventEmitter<RoomChannelEvents> {
  readonly topic: string
  state: RoomState
  /** Messages dropped, by reason (for diagnostics). */
  readonly rejections: Record<RoomRejection, number> = {}
  /** This channel's session: every message it signs carries it. */
  readonly epoch: number
  private sent = 0
  private running = false
  /** Removes this room's topic validator (see validateRoomTopic). */
  private releaseValidator?: () => void

  constructor (private readonly components: RoomChannelComponents, readonly room: string, private readonly signer: RoomSigner, init: RoomChannelInit = {}) {
    super()
    this.topic = TOPIC.room(room)
    this.epoch = (init.now ?? Date.now)()
    // The station's own replica starts its session; everyone else learns the station's from its commands.
    this.state = createRoomState(room, this.isStation ? this.epoch : 0)
  }

  /** True on the station's own channel: its commands are the room's state. */
  get isStation (): boolean {
    return this.signer.id === this.room
  }

  start (): void {
    if (this.running) return
    this.running = true
    // Validated before subscribing: this node forwards the room too, and nothing but the station's commands.
    this.releaseValidator = validateRoomTopic(this.components.pubsub, this.room)
    this.components.pubsub.subscribe(this.topic)
    this.components.pubsub.addEventListener('message', this.onMessage)
  }

  stop (): void {
    if (!this.running) return
    this.running = false
    this.components.pubsub.removeEventListener('message', this.onMessage)
    this.components.pubsub.unsubscribe(this.topic)
    this.releaseValidator?.()
    this.releaseValidator = undefined
  }

  /**
   * The station: signs a command with the next count, applies it and
   * publishes it on the room topic.
   * @returns the signed envelope, to hand on through other paths too
   * @throws {Error} on a channel that is not the station's
   */
  async command (message: Exclude<RoomCommand, { type: 'snapshot' }>): Promise<Uint8Array> {
    if (!this.isStation) throw new Error('only the station signs room commands')
    const event: RoomEvent = { room: this.room, from: this.signer.id, epoch: this.state.epoch, n: this.state.n + 1, message }
    const envelope = encodeRoomMessage(this.signer, event)
    this.apply(event)
    await this.publish(envelope)
    return envelope
  }

  /**
   * The station: the state as of its last command, signed, for one replica
   * that asked. It takes no count, so it is not published.
   * @throws {Error} on a channel that is not the station's, or before its first command
   */
  snapshot (): Uint8Array {
    if (!this.isStation) throw new Error('only the station signs room snapshots')
    if (this.state.n === 0) throw new Error('no room command to snapshot yet')
    return encodeRoomMessage(this.signer, { room: this.room, epoch: this.state.epoch, n: this.state.n, message: { type: 'snapshot', state: snapshotOf(this.state) } })
  }

  /** Signs a request for the studio (not published: send it on the signalling stream). */
  request (message: RoomRequest): Uint8Array {
    this.sent += 1
    return encodeRoomMessage(this.signer, { room: this.room, epoch: this.epoch, n: this.sent, message })
  }

  /** Publishes an envelope that is already signed (ours, or one handed to us to pass on). */
  async publish (envelope: Uint8Array): Promise<void> {
    if (!this.running) return
    try {
      await this.components.pubsub.publish(this.topic, envelope)
    } catch (err) {
      // Nobody else in the room yet: the signalling path still carries it.
      log('room publish on %s: %s', this.topic, (err as Error).message)
    }
  }

  /**
   * Verifies an envelope from any path, and counts it if it is dropped.
   * @param from when given, the envelope must be signed by this peer (the stream's remote end)
   * @returns the verified event, or undefined when it was dropped
   */
  verify (envelope: Uint8Array, from?: string): RoomEvent | undefined {
    const result = decodeRoomMessage(envelope, this.room)
    if (!result.ok) {
      this.reject(result.error.name, result.error.message)
      return undefined
    }
    if (from !== undefined && result.value.from !== from) {
      this.reject('wrong-carrier', `signed by ${result.value.from}, carried by ${from}`)
      return undefined
    }
    this.safeDispatchEvent('message:receive', { detail: result.value })
    return result.value
  }

  /**
   * Verifies an envelope from any path and applies it if it is a command of
   * the station. Anything else is dropped and counted.
   * @param from when given, the envelope must be signed by this peer (the stream's remote end)
   * @returns the verified command, or undefined when it was dropped
   */
  receive (envelope: Uint8Array, from?: string): RoomEvent | undefined {
    const event = this.verify(envelope, from)
    if (event === undefined) return undefined
    if (event.from !== this.room) {
      this.reject('not-from-station', `a ${event.message.type} from ${event.from}`)
      return undefined
    }
    // The station's own channel is the authority of its session: it follows no other (another studio open with the same key).
    if (this.isStation && event.epoch !== this.epoch) {
      this.reject('other-session', `a ${event.message.type} of station session ${event.epoch}`)
      return undefined
    }
    this.apply(event)
    return event
  }

  private apply (event: RoomEvent): void {
    const next = reduceRoom(this.state, event)
    if (next === this.state) return
    this.state = next
    if (hasGap(next)) this.safeDispatchEvent('state:gap', { detail: next })
    this.safeDispatchEvent('state:change', { detail: { state: next, event } })
  }

  private reject (reason: RoomRejection, detail: string): void {
    this.rejections[reason] = (this.rejections[reason] ?? 0) + 1
    log('dropped a room message: %s (%s)', reason, detail)
    this.safeDispatchEvent('message:reject', { detail: { reason, detail } })
  }

  private readonly onMessage = (event: CustomEvent<Message>): void => {
    if (event.detail.topic !== this.topic) return
    // A relay's listener report is an announcement, not a room message.
    const announcement = verifyAnnouncement(event.detail.data, Date.now())
    if (announcement.ok && announcement.value.type === 'listeners') {
      if (announcement.value.report.station === this.room) this.safeDispatchEvent('listeners:report', { detail: announcement.value.report })
      return
    }
    if (announcement.ok && announcement.value.type === 'now-playing') {
      if (announcement.value.nowPlaying.station === this.room) this.safeDispatchEvent('now-playing:change', { detail: announcement.value.nowPlaying })
      return
    }
    this.receive(event.detail.data)
  }
}
