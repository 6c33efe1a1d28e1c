/**
 * Chat between the producer and callers, over each call's signalling
 * stream (docs/room.md, "Chat"). Its size limits and the reasons a message
 * is refused are what `/openstudio/signal/1` carries.
 *
 * Envelope bytes: canonical CBOR `{ v: 1, b: body, s: sig }`; `body` is
 * canonical CBOR `{ room, from, to, n, at, text }` and `sig` is Ed25519 by
 * `from`'s key over `DOMAIN.chat || body`. A caller writes to the station;
 * the station writes to one caller or to `'all'`. The text is one line,
 * already in sanitizeLine form, so no reader ever shows a line break, a
 * bidi override or a thousand characters, whoever signed it.
 *
 * The studio judges every message a caller sends with a ChatGate: who signed
 * it, whether it is new, how fast the caller writes, and whether the
 * producer silenced them.
 */
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from './cbor.ts'
import { DOMAIN } from './constants.ts'
import { BadSignatureError, InvalidStationIdError, MalformedError, TooLargeError, UnsupportedVersionError, WrongStationError, type VerifyError } from './errors.ts'
import { isStationId, publicKeyFromStationId, signWithDomain, verifyWithDomain } from './identity.ts'
import { asVerifyError, type VerifyResult } from './manifest/manifest.ts'
import type { RoomSigner } from './room/messages.ts'
import { bytesSchema, parseOrThrow, stationIdSchema, uintSchema } from './schema.ts'
import { sanitizeLine } from './text.ts'

/** Largest chat envelope on the wire. */
export const MAX_CHAT_BYTES = 3072
/** The chat envelope version this code writes and accepts. */
export const CHAT_VERSION = 1
/**
 * The longest text, in characters (code points) after sanitizing: 500 of
 * any kind, emoji (4 bytes each in UTF-8) included, fit in MAX_CHAT_BYTES.
 */
export const CHAT_MAX_CHARS = 500
/** How far a message's `at` may lie from the studio's clock, either way. */
export const CHAT_MAX_SKEW_MS = 2 * 60 * 1000
/** Messages a sender may write at once. */
export const CHAT_BURST = 5
/** After a burst, one more message per this long. */
export const CHAT_REFILL_MS = 2000
/** Most senders a gate keeps a count and a rate for; the least recently heard goes first. */
export const CHAT_MAX_SENDERS = 256

/** Why the studio refused a chat message (a `chat-refused` signal message carries it). */
export const CHAT_REFUSALS = ['malformed', 'too-large', 'forged', 'replayed', 'too-fast', 'silenced'] as const
export const chatRefusalSchema = z.enum(CHAT_REFUSALS)
export type ChatRefusal = z.output<typeof chatRefusalSchema>

/** Who a message is for: one peer, or (from the station only) everyone in a call. */
export const CHAT_TO_ALL = 'all'

/** A verified chat message. */
export interface ChatMessage {
  /** The station whose show this is. */
  room: string
  /** The sender's peer id: its bytes carry the key that signed. */
  from: string
  /** A peer id, or `'all'` (the station only). A caller writes to the station. */
  to: string
  /** The sender's message count within its session, from 1. */
  n: number
  /** Unix ms when the sender wrote it. */
  at: number
  /** One line of plain text, in sanitizeLine form, 1 to CHAT_MAX_CHARS characters. */
  text: string
}

export const chatMessageSchema = z.strictObject({
  room: stationIdSchema,
  from: stationIdSchema,
  to: z.union([z.literal(CHAT_TO_ALL), stationIdSchema]),
  n: uintSchema.min(1),
  at: uintSchema,
  // A sanitized text of CHAT_MAX_CHARS code points is at most twice as many UTF-16 units.
  text: z.string().min(1).max(CHAT_MAX_CHARS * 2)
    .refine((t) => sanitizeLine(t, CHAT_MAX_CHARS) === t, `chat text must be one line of plain text, at most ${CHAT_MAX_CHARS} characters`)
}) satisfies z.ZodType<ChatMessage>

const envelopeSchema = z.strictObject({ v: z.literal(CHAT_VERSION), b: z.instanceof(Uint8Array), s: bytesSchema(64) })

/** Whether `from` may write to `to` in `room`: the station to anyone, anyone else to the station only. */
function mayAddress (room: string, from: string, to: string): boolean {
  return from === room || to === room
}

