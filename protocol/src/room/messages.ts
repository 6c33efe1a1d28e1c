/**
 * Room-control messages (room protocol 2): a schema-first discriminated
 * union, who may send each type, and the signed envelope they travel in.
 * The rules are written down in docs/room.md.
 *
 * Envelope bytes: canonical CBOR `{ v: 2, b: body, s: sig }`; `body` is
 * canonical CBOR `{ room, from, e, n, msg }` and `sig` is Ed25519 by `from`'s
 * key over `DOMAIN.room || body`. `e` is the sender's session (its epoch, unix
 * ms when it started) and `n` counts the sender's messages within it, from 1.
 * A participant's id is its libp2p PeerId, whose bytes carry the public key,
 * so every message is verifiable on its own.
 *
 * Only the station changes room state. Its messages are commands, applied by
 * every replica in `n` order (see reducer.ts). Everyone else sends requests to
 * the studio on their signalling stream; the studio decides, and carries out
 * what it grants as a command of its own.
 */
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from '../cbor.ts'
import { DOMAIN, MAX_ROOM_MESSAGE_BYTES, ROOM_LIMITS, ROOM_VERSION } from '../constants.ts'
import { BadSignatureError, UnsupportedVersionError, WrongStationError } from '../errors.ts'
import { publicKeyFromStationId, signWithDomain, verifyWithDomain } from '../identity.ts'
import { asVerifyError, type VerifyResult } from '../manifest/manifest.ts'
import { bytesSchema, parseOrThrow, stationIdSchema, uintSchema } from '../schema.ts'

const peer = stationIdSchema

/** Where the producer has a participant: waiting, or in the program. */
export const stageSchema = z.enum(['green-room', 'on-air'])
export const gainDbSchema = z.number().min(ROOM_LIMITS.gainMinDb).max(ROOM_LIMITS.gainMaxDb)
const nameSchema = z.string().trim().min(1).max(ROOM_LIMITS.nameMax)

/** One participant, as a snapshot carries it. */
export const participantSnapshotSchema = z.strictObject({
  id: peer,
  name: nameSchema,
  /** In a live call with the studio (false: left, lost, or kicked; the record stays for a while, for a redial). */
  present: z.boolean(),
  stage: stageSchema,
  kicked: z.boolean(),
  producerMuted: z.boolean(),
  selfMuted: z.boolean(),
  gainDb: gainDbSchema,
  /** Unix ms when this participant's co-host grant ends; absent when it holds none. */
  grantExpiresAt: uintSchema.optional()
})

export const snapshotStateSchema = z.strictObject({
  onAir: z.boolean(),
  participants: z.array(participantSnapshotSchema).max(ROOM_LIMITS.participantsMax)
})

export const roomMessageSchema = z.discriminatedUnion('type', [
  // Commands: the station only.
  /** A caller is in a live call with the studio (the studio's own hello check let it in); new ones wait in the green room. */
  z.strictObject({ type: z.literal('present'), peer, name: nameSchema }),
  /** A caller's call ended; it keeps its record and its place (on air, say) for a redial. */
  z.strictObject({ type: z.literal('absent'), peer }),
  /** A caller's record goes: stale presence expired. */
  z.strictObject({ type: z.literal('forget'), peer }),
  /** Remove a participant and end its grant; it may not call back in until admitted again. */
  z.strictObject({ type: z.literal('kick'), peer }),
  /** What a participant's own mute switch says (the studio carries its request). */
  z.strictObject({ type: z.literal('self-muted'), peer, muted: z.boolean() }),
  /** The show goes on air, or off air. */
  z.strictObject({ type: z.literal('on-air') }),
  z.strictObject({ type: z.literal('off-air') }),
  /** Co-host authority for `peer` until `expiresAt` (unix ms). */
  z.strictObject({ type: z.literal('grant'), peer, expiresAt: uintSchema }),
  /** Takes a grant back. */
  z.strictObject({ type: z.literal('revoke'), peer }),
  /** The whole state, for replicas that missed messages. */
  z.strictObject({ type: z.literal('snapshot'), state: snapshotStateSchema }),
  // Commands from the station, and requests from a co-host.
  /** Take a caller to air (and out of a kick). */
  z.strictObject({ type: z.literal('admit'), peer }),
  /** Send a caller back to the green room. */
  z.strictObject({ type: z.literal('hold'), peer }),
  /** Mute or unmute anyone, in the program and in every mix-minus. */
  z.strictObject({ type: z.literal('mute'), peer }),
  z.strictObject({ type: z.literal('unmute'), peer }),
  /** Set a participant's fader. */
  z.strictObject({ type: z.literal('gain'), peer, db: gainDbSchema }),
  // Requests from any participant in a call, about itself.
  /** Leaving the show. */
  z.strictObject({ type: z.literal('leave') }),
  /** My mute switch. */
  z.strictObject({ type: z.literal('self-mute'), muted: z.boolean() }),
  /** I missed messages: send me a snapshot. */
  z.strictObject({ type: z.literal('snapshot-request') })
])

