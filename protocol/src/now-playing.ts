/**
 * Now playing: the segment, guest or song a station's show is on, as the
 * producer types it in the studio. The station key signs it (domain
 * separated), so it can travel anywhere: the program stream to the relay
 * (which sets the MP3 mount's ICY title), the directory topic and the
 * station's room (which the directory cards and station pages read), and the
 * relay's directory API. Wire format: docs/protocols.md, "Now playing".
 *
 * A title is plain text of one line. `sanitizeTitle` is the one rule every
 * writer applies and every reader checks: control and format characters
 * (line breaks, NUL, bidi overrides) go, runs of spaces become one, and the
 * text is cut to NOW_PLAYING_MAX_CHARS characters. A signed title that is not
 * already in that form is refused, so no reader ever sees a header break or a
 * thousand-character title, whoever signed it.
 */
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from './cbor.ts'
import { DOMAIN } from './constants.ts'
import { BadSignatureError, ExpiredError, MalformedError } from './errors.ts'
import { publicKeyFromStationId, signWithDomain, verifyWithDomain, type StationKey } from './identity.ts'
import { asVerifyError, type VerifyResult } from './manifest/manifest.ts'
import { bytesSchema, parseOrThrow, stationIdSchema, uintSchema } from './schema.ts'
import { sanitizeLine } from './text.ts'

/** The longest title, in characters (Unicode code points) after sanitizing. */
export const NOW_PLAYING_MAX_CHARS = 160
/** Largest signed statement: a 160-character title of 4-byte characters, the station id, the time and the signature. */
export const MAX_NOW_PLAYING_BYTES = 1024
/**
 * A statement older than this is no longer believed: a title can stand for a
 * whole show, but not past it. The studio signs it again when it goes live
 * and when the producer changes it, so a replayed old title never wins over
 * the current one (readers keep the newest).
 */
export const NOW_PLAYING_MAX_AGE_MS = 12 * 60 * 60 * 1000
/** How far ahead of the reader's clock a statement may be dated. */
const MAX_SKEW_MS = 60 * 1000

/**
 * The title as it may be signed and shown: NFC, one line, no control or
 * format characters, single spaces, trimmed, at most NOW_PLAYING_MAX_CHARS
 * characters. An empty result means "nothing playing".
 */
export function sanitizeTitle (text: string): string {
  return sanitizeLine(text, NOW_PLAYING_MAX_CHARS)
}

export const nowPlayingSchema = z.strictObject({
  station: stationIdSchema,
  /** Sanitized (see sanitizeTitle); empty: nothing playing. */
  title: z.string().max(NOW_PLAYING_MAX_CHARS * 4).refine((t) => sanitizeTitle(t) === t, 'the title must be one line of plain text, at most 160 characters'),
  /** Unix ms when the studio signed it: readers keep the newest. */
  at: uintSchema
})
export type NowPlaying = z.output<typeof nowPlayingSchema>

const envelopeSchema = z.strictObject({ np: z.instanceof(Uint8Array), sig: bytesSchema(64) })

/**
 * Signs a title with the station's key. The title is sanitized first.
 * @throws {BadSignatureError} for a key that is not the station's
 * @throws {MalformedError} for a time out of range
 */
export function signNowPlaying (statement: NowPlaying, stationKey: StationKey): Uint8Array {
  if (stationKey.id !== statement.station) throw new BadSignatureError('now playing is signed by the station it names')
  const bytes = encodeCanonical(parseOrThrow(nowPlayingSchema, { ...statement, title: sanitizeTitle(statement.title) }, 'now playing'))
  return encodeCanonical({ np: bytes, sig: signWithDomain(DOMAIN.nowPlaying, bytes, stationKey.secretKey) })
}

/** Verifies a signed statement: size, shape, a sanitized title, the station's signature, and its age at `now`. Never throws. */
export function verifyNowPlaying (signed: Uint8Array, now: number): VerifyResult<NowPlaying> {
  try {
    const envelope = parseOrThrow(envelopeSchema, decodeCanonical(signed, 'now playing', MAX_NOW_PLAYING_BYTES), 'now playing')
    const statement = parseOrThrow(nowPlayingSchema, decodeCanonical(envelope.np, 'now playing', MAX_NOW_PLAYING_BYTES), 'now playing')
    if (!verifyWithDomain(DOMAIN.nowPlaying, envelope.np, envelope.sig, publicKeyFromStationId(statement.station))) {
      throw new BadSignatureError('now playing is not signed by the station it names')
    }
    if (statement.at > now + MAX_SKEW_MS || statement.at < now - NOW_PLAYING_MAX_AGE_MS) throw new ExpiredError('now playing is stale or from the future')
    return { ok: true, value: statement }
  } catch (err) {
    return { ok: false, error: asVerifyError(err) }
  }
}

/**
 * Verifies a statement that must be `station`'s.
 * @throws {MalformedError | TooLargeError | BadSignatureError | ExpiredError} as verifyNowPlaying finds, or a statement of another station
 */
export function verifyNowPlayingOrThrow (signed: Uint8Array, station: string, now: number): NowPlaying {
  const result = verifyNowPlaying(signed, now)
  if (!result.ok) throw result.error
  if (result.value.station !== station) throw new MalformedError(`now playing of ${result.value.station}, not of ${station}`)
  return result.value
}
