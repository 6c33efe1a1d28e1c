/**
 * Room-control messages: a schema-first discriminated union, and the signed
 * envelope they travel in on the station's room topic.
 *
 * Envelope bytes: canonical CBOR `{ v, b: body, s: sig }`; `body` is canonical
 * CBOR `{ room, from, clock, msg }` and `sig` is Ed25519 by `from`'s key over
 * `DOMAIN.room || body`. A participant's id is its libp2p PeerId, whose bytes
 * carry the public key, so every message is verifiable on its own.
 */
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from '../cbor.ts'
import { DOMAIN, MAX_ROOM_MESSAGE_BYTES, ROOM_LIMITS, ROOM_VERSION } from '../constants.ts'
import { BadSignatureError, UnsupportedVersionError, WrongStationError } from '../errors.ts'
import { publicKeyFromStationId, signWithDomain, verifyWithDomain } from '../identity.ts'
import { asVerifyError, type VerifyResult } from '../manifest/manifest.ts'
import { bytesSchema, parseOrThrow, stationIdSchema, uintSchema } from '../schema.ts'

const peer = stationIdSchema
const stampSchema = z.strictObject({ c: uintSchema, p: peer })
const reg = <T extends z.ZodType>(value: T) => z.strictObject({ v: value, t: stampSchema })

/** Where the producer has a participant: waiting, or in the program. */
export const stageSchema = z.enum(['green-room', 'on-air'])
export const gainDbSchema = z.number().min(ROOM_LIMITS.gainMinDb).max(ROOM_LIMITS.gainMaxDb)
const nameSchema = z.string().trim().min(1).max(ROOM_LIMITS.nameMax)

/** One participant's replicated registers, as carried in a snapshot. */
export const participantRecordSchema = z.strictObject({
  id: peer,
  name: reg(nameSchema).optional(),
  /** Written by the participant: joined (true) or left (false). */
  present: reg(z.boolean()).optional(),
  /** Written by the producer (and by the participant leaving, back to the green room). */
  stage: reg(stageSchema).optional(),
  kicked: reg(z.boolean()).optional(),
  producerMuted: reg(z.boolean()).optional(),
  selfMuted: reg(z.boolean()).optional(),
  gainDb: reg(gainDbSchema).optional(),
  producer: reg(z.boolean()).optional()
})

export const snapshotStateSchema = z.strictObject({
  onAir: reg(z.boolean()).optional(),
  participants: z.array(participantRecordSchema).max(ROOM_LIMITS.participantsMax)
})

export const roomMessageSchema = z.discriminatedUnion('type', [
  /** A participant asks to join; it waits in the green room. */
  z.strictObject({ type: z.literal('join'), name: nameSchema }),
  /** A participant leaves. */
  z.strictObject({ type: z.literal('leave') }),
  /** A participant reports its own mute switch. */
  z.strictObject({ type: z.literal('self-mute'), muted: z.boolean() }),
  /** Asks the producer for a snapshot after missing messages. */
  z.strictObject({ type: z.literal('snapshot-request') }),
  /** Producer: take a caller to air. */
  z.strictObject({ type: z.literal('admit'), peer }),
  /** Producer: send a caller back to the green room. */
  z.strictObject({ type: z.literal('hold'), peer }),
  /** Producer: mute or unmute anyone, in the program and in every mix-minus. */
  z.strictObject({ type: z.literal('mute'), peer }),
  z.strictObject({ type: z.literal('unmute'), peer }),
  /** Producer: set a participant's fader. */
  z.strictObject({ type: z.literal('gain'), peer, db: gainDbSchema }),
  /** Producer: remove a participant. */
  z.strictObject({ type: z.literal('kick'), peer }),
  /** Producer: the show goes on air, or off air. */
  z.strictObject({ type: z.literal('on-air') }),
  z.strictObject({ type: z.literal('off-air') }),
  /** Station key only: grant (or take back) producer authority. */
  z.strictObject({ type: z.literal('grant'), peer, producer: z.boolean() }),
  /** Producer: the full replicated state, for late joiners. */
  z.strictObject({ type: z.literal('snapshot'), state: snapshotStateSchema })
])

export type RoomMessage = z.output<typeof roomMessageSchema>
export type RoomMessageType = RoomMessage['type']
export type SnapshotState = z.output<typeof snapshotStateSchema>
export type ParticipantRecord = z.output<typeof participantRecordSchema>
export type Stage = z.output<typeof stageSchema>
/** A Lamport timestamp: clock, then peer id as the tie-break. */
export type Stamp = z.output<typeof stampSchema>
/** A last-write-wins register. */
export interface Register<T> { v: T, t: Stamp }

/** A verified room message. */
export interface RoomEvent {
  room: string
  from: string
  clock: number
  message: RoomMessage
}

const bodySchema = z.strictObject({ room: peer, from: peer, clock: uintSchema, msg: roomMessageSchema })
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
  const body = parseOrThrow(bodySchema, { room: event.room, from: signer.id, clock: event.clock, msg: event.message }, 'room message')
  const bodyBytes = encodeCanonical(body)
  const bytes = encodeCanonical({ v: ROOM_VERSION, b: bodyBytes, s: signWithDomain(DOMAIN.room, bodyBytes, signer.secretKey) })
  decodeCanonical(bytes, 'room message', MAX_ROOM_MESSAGE_BYTES)
  return bytes
}

/**
 * Decodes and verifies a room message for `room`: size, shape, then the
 * sender's signature. Never throws.
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
    return { ok: true, value: { room: body.room, from: body.from, clock: body.clock, message: body.msg } }
  } catch (err) {
    return { ok: false, error: asVerifyError(err) }
  }
}