export type RoomMessage = z.output<typeof roomMessageSchema>
export type RoomMessageType = RoomMessage['type']
export type SnapshotState = z.output<typeof snapshotStateSchema>
export type ParticipantSnapshot = z.output<typeof participantSnapshotSchema>
export type Stage = z.output<typeof stageSchema>

/**
 * Who may send each type. `station`: only the station key, as a command.
 * `co-host`: the station as a command, or a holder of a live grant as a
 * request the studio carries out. `participant`: anyone in a call, about
 * itself, as a request to the studio.
 */
export const ROOM_SENDERS = {
  present: 'station',
  absent: 'station',
  forget: 'station',
  kick: 'station',
  'self-muted': 'station',
  'on-air': 'station',
  'off-air': 'station',
  grant: 'station',
  revoke: 'station',
  snapshot: 'station',
  admit: 'co-host',
  hold: 'co-host',
  mute: 'co-host',
  unmute: 'co-host',
  gain: 'co-host',
  leave: 'participant',
  'self-mute': 'participant',
  'snapshot-request': 'participant'
} as const satisfies Record<RoomMessageType, 'station' | 'co-host' | 'participant'>

/** A message a participant may send the studio. */
export type RoomRequest = Extract<RoomMessage, { type: { [T in RoomMessageType]: typeof ROOM_SENDERS[T] extends 'station' ? never : T }[RoomMessageType] }>
/** A message only the station sends (or carries out for a co-host). */
export type RoomCommand = Extract<RoomMessage, { type: { [T in RoomMessageType]: typeof ROOM_SENDERS[T] extends 'participant' ? never : T }[RoomMessageType] }>

/** A verified room message. */
export interface RoomEvent {
  room: string
  from: string
  /** The sender's session: unix ms when it started. */
  epoch: number
  /** The sender's message count within its session, from 1. */
  n: number
  message: RoomMessage
}

const bodySchema = z.strictObject({ room: peer, from: peer, e: uintSchema, n: uintSchema.min(1), msg: roomMessageSchema })
const envelopeSchema = z.strictObject({ v: z.literal(ROOM_VERSION), b: z.instanceof(Uint8Array), s: bytesSchema(64) })

/** A participant's signing identity. */
export interface RoomSigner {
  id: string
  secretKey: Uint8Array
}

/**
 * Signs a room message.
 * @throws {MalformedError | TooLargeError} when the message is invalid or too large
 */
export function encodeRoomMessage (signer: RoomSigner, event: Omit<RoomEvent, 'from'>): Uint8Array {
  const body = parseOrThrow(bodySchema, { room: event.room, from: signer.id, e: event.epoch, n: event.n, msg: event.message }, 'room message')
  const bodyBytes = encodeCanonical(body)
  const bytes = encodeCanonical({ v: ROOM_VERSION, b: bodyBytes, s: signWithDomain(DOMAIN.room, bodyBytes, signer.secretKey) })
  decodeCanonical(bytes, 'room message', MAX_ROOM_MESSAGE_BYTES)
  return bytes
}

/**
 * Decodes and verifies a room message for `room`: size, shape, then the
 * sender's signature. Who may send it is the reader's call (ROOM_SENDERS).
 * Never throws.
 */
export function decodeRoomMessage (bytes: Uint8Array, room: string): VerifyResult<RoomEvent> {
  try {
    const outer = decodeCanonical(bytes, 'room message', MAX_ROOM_MESSAGE_BYTES)
    const version = (outer as { v?: unknown } | null)?.v
    if (version !== ROOM_VERSION) throw new UnsupportedVersionError('room message', version)
    const envelope = parseOrThrow(envelopeSchema, outer, 'room message')
    const body = parseOrThrow(bodySchema, decodeCanonical(envelope.b, 'room message body', MAX_ROOM_MESSAGE_BYTES), 'room message')
    if (body.room !== room) throw new WrongStationError(`room message is for ${body.room}`)
    if (!verifyWithDomain(DOMAIN.room, envelope.b, envelope.s, publicKeyFromStationId(body.from))) {
      throw new BadSignatureError('room message signature does not verify with the sender key')
    }
    return { ok: true, value: { room: body.room, from: body.from, epoch: body.e, n: body.n, message: body.msg } }
  } catch (err) {
    return { ok: false, error: asVerifyError(err) }
  }
}