/**
 * Signs a chat message. The text is sanitized first.
 * @throws {MalformedError} when the text is empty once sanitized, a field is invalid, or a caller writes to anyone but the station
 * @throws {TooLargeError} when the envelope is larger than MAX_CHAT_BYTES
 */
export function encodeChat (signer: RoomSigner, message: Omit<ChatMessage, 'from'>): Uint8Array {
  const body = parseOrThrow(chatMessageSchema, { ...message, from: signer.id, text: sanitizeLine(message.text, CHAT_MAX_CHARS) }, 'chat message')
  if (!mayAddress(body.room, body.from, body.to)) throw new MalformedError('only the station writes to anyone but the station')
  const bodyBytes = encodeCanonical(body)
  const bytes = encodeCanonical({ v: CHAT_VERSION, b: bodyBytes, s: signWithDomain(DOMAIN.chat, bodyBytes, signer.secretKey) })
  if (bytes.length > MAX_CHAT_BYTES) throw new TooLargeError('chat message', bytes.length, MAX_CHAT_BYTES)
  return bytes
}

/**
 * Decodes and verifies a chat message for `room`: size, shape, the room,
 * then the sender's signature. Who may write to whom, and whether it is new,
 * is the reader's call (see ChatGate). Never throws.
 */
export function decodeChat (bytes: Uint8Array, room: string): VerifyResult<ChatMessage> {
  try {
    const outer = decodeCanonical(bytes, 'chat message', MAX_CHAT_BYTES)
    const version = (outer as { v?: unknown } | null)?.v
    if (version !== CHAT_VERSION) throw new UnsupportedVersionError('chat message', version)
    const envelope = parseOrThrow(envelopeSchema, outer, 'chat message')
    const body = parseOrThrow(chatMessageSchema, decodeCanonical(envelope.b, 'chat message body', MAX_CHAT_BYTES), 'chat message')
    if (body.room !== room) throw new WrongStationError(`chat message is for ${body.room}`)
    if (!verifyWithDomain(DOMAIN.chat, envelope.b, envelope.s, publicKeyFromStationId(body.from))) {
      throw new BadSignatureError('chat message signature does not verify with the sender key')
    }
    return { ok: true, value: body }
  } catch (err) {
    return { ok: false, error: asVerifyError(err) }
  }
}

/** The gate's verdict on one message. `n` is the refused message's count, when it was read and its signature held. */
export type ChatVerdict =
  | { ok: true, message: ChatMessage }
  | { ok: false, reason: ChatRefusal, n?: number }

export interface ChatGateInit {
  /** The studio's clock, unix ms. @default Date.now */
  now?: () => number
  /** Messages a sender may write at once. @default CHAT_BURST */
  burst?: number
  /** After a burst, one more message per this long. @default CHAT_REFILL_MS */
  refillMs?: number
  /** How far `at` may lie from `now()`, either way. @default CHAT_MAX_SKEW_MS */
  maxSkewMs?: number
  /** Most senders tracked at once. @default CHAT_MAX_SENDERS */
  maxSenders?: number
}

/** How a decoding failure reads as a refusal. */
const REFUSAL_OF_ERROR: Record<VerifyError['name'], ChatRefusal> = {
  TooLargeError: 'too-large',
  MalformedError: 'malformed',
  UnsupportedVersionError: 'malformed',
  WrongStationError: 'malformed',
  InvalidStationIdError: 'malformed',
  ExpiredError: 'malformed',
  StampError: 'malformed',
  BadSignatureError: 'forged'
}

/** What a gate remembers of one sender. */
interface Sender {
  /** The count of its last accepted message. */
  n: number
  /**
   * Its rate, as the time its bucket is full again: each accepted message
   * moves it on by refillMs, and a message is too fast when that lies more
   * than (burst − 1) × refillMs ahead. This is a token bucket of `burst`
   * tokens and one more each refillMs, in whole milliseconds.
   */
  fullAt: number
}

/**
 * The studio's judge of the chat messages callers send on their signalling
 * streams. Pure: it reads the clock it is given and changes only on an
 * accepted message (the sender's count and rate) or the producer's word
 * (silence). A refused message changes nothing but the `refusals` count.
 *
 * A sender's count starts afresh when it is forgotten: call `forget` when a
 * caller starts a new call (a hello that is not a resume). Silencing
 * outlives that: only `unsilence` ends it.
 *
 * @example
 * ```ts
 * const gate = new ChatGate(station.id)
 * const verdict = gate.judge(message.envelope, stream.remotePeer)
 * if (verdict.ok) show(verdict.message)
 * else send({ type: 'chat-refused', reason: verdict.reason, n: verdict.n })
 * ```
 */
