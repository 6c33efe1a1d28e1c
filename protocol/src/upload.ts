/**
 * `/openstudio/upload/1`: a caller's own recording of its microphone (the
 * double-ender), sent to the studio during or after the show. The caller
 * offers it, the studio answers with how much it has already (so an upload
 * resumes after a disconnect), the caller sends 16-bit PCM in chunks at the
 * studio's offset, and says when it is done. The studio names the file,
 * bounds its size by the show's length, and writes only at the end of what
 * it has: nothing can overwrite another track, or this one's past
 * (docs/recording.md, "The double-ender").
 *
 * Each message is canonical CBOR, size-capped and schema-checked; the stream
 * carries them length-prefixed. It runs on direct connections only: a
 * relayed one has no room for it.
 */
import { z } from 'zod'
import { cborCodec } from './codec.ts'
import { uintSchema } from './schema.ts'

/** Largest chunk of samples in one message. */
export const MAX_UPLOAD_CHUNK_BYTES = 32 * 1024
/** Largest upload message: a chunk and its framing. */
export const MAX_UPLOAD_MESSAGE_BYTES = MAX_UPLOAD_CHUNK_BYTES + 512

export const UPLOAD_REFUSALS = ['not-in-show', 'no-recording', 'too-large', 'out-of-order', 'busy'] as const
export type UploadRefusal = typeof UPLOAD_REFUSALS[number]

export const uploadMessageSchema = z.discriminatedUnion('type', [
  /**
   * From the caller: its recording for the studio's recording `recording`.
   * `startMs` is when its first sample was captured, on the studio's clock
   * as the caller estimates it (its own clock plus the offset it measured
   * over signalling).
   */
  z.strictObject({
    type: z.literal('offer'),
    recording: z.string().min(1).max(64),
    sampleRate: z.number().int().min(8000).max(192_000),
    channels: z.union([z.literal(1), z.literal(2)]),
    startMs: z.number().nonnegative()
  }),
  /** From the studio: send from byte `have` of the samples. */
  z.strictObject({ type: z.literal('accept'), have: uintSchema }),
  z.strictObject({ type: z.literal('refuse'), reason: z.enum(UPLOAD_REFUSALS) }),
  /** From the caller: samples at byte `at` (the studio's `have`). */
  z.strictObject({ type: z.literal('chunk'), at: uintSchema, bytes: z.custom<Uint8Array>((b) => b instanceof Uint8Array && b.byteLength > 0 && b.byteLength <= MAX_UPLOAD_CHUNK_BYTES, 'a chunk is 1 to 32768 bytes') }),
  /** From the studio, now and then: what it has. */
  z.strictObject({ type: z.literal('ack'), have: uintSchema }),
  /** From the caller: the recording ended at `bytes`. */
  z.strictObject({ type: z.literal('done'), bytes: uintSchema }),
  /** From the studio: it has the whole recording, and placed it on the show's timeline. */
  z.strictObject({ type: z.literal('complete'), have: uintSchema })
])

export type UploadMessage = z.output<typeof uploadMessageSchema>

const codec = cborCodec(uploadMessageSchema, 'upload message', MAX_UPLOAD_MESSAGE_BYTES)

/**
 * Encodes one upload message.
 * @throws {MalformedError | TooLargeError}
 */
export const encodeUpload = codec.encode

/**
 * Decodes one upload message from untrusted bytes.
 * @throws {MalformedError | TooLargeError}
 */
export const decodeUpload = codec.decode
