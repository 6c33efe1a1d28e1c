/**
 * One participant's view of a station's room: it signs and publishes room
 * messages on the room topic, verifies everything it hears (on the topic or
 * handed in from a signalling stream), and folds it through the protocol
 * reducer. The reducer decides what counts: a control message from anyone
 * but the producer changes nothing. The topic also carries the listener
 * counts the station's relay signs (see protocol/listeners.ts).
 */
import { logger } from '@libp2p/logger'
import {
  createRoomState, decodeRoomMessage, encodeRoomMessage, nextClock, reduceRoom, TOPIC, verifyAnnouncement,
  type ListenerReport, type RoomEvent, type RoomMessage, type RoomSigner, type RoomState
} from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import { validateRoomTopic } from '../libp2p/gossip-validation.ts'
import type { GossipSub, Message } from '@libp2p/gossipsub'

const log = logger('openstudio:room')

export interface RoomChannelEvents {
  /** The room state changed; `detail.event` is the message that changed it. */
  'state:change': CustomEvent<{ state: RoomState, event: RoomEvent }>
  /** A verified message arrived (whether or not it changed anything). */
  'message:receive': CustomEvent<RoomEvent>
  /** Bytes that failed verification were dropped. */
  'message:reject': CustomEvent<{ reason: string }>
  /** A relay's signed listener count for this room's station (whether that relay speaks for the station is the reader's call). */
  'listeners:report': CustomEvent<ListenerReport>
}

export interface RoomChannelComponents {
  pubsub: Pick<GossipSub, 'subscribe' | 'unsubscribe' | 'publish' | 'addEventListener' | 'removeEventListener'>
}

/**
 * @example
 * ```ts
 * const room = new RoomChannel(node.services, stationId, { id: key.id, secretKey: key.secretKey })
 * room.addEventListener('state:change', (e) => render(participantsOf(e.detail.state)))
 * room.start()
 * await room.send({ type: 'join', name: 'Ada' })
 * ```
 */
export class RoomChannel extends TypedEventEmitter<RoomChannelEvents> {
  readonly topic: string
  state: RoomState
  private running = false
  /** Removes this room's topic validator (see validateRoomTopic). */
  private releaseValidator?: () => void

  constructor (private readonly components: RoomChannelComponents, readonly room: string, private readonly signer: RoomSigner) {
    super()
    this.topic = TOPIC.room(room)
    this.state = createRoomState(room)
  }

  start (): void {
    if (this.running) return
    this.running = true
    // Validated before subscribing: this node forwards the room too, and nothing unverified.
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
   * Signs `message`, applies it locally and publishes it on the room topic.
   * @returns the signed envelope, to hand on through other paths too
   */
  async send (message: RoomMessage): Promise<Uint8Array> {
    const clock = nextClock(this.state)
    const envelope = encodeRoomMessage(this.signer, { room: this.room, clock, message })
    this.apply({ room: this.room, from: this.signer.id, clock, message })
    await this.publish(envelope)
    return envelope
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
   * Verifies and applies an envelope from any path.
   * @param from when given, the envelope must be signed by this peer (the stream's remote end)
   * @returns the verified event, or undefined when it was dropped
   */
  receive (envelope: Uint8Array, from?: string): RoomEvent | undefined {
    const result = decodeRoomMessage(envelope, this.room)
    if (!result.ok || (from !== undefined && result.value.from !== from)) {
      const reason = result.ok ? `signed by ${result.value.from}, carried by ${from}` : `${result.error.name}: ${result.error.message}`
      log('dropped a room message: %s', reason)
      this.safeDispatchEvent('message:reject', { detail: { reason } })
      return undefined
    }
    this.apply(result.value)
    return result.value
  }

  private apply (event: RoomEvent): void {
    this.safeDispatchEvent('message:receive', { detail: event })
    const next = reduceRoom(this.state, event)
    if (next === this.state) return
    this.state = next
    this.safeDispatchEvent('state:change', { detail: { state: next, event } })
  }

  private readonly onMessage = (event: CustomEvent<Message>): void => {
    if (event.detail.topic !== this.topic) return
    // A relay's listener report is an announcement, not a room message.
    const announcement = verifyAnnouncement(event.detail.data, Date.now())
    if (announcement.ok && announcement.value.type === 'listeners') {
      if (announcement.value.report.station === this.room) this.safeDispatchEvent('listeners:report', { detail: announcement.value.report })
      return
    }
    this.receive(event.detail.data)
  }
}
