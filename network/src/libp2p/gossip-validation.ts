/**
 * Gossip is validated before it is forwarded. Gossipsub runs a topic's
 * validator on every new message before it delivers or forwards it: Accept
 * delivers and forwards it, Ignore drops it, Reject drops it and charges the
 * peer that sent it (see GOSSIP_SCORE). A validator here asks only whether a
 * message is well-formed, signed, and about the station whose topic carries
 * it (on a room topic: signed by that station). What a message may change
 * (the room's order, the newest seq) is the readers' call: the room reducer
 * and the directory watcher.
 *
 * Every check is protocol/'s own decoder (size capped first, then shape, then
 * signature); this module maps their typed errors to a verdict.
 *
 * @example
 * ```ts
 * // Every node (create-node.ts does it): the directory validator, and the scoring that backs it.
 * const rejections = new RoomRejections()
 * const node = await createLibp2p({ services: { pubsub: gossipsub({ scoreParams: gossipScoreParams(rejections), … }) } })
 * validateGossip(node.services.pubsub, rejections)
 * // While in a room:
 * const release = validateRoomTopic(node.services.pubsub, stationId)
 * node.services.pubsub.subscribe(TOPIC.room(stationId))
 * ```
 */
import { logger } from '@libp2p/logger'
import { TopicValidatorResult, type GossipSub, type GossipsubOpts, type TopicValidatorFn } from '@libp2p/gossipsub'
import { decodeRoomMessage, MAX_RECORD_BYTES, MAX_ROOM_MESSAGE_BYTES, TOPIC, verifyAnnouncement, type VerifyError } from '@openstudio/protocol'
import { GOSSIP_SCORE } from './constants.ts'
import type { PeerId } from '@libp2p/interface'

const log = logger('openstudio:gossip')

/**
 * Largest message on the directory topic: a record in its announcement
 * envelope. The same bound verifyAnnouncement applies (protocol keeps its
 * constant private); checked here before anything is decoded.
 */
export const DIRECTORY_MESSAGE_MAX_BYTES = MAX_RECORD_BYTES + 64
/** Largest message on a room topic: a room envelope (a relay's listener report is far smaller). */
export const ROOM_TOPIC_MESSAGE_MAX_BYTES = MAX_ROOM_MESSAGE_BYTES

/**
 * The verdict on a message that failed verification, by the error's name.
 * Only ExpiredError is no fault of the sender: a manifest or listener report
 * that expired on its way, or a clock that differs from ours, comes from
 * honest peers too. Everything else is junk. An unknown version is junk as
 * well: the wire versions are in the topic names, so a newer protocol speaks
 * on a newer topic.
 */
const VERDICT: Record<VerifyError['name'], TopicValidatorResult> = {
  MalformedError: TopicValidatorResult.Reject,
  TooLargeError: TopicValidatorResult.Reject,
  UnsupportedVersionError: TopicValidatorResult.Reject,
  BadSignatureError: TopicValidatorResult.Reject,
  WrongStationError: TopicValidatorResult.Reject,
  InvalidStationIdError: TopicValidatorResult.Reject,
  StampError: TopicValidatorResult.Reject,
  ExpiredError: TopicValidatorResult.Ignore
}

/**
 * The verdict on bytes heard on the directory topic: a signed station record
 * or a relay-signed listener report. Never throws.
 */
export function validateDirectoryData (data: Uint8Array, now: number): TopicValidatorResult {
  if (!(data instanceof Uint8Array) || data.length > DIRECTORY_MESSAGE_MAX_BYTES) return TopicValidatorResult.Reject
  const result = verifyAnnouncement(data, now)
  return result.ok ? TopicValidatorResult.Accept : VERDICT[result.error.name]
}

/**
 * The verdict on bytes heard on the room topic of `stationId`: a room
 * command the station signed for this room, or a relay's signed listener
 * report for this station. Everyone else's room messages are requests, which
 * go to the studio on signalling streams and never on the topic (docs/room.md).
 * Never throws.
 */
