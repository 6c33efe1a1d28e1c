/**
 * `/openstudio/program/1`: the studio streams the encoded program to the
 * station owner's relay, and the relay reports how its Icecast source is
 * doing. One stream carries both directions, length-prefixed canonical CBOR
 * messages, each size-capped and schema-checked.
 *
 * Studio → relay: `start` (the station's signed manifest record and the audio
 * format), then one `data` message per Ogg page, then `end`; a `now-playing`
 * at any time after `start`.
 * Relay → studio: `accepted` (with the renditions it makes) or `refused`,
 * then `status` whenever something changes and about once a second.
 */
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from './cbor.ts'
import { MAX_RECORD_BYTES } from './constants.ts'
import { streamSchema } from './manifest/fields.ts'
import { MAX_NOW_PLAYING_BYTES } from './now-playing.ts'
import { MAX_OGG_PAGE_BYTES } from './ogg.ts'
import { parseOrThrow, uintSchema, urlSchema } from './schema.ts'

/** Largest program message: an Ogg page and its CBOR wrapping. */
export const MAX_PROGRAM_MESSAGE_BYTES = MAX_OGG_PAGE_BYTES + 64

/** Renditions a relay may offer beside the Ogg mount. */
export const MAX_RENDITIONS = 4

/** Bitrates (kb/s) the studio offers; any Opus bitrate from 16 to 256 is accepted. */
export const PROGRAM_BITRATES = [64, 96, 128] as const
export const PROGRAM_BITRATE_RANGE = { min: 16, max: 256 } as const

/**
 * What the studio sends. `ogg-opus`: each `data` is one Ogg page. `webm-opus`
 * (MediaRecorder, the fallback): `data` chunks of a WebM stream, the first of
 * which holds its headers.
 */
export const PROGRAM_FORMATS = ['ogg-opus', 'webm-opus'] as const
export type ProgramFormat = typeof PROGRAM_FORMATS[number]

/** The Content-Type Icecast gets for each format: bare, no parameters (see docs/icecast.md). */
export const PROGRAM_CONTENT_TYPE: Record<ProgramFormat, string> = { 'ogg-opus': 'audio/ogg', 'webm-opus': 'audio/webm' }

const bytesUpTo = (max: number, what: string): z.ZodType<Uint8Array> =>
  z.custom<Uint8Array>((b) => b instanceof Uint8Array, `${what} must be bytes`).refine((b) => b.byteLength > 0 && b.byteLength <= max, `${what} must be 1 to ${max} bytes`)

export const programUpSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('start'),
    /** The station's signed manifest record (as in the DHT): the relay takes the Ice-* headers from it. */
    record: bytesUpTo(MAX_RECORD_BYTES, 'record'),
    format: z.enum(PROGRAM_FORMATS),
    bitrate: z.number().int().min(PROGRAM_BITRATE_RANGE.min).max(PROGRAM_BITRATE_RANGE.max).describe('kb/s'),
    channels: z.union([z.literal(1), z.literal(2)]),
    sampleRate: z.literal(48_000)
  }),
  z.strictObject({ type: z.literal('data'), bytes: bytesUpTo(MAX_OGG_PAGE_BYTES, 'data') }),
  /** The show is over: the relay ends its Icecast source. */
  z.strictObject({ type: z.literal('end') }),
  /** What the show is on now: the station's signed statement (now-playing.ts), for the MP3 mount's ICY title and the directory. */
  z.strictObject({ type: z.literal('now-playing'), statement: bytesUpTo(MAX_NOW_PLAYING_BYTES, 'statement') })
])

/** Why a relay refused a program stream. */
export const PROGRAM_REFUSALS = ['not-station', 'malformed', 'bad-manifest', 'replaced', 'stalled'] as const
export type ProgramRefusal = typeof PROGRAM_REFUSALS[number]

/** The relay's Icecast source, as the studio sees it. */
export const ICECAST_STATES = ['connecting', 'connected', 'reconnecting', 'failed'] as const
export type IcecastState = typeof ICECAST_STATES[number]

export const programDownSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('accepted'),
    mount: z.string().max(64),
    /** Where listeners play the program: the studio writes it into the manifest's stream entry. */
    listenUrl: urlSchema(['http:', 'https:'], 512),
    /** Other renditions the relay makes of the same program (an MP3 mount, HLS), as manifest stream entries. */
    renditions: z.array(streamSchema).max(MAX_RENDITIONS).optional()
  }),
  z.strictObject({ type: z.literal('refused'), reason: z.enum(PROGRAM_REFUSALS) }),
  z.strictObject({
    type: z.literal('status'),
    icecast: z.enum(ICECAST_STATES),
    /** Connection attempts since the last success (1 while connecting for the first time). */
    attempt: uintSchema,
    /** The mount's listeners, as Icecast last reported them. */
    listeners: uintSchema.optional(),
    /** Audio the relay holds that Icecast has not had yet, in ms. */
    backlogMs: uintSchema,
    /** Audio the relay keeps for replay after an Icecast outage, in ms. */
    bufferedMs: uintSchema,
    bytesIn: uintSchema,
    bytesOut: uintSchema,
    reconnects: uintSchema,
    /** Why the last attempt failed, for the producer. */
    error: z.string().max(200).optional()
  })
])

export type ProgramUp = z.output<typeof programUpSchema>
export type ProgramDown = z.output<typeof programDownSchema>
export type ProgramStatus = Extract<ProgramDown, { type: 'status' }>
export type ProgramStart = Extract<ProgramUp, { type: 'start' }>

/**
 * Encodes a studio → relay message.
 * @throws {MalformedError}
 */
export function encodeProgramUp (message: ProgramUp): Uint8Array {
  return encodeCanonical(parseOrThrow(programUpSchema, message, 'program message'))
}

/**
 * Decodes a studio → relay message from untrusted bytes.
 * @throws {MalformedError | TooLargeError}
 */
export function decodeProgramUp (bytes: Uint8Array): ProgramUp {
  return parseOrThrow(programUpSchema, decodeCanonical(bytes, 'program message', MAX_PROGRAM_MESSAGE_BYTES), 'program message')
}

/**
 * Encodes a relay → studio message.
 * @throws {MalformedError}
 */
export function encodeProgramDown (message: ProgramDown): Uint8Array {
  return encodeCanonical(parseOrThrow(programDownSchema, message, 'program status'))
}

/**
 * Decodes a relay → studio message from untrusted bytes.
 * @throws {MalformedError | TooLargeError}
 */
export function decodeProgramDown (bytes: Uint8Array): ProgramDown {
  return parseOrThrow(programDownSchema, decodeCanonical(bytes, 'program status', MAX_PROGRAM_MESSAGE_BYTES), 'program status')
}
