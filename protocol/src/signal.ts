/**
 * `/openstudio/signal/1`: the messages a caller and the studio exchange to
 * negotiate their RTCPeerConnection (perfect negotiation), over a libp2p
 * stream that may run on a relayed connection. Each message is canonical CBOR,
 * size-capped, and schema-checked; the stream carries them length-prefixed.
 */
import { z } from 'zod'
import { cborCodec } from './codec.ts'
import { MAX_CALL_PASS_CHARS, MAX_INVITE_CHARS, MAX_ROOM_MESSAGE_BYTES, ROOM_LIMITS } from './constants.ts'
import { chatRefusalSchema, MAX_CHAT_BYTES } from './chat.ts'
import { uintSchema } from './schema.ts'

/** Longest call topic, in characters: what a caller wants to talk about, shown in the green room. */
export const CALL_TOPIC_MAX_CHARS = 200

const bytesUpTo = (max: number, what: string): z.ZodType<Uint8Array> => z.custom<Uint8Array>((b) => b instanceof Uint8Array, `${what} must be bytes`).refine((b) => b.byteLength <= max, `${what} too large`)

/** Largest signalling message: an SDP offer with a few tracks fits in a fraction. */
export const MAX_SIGNAL_BYTES = 64 * 1024
const MAX_SDP_CHARS = 60 * 1024
const MAX_CANDIDATE_CHARS = 1024

const candidateSchema = z.strictObject({
  candidate: z.string().max(MAX_CANDIDATE_CHARS),
  sdpMid: z.string().max(64).nullable().optional(),
  sdpMLineIndex: z.number().int().min(0).max(64).nullable().optional(),
  usernameFragment: z.string().max(256).nullable().optional()
})

export const signalMessageSchema = z.discriminatedUnion('type', [
  /** First message from a caller: who they are, and their invite where the station needs one. */
  z.strictObject({
    type: z.literal('hello'),
    name: z.string().trim().min(1).max(ROOM_LIMITS.nameMax),
    invite: z.string().max(MAX_INVITE_CHARS).optional(),
    /** The caller's audio connection still runs: only the signalling stream is new. */
    resume: z.boolean().optional(),
    /** What the caller wants to talk about (call screening); the studio makes it one line of CALL_TOPIC_MAX_CHARS. */
    topic: z.string().max(CALL_TOPIC_MAX_CHARS * 4).optional()
  }),
  /**
   * The studio's verdict on a hello. `pass` is a call pass (see call-pass.ts)
   * the station signed for this caller: relays that serve the station give
   * TURN credentials to its holder. Every welcome, a resumed call's too,
   * carries a fresh one.
   */
  z.strictObject({ type: z.literal('welcome'), pass: z.string().max(MAX_CALL_PASS_CHARS).optional() }),
  z.strictObject({ type: z.literal('refused'), reason: z.enum(['invite-required', 'invite-invalid', 'invite-expired', 'invite-revoked', 'invite-used', 'kicked', 'full', 'not-live']) }),
  /** An SDP offer or answer (or a rollback in perfect negotiation). */
  z.strictObject({ type: z.literal('description'), description: z.strictObject({ type: z.enum(['offer', 'answer', 'pranswer', 'rollback']), sdp: z.string().max(MAX_SDP_CHARS).optional() }) }),
  /** A trickled ICE candidate; null ends the candidates. */
  z.strictObject({ type: z.literal('candidate'), candidate: candidateSchema.nullable() }),
  /**
   * A signed room-control envelope (see room/messages.ts), carried beside the
   * room topic so that a caller's join reaches the studio, and the producer's
   * state reaches the caller, before the gossipsub mesh has formed. The
   * receiver verifies it exactly as one heard on the topic.
   */
  z.strictObject({ type: z.literal('room'), envelope: bytesUpTo(MAX_ROOM_MESSAGE_BYTES, 'room envelope') }),
  /** A signed chat message (see chat.ts): the producer's to this caller or to all, or the caller's to the producer. */
  // Up to four times the chat cap here: the studio's gate then refuses an oversized one as 'too-large', and the call goes on.
  z.strictObject({ type: z.literal('chat'), envelope: bytesUpTo(4 * MAX_CHAT_BYTES, 'chat envelope') }),
  /** The studio refused the caller's chat message `n` (absent when it could not be read), and why. */
  z.strictObject({ type: z.literal('chat-refused'), reason: chatRefusalSchema, n: uintSchema.optional() }),
  /**
   * Talkback (IFB). From the studio: the producer is talking to this caller
   * alone, or has stopped. From a co-host: push-to-talk to the producer.
   */
  z.strictObject({ type: z.literal('talkback'), on: z.boolean() }),
  /**
   * Clock exchange for the double-ender: the caller sends its clock `t0`
   * (unix ms); the studio answers with `t0` and its own clock `t1`. The
   * caller takes the offset of the exchange with the shortest round trip.
   */
  z.strictObject({ type: z.literal('clock'), t0: z.number().nonnegative(), t1: z.number().nonnegative().optional() }),
  /**
   * From the studio: it is recording (`recording` names it; a caller with
   * consent records its own microphone and uploads it), or it stopped.
   */
  z.strictObject({ type: z.literal('recording'), recording: z.string().min(1).max(64).optional() }),
  /** Either side is leaving. */
  z.strictObject({ type: z.literal('bye'), reason: z.string().max(200).optional() })
])

export type SignalMessage = z.output<typeof signalMessageSchema>
export type SignalMessageType = SignalMessage['type']

const codec = cborCodec(signalMessageSchema, 'signal message', MAX_SIGNAL_BYTES)

/**
 * Encodes one signalling message.
 * @throws {MalformedError | TooLargeError}
 */
export const encodeSignal = codec.encode

/**
 * Decodes one signalling message from untrusted bytes.
 * @throws {MalformedError | TooLargeError}
 */
export const decodeSignal = codec.decode