export function validateRoomData (data: Uint8Array, stationId: string, now: number): TopicValidatorResult {
  if (!(data instanceof Uint8Array) || data.length > ROOM_TOPIC_MESSAGE_MAX_BYTES) return TopicValidatorResult.Reject
  const envelope = decodeRoomMessage(data, stationId)
  if (envelope.ok) return envelope.value.from === stationId ? TopicValidatorResult.Accept : TopicValidatorResult.Reject
  const announcement = verifyAnnouncement(data, now)
  if (announcement.ok) {
    // Station records belong on the directory topic; a count about another station belongs in its own room.
    const here = announcement.value.type === 'listeners' && announcement.value.report.station === stationId
    return here ? TopicValidatorResult.Accept : TopicValidatorResult.Reject
  }
  // Neither kind: a stale listener report is ignored, anything else is junk.
  return VERDICT[announcement.error.name] === TopicValidatorResult.Ignore ? TopicValidatorResult.Ignore : VERDICT[envelope.error.name]
}

/** Which kind of topic a dropped message was heard on. */
export type GossipTopicKind = 'directory' | 'room'

/** Told of every message a validator dropped, e.g. to count it (a relay's `gossip/<kind>-<verdict>` refusals). */
export type GossipDropListener = (kind: GossipTopicKind, verdict: TopicValidatorResult.Reject | TopicValidatorResult.Ignore) => void

export interface GossipValidationInit {
  /** The clock that expiry is checked against. @default Date.now */
  now?: () => number
  /** Told of every message dropped. @default nobody */
  onDrop?: GossipDropListener
}

export interface RoomValidatorInit extends GossipValidationInit {
  /** Charges the sender of a rejected room message (gossipsub scores room topics only through it). */
  rejections?: Pick<RoomRejections, 'reject'>
}

/** The directory topic's validator. */
export function directoryValidator (init: GossipValidationInit = {}): TopicValidatorFn {
  const now = init.now ?? Date.now
  return (peer, message) => {
    const verdict = validateDirectoryData(message.data, now())
    if (verdict !== TopicValidatorResult.Accept) {
      log('%s directory message from %p', verdict, peer)
      init.onDrop?.('directory', verdict)
    }
    return verdict
  }
}

/** The validator of the room topic of `stationId`. */
export function roomValidator (stationId: string, init: RoomValidatorInit = {}): TopicValidatorFn {
  const now = init.now ?? Date.now
  return (peer: PeerId, message) => {
    const verdict = validateRoomData(message.data, stationId, now())
    if (verdict === TopicValidatorResult.Reject) init.rejections?.reject(peer.toString())
    if (verdict !== TopicValidatorResult.Accept) {
      log('%s room message for %s from %p', verdict, stationId, peer)
      init.onDrop?.('room', verdict)
    }
    return verdict
  }
}

export interface RoomRejectionsInit {
  /** @default Date.now */
  now?: () => number
  /** @default GOSSIP_SCORE.roomLedgerMaxPeers */
  maxPeers?: number
}

/**
 * Room messages each peer sent that were rejected, as a decaying count, and
 * the penalty it earns as gossipsub's application-specific score (P5):
 * exactly what P4 charges on the directory topic. Decay is computed when a
 * count is read, so nothing runs in the background.
 */
export class RoomRejections {
  private readonly counts = new Map<string, { count: number, at: number }>()
  private readonly now: () => number
  private readonly maxPeers: number

  constructor (init: RoomRejectionsInit = {}) {
    this.now = init.now ?? Date.now
    this.maxPeers = init.maxPeers ?? GOSSIP_SCORE.roomLedgerMaxPeers
  }

  /** Peers with a count now. */
  get size (): number {
    return this.counts.size
  }

  /** Counts one rejected room message from `peer`. */
  reject (peer: string): void {
    const now = this.now()
    const count = this.countOf(peer, now) + 1
    this.counts.delete(peer)
    this.counts.set(peer, { count, at: now })
    if (this.counts.size > this.maxPeers) this.counts.delete(this.counts.keys().next().value as string)
  }

  /** The P5 score of `peer`: `GOSSIP_SCORE.invalidMessages.weight × count²`, 0 for a peer with no count. */
  readonly score = (peer: string): number => {
    const count = this.countOf(peer, this.now())
    return count === 0 ? 0 : GOSSIP_SCORE.invalidMessages.weight * count * count
  }

  private countOf (peer: string, now: number): number {
    const entry = this.counts.get(peer)
    if (entry === undefined) return 0
    const count = entry.count * GOSSIP_SCORE.invalidMessages.decay ** (Math.max(0, now - entry.at) / GOSSIP_SCORE.decayIntervalMs)
    if (count >= GOSSIP_SCORE.decayToZero) return count
    this.counts.delete(peer)
    return 0
  }
}

type ScoreParams = NonNullable<Partial<GossipsubOpts>['scoreParams']>