export class ChatGate {
  /** Refused messages, by reason (for the studio's diagnostics). */
  readonly refusals: Partial<Record<ChatRefusal, number>> = {}
  private readonly now: () => number
  private readonly burst: number
  private readonly refillMs: number
  private readonly maxSkewMs: number
  private readonly maxSenders: number
  /** Senders in the order they were last accepted from, oldest first. */
  private readonly senders = new Map<string, Sender>()
  private readonly silenced = new Set<string>()

  /**
   * @throws {InvalidStationIdError} when `room` is not a station id
   * @throws {RangeError} for a burst or sender cap below 1, or a refill time that is not positive
   */
  constructor (readonly room: string, init: ChatGateInit = {}) {
    if (!isStationId(room)) throw new InvalidStationIdError('a chat gate is for a station id')
    this.now = init.now ?? Date.now
    this.burst = init.burst ?? CHAT_BURST
    this.refillMs = init.refillMs ?? CHAT_REFILL_MS
    this.maxSkewMs = init.maxSkewMs ?? CHAT_MAX_SKEW_MS
    this.maxSenders = init.maxSenders ?? CHAT_MAX_SENDERS
    if (!Number.isInteger(this.burst) || this.burst < 1) throw new RangeError(`a chat burst is at least 1 message, not ${this.burst}`)
    if (!(this.refillMs > 0)) throw new RangeError(`a chat refill takes some time, not ${this.refillMs} ms`)
    if (!Number.isInteger(this.maxSenders) || this.maxSenders < 1) throw new RangeError(`a chat gate tracks at least 1 sender, not ${this.maxSenders}`)
  }

  /**
   * Judges one envelope that arrived on `streamPeer`'s signalling stream
   * (the stream's authenticated remote peer). In this order: its size, its
   * shape and room, the signature, that `streamPeer` signed it and may write
   * to whom it names, silence, that it is newer than the sender's last and
   * dated near now, and the sender's rate.
   */
  judge (bytes: Uint8Array, streamPeer: string): ChatVerdict {
    if (bytes.length > MAX_CHAT_BYTES) return this.refuse('too-large')
    const decoded = decodeChat(bytes, this.room)
    if (!decoded.ok) return this.refuse(REFUSAL_OF_ERROR[decoded.error.name])
    const message = decoded.value
    const { n } = message
    if (message.from !== streamPeer || !mayAddress(this.room, message.from, message.to)) return this.refuse('forged', n)
    if (this.silenced.has(message.from)) return this.refuse('silenced', n)
    const now = this.now()
    const last = this.senders.get(message.from)
    if ((last !== undefined && n <= last.n) || Math.abs(message.at - now) > this.maxSkewMs) return this.refuse('replayed', n)
    const from = Math.max(last?.fullAt ?? now, now)
    if (from - now > (this.burst - 1) * this.refillMs) return this.refuse('too-fast', n)
    this.senders.delete(message.from)
    this.senders.set(message.from, { n, fullAt: from + this.refillMs })
    const oldest = this.senders.keys().next()
    if (this.senders.size > this.maxSenders && oldest.done !== true) this.senders.delete(oldest.value)
    return { ok: true, message }
  }

  /** The producer silences `peer`: its messages are refused until `unsilence`. */
  silence (peer: string): void {
    this.silenced.add(peer)
  }

  unsilence (peer: string): void {
    this.silenced.delete(peer)
  }

  isSilenced (peer: string): boolean {
    return this.silenced.has(peer)
  }

  /** Forgets `peer`'s count and rate (a new call starts them afresh); a silence stays. */
  forget (peer: string): void {
    this.senders.delete(peer)
  }

  /** How many senders the gate tracks now (at most maxSenders). */
  get tracked (): number {
    return this.senders.size
  }

  private refuse (reason: ChatRefusal, n?: number): ChatVerdict {
    this.refusals[reason] = (this.refusals[reason] ?? 0) + 1
    return n === undefined ? { ok: false, reason } : { ok: false, reason, n }
  }
}
