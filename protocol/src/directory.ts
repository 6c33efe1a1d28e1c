/**
 * The station directory: well-known DHT provider keys (all stations, one per
 * tag) and the announcements stations make on the directory topic.
 *
 * Provider keys are CIDv1 (raw codec) of the SHA-256 of `DIRECTORY_KEY.all`
 * or `DIRECTORY_KEY.tag(tag)`, so any tool can derive them.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import * as Digest from 'multiformats/hashes/digest'
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from './cbor.ts'
import { DIRECTORY_KEY, MAX_RECORD_BYTES, PROVIDERS_PER_FRAME } from './constants.ts'
import { asVerifyError, verifyManifestOrThrow, type Manifest, type VerifyResult } from './manifest/manifest.ts'
import { tagSchema } from './manifest/fields.ts'
import { verifyListenerReport, type ListenerReport } from './listeners.ts'
import { MAX_NOW_PLAYING_BYTES, verifyNowPlaying, type NowPlaying } from './now-playing.ts'
import { parseOrThrow, stationIdSchema, uintSchema } from './schema.ts'
import { base64url } from 'multiformats/bases/base64'

const SHA2_256 = 0x12
const utf8 = new TextEncoder()

/**
 * The provider key of the whole directory, or of one tag.
 * @throws {MalformedError} for a tag that is not a valid manifest tag
 */
export function directoryCid (tag?: string): CID {
  const name = tag === undefined ? DIRECTORY_KEY.all : DIRECTORY_KEY.tag(parseOrThrow(tagSchema, tag, 'tag'))
  return CID.createV1(raw.code, Digest.create(SHA2_256, sha256(utf8.encode(name))))
}

/** Messages on the directory topic. */
export type DirectoryAnnouncement =
  /** A station's signed manifest record, as stored in the DHT. */
  | { type: 'station', record: Uint8Array }
  /** A relay's signed listener count for a station it feeds to Icecast. */
  | { type: 'listeners', report: Uint8Array }
  /** A station's signed now-playing title (protocol/src/now-playing.ts). */
  | { type: 'now-playing', statement: Uint8Array }

/** An announcement after verification. */
export type VerifiedAnnouncement =
  | { type: 'station', manifest: Manifest, record: Uint8Array }
  | { type: 'listeners', report: ListenerReport }
  | { type: 'now-playing', nowPlaying: NowPlaying, statement: Uint8Array }

const announcementSchema = z.discriminatedUnion('t', [
  z.strictObject({ t: z.literal('station'), r: z.instanceof(Uint8Array) }),
  z.strictObject({ t: z.literal('listeners'), r: z.instanceof(Uint8Array) }),
  z.strictObject({ t: z.literal('now-playing'), r: z.instanceof(Uint8Array) })
])
const MAX_ANNOUNCEMENT_BYTES = MAX_RECORD_BYTES + 64

export function encodeAnnouncement (announcement: DirectoryAnnouncement): Uint8Array {
  const r = announcement.type === 'station' ? announcement.record : announcement.type === 'listeners' ? announcement.report : announcement.statement
  return encodeCanonical({ t: announcement.type, r })
}

/**
 * Decodes a directory announcement and verifies what it carries: a manifest
 * exactly as a DHT record, a listener report by its relay's signature, a
 * now-playing title by its station's.
 * Never throws.
 */
export function verifyAnnouncement (bytes: Uint8Array, now: number): VerifyResult<VerifiedAnnouncement> {
  try {
    const message = parseOrThrow(announcementSchema, decodeCanonical(bytes, 'announcement', MAX_ANNOUNCEMENT_BYTES), 'announcement')
    if (message.t === 'listeners') {
      const result = verifyListenerReport(message.r, now)
      return result.ok ? { ok: true, value: { type: 'listeners', report: result.value } } : result
    }
    if (message.t === 'now-playing') {
      const result = verifyNowPlaying(message.r, now)
      return result.ok ? { ok: true, value: { type: 'now-playing', nowPlaying: result.value, statement: message.r } } : result
    }
    return { ok: true, value: { type: 'station', manifest: verifyManifestOrThrow(message.r, { now }), record: message.r } }
  } catch (err) {
    return { ok: false, error: asVerifyError(err) }
  }
}

/**
 * A request on `/openstudio/records/2`: every station record the relay
 * holds, or those with one tag. The answer is one length-prefixed frame per
 * record, an empty frame, then the providers the relay stores for the
 * directory key asked for (all stations, or the tag), PROVIDERS_PER_FRAME
 * station ids at the most in each frame (see encodeProviderFrame).
 */