/**
 * Gossipsub's peer-score parameters: the directory topic scored (P4 charges
 * junk), room rejections charged through P5, no IP-colocation penalty
 * (loopback, NAT and reverse proxies put many honest peers on one address).
 */
export function gossipScoreParams (rejections: Pick<RoomRejections, 'score'>): ScoreParams {
  const { timeInMesh, firstDeliveries, meshDeliveries, invalidMessages } = GOSSIP_SCORE
  return {
    IPColocationFactorWeight: 0,
    decayInterval: GOSSIP_SCORE.decayIntervalMs,
    decayToZero: GOSSIP_SCORE.decayToZero,
    appSpecificScore: rejections.score,
    appSpecificWeight: 1,
    topics: {
      [TOPIC.directory]: {
        topicWeight: GOSSIP_SCORE.topicWeight,
        timeInMeshWeight: timeInMesh.weight,
        timeInMeshQuantum: timeInMesh.quantumMs,
        timeInMeshCap: timeInMesh.cap,
        firstMessageDeliveriesWeight: firstDeliveries.weight,
        firstMessageDeliveriesDecay: firstDeliveries.decay,
        firstMessageDeliveriesCap: firstDeliveries.cap,
        meshMessageDeliveriesWeight: meshDeliveries.weight,
        meshMessageDeliveriesDecay: meshDeliveries.decay,
        meshMessageDeliveriesCap: meshDeliveries.cap,
        meshMessageDeliveriesThreshold: meshDeliveries.threshold,
        meshMessageDeliveriesWindow: meshDeliveries.windowMs,
        meshMessageDeliveriesActivation: meshDeliveries.activationMs,
        meshFailurePenaltyWeight: meshDeliveries.failureWeight,
        meshFailurePenaltyDecay: meshDeliveries.failureDecay,
        invalidMessageDeliveriesWeight: invalidMessages.weight,
        invalidMessageDeliveriesDecay: invalidMessages.decay
      }
    }
  }
}

type Validators = GossipSub['topicValidators']

/** Each node's room-rejection ledger and drop listener, by its validator table. */
const ledgers = new WeakMap<Validators, { rejections: RoomRejections, onDrop?: GossipDropListener }>()
/** How many holders asked for each room topic's validator, by validator table. */
const holders = new WeakMap<Validators, Map<string, number>>()

/**
 * Registers the directory validator on a node, and the ledger its room
 * validators charge. Call it once, right after the node is created.
 */
export function validateGossip (pubsub: Pick<GossipSub, 'topicValidators'>, rejections: RoomRejections, init: GossipValidationInit = {}): void {
  pubsub.topicValidators.set(TOPIC.directory, directoryValidator(init))
  ledgers.set(pubsub.topicValidators, { rejections, onDrop: init.onDrop })
}

/**
 * Validates the room topic of `stationId` on this node until the returned
 * function is called (or releaseRoomTopic): register before subscribing,
 * release after unsubscribing. Registrations are counted, so two holders of
 * one room on one node do not remove each other's validator. A pubsub with no
 * validator table (an in-memory test bus) forwards nothing, and is left alone.
 */
export function validateRoomTopic (pubsub: object, stationId: string): () => void {
  if (!hasValidators(pubsub)) return () => {}
  const validators = pubsub.topicValidators
  const topic = TOPIC.room(stationId)
  const counts = holders.get(validators) ?? new Map<string, number>()
  holders.set(validators, counts)
  const held = counts.get(topic) ?? 0
  if (held === 0) validators.set(topic, roomValidator(stationId, { ...ledgers.get(validators) }))
  counts.set(topic, held + 1)
  let released = false
  return () => {
    if (released) return
    released = true
    releaseRoomTopic(pubsub, stationId)
  }
}

/** Gives back one registration of validateRoomTopic; the last one removes the validator. */
export function releaseRoomTopic (pubsub: object, stationId: string): void {
  if (!hasValidators(pubsub)) return
  const topic = TOPIC.room(stationId)
  const counts = holders.get(pubsub.topicValidators)
  const held = counts?.get(topic) ?? 0
  if (counts === undefined || held === 0) return
  if (held > 1) {
    counts.set(topic, held - 1)
    return
  }
  counts.delete(topic)
  pubsub.topicValidators.delete(topic)
}

function hasValidators (pubsub: object): pubsub is Pick<GossipSub, 'topicValidators'> {
  return 'topicValidators' in pubsub && pubsub.topicValidators instanceof Map
}