export interface RecordsRequest {
  tag?: string
}

const recordsRequestSchema = z.strictObject({ tag: tagSchema.optional() })
/** Largest records request. */
export const MAX_RECORDS_REQUEST_BYTES = 128

export function encodeRecordsRequest (request: RecordsRequest): Uint8Array {
  return encodeCanonical(parseOrThrow(recordsRequestSchema, request, 'records request'))
}

/**
 * Decodes a records request from untrusted bytes.
 * @throws {MalformedError | TooLargeError}
 */
export function decodeRecordsRequest (bytes: Uint8Array): RecordsRequest {
  return parseOrThrow(recordsRequestSchema, decodeCanonical(bytes, 'records request', MAX_RECORDS_REQUEST_BYTES), 'records request')
}

const providerFrameSchema = z.array(stationIdSchema).max(PROVIDERS_PER_FRAME)
/** Largest provider frame: PROVIDERS_PER_FRAME station ids (52 characters each) in CBOR. */
export const MAX_PROVIDER_FRAME_BYTES = 8 * 1024

/** A frame of directory providers in a records answer: station ids. */
export function encodeProviderFrame (ids: string[]): Uint8Array {
  return encodeCanonical(parseOrThrow(providerFrameSchema, ids, 'provider frame'))
}

/**
 * Decodes a provider frame from untrusted bytes.
 * @throws {MalformedError | TooLargeError}
 */
export function decodeProviderFrame (bytes: Uint8Array): string[] {
  return parseOrThrow(providerFrameSchema, decodeCanonical(bytes, 'provider frame', MAX_PROVIDER_FRAME_BYTES), 'provider frame')
}

/**
 * `GET /api/stations` on a relay's HTTP server (docs/directory.md): a page of
 * the relay's directory index in evidence order, filtered by the query
 * (`tag`, `language`, `country`, `q`, `live=1`, `limit`, `cursor`). Each
 * station is its signed record, which the reader verifies exactly as one from
 * the DHT; `listeners` and `firstSeen` are the relay's word. `nowPlaying`
 * is the station's newest signed title (verifyNowPlaying), when the relay
 * has one.
 */
export interface StationsPage {
  stations: Array<{ record: Uint8Array, listeners: number, firstSeen: number, nowPlaying?: Uint8Array }>
  next?: string
  total: number
}

/** Most stations in one page. */
export const MAX_STATIONS_PAGE = 100

const stationsPageSchema = z.strictObject({
  stations: z.array(z.strictObject({
    record: z.string().max(Math.ceil(MAX_RECORD_BYTES * 4 / 3) + 4).regex(/^[A-Za-z0-9_-]*$/),
    listeners: uintSchema,
    firstSeen: uintSchema,
    nowPlaying: z.string().max(Math.ceil(MAX_NOW_PLAYING_BYTES * 4 / 3) + 4).regex(/^[A-Za-z0-9_-]+$/).optional()
  })).max(MAX_STATIONS_PAGE),
  next: z.string().max(64).optional(),
  total: uintSchema
})

/** The JSON body of a stations page (records in unpadded base64url). */
export function encodeStationsPage (page: StationsPage): unknown {
  return {
    stations: page.stations.map((s) => ({
      record: base64url.baseEncode(s.record),
      listeners: s.listeners,
      firstSeen: s.firstSeen,
      ...(s.nowPlaying === undefined ? {} : { nowPlaying: base64url.baseEncode(s.nowPlaying) })
    })),
    ...(page.next === undefined ? {} : { next: page.next }),
    total: page.total
  }
}

/**
 * Reads a stations page from untrusted JSON. The records are not verified
 * here: verify each (verifyManifest) before use.
 * @throws {MalformedError}
 */
export function decodeStationsPage (json: unknown): StationsPage {
  const page = parseOrThrow(stationsPageSchema, json, 'stations page')
  return {
    stations: page.stations.map((s) => ({
      record: base64url.baseDecode(s.record),
      listeners: s.listeners,
      firstSeen: s.firstSeen,
      ...(s.nowPlaying === undefined ? {} : { nowPlaying: base64url.baseDecode(s.nowPlaying) })
    })),
    ...(page.next === undefined ? {} : { next: page.next }),
    total: page.total
  }
}
