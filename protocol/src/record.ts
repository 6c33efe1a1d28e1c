/**
 * DHT records of station manifests.
 *
 * The key is the UTF-8 bytes of `/openstudio/` followed by the raw bytes of the
 * station's PeerId (its identity multihash), as IPNS forms `/ipns/` keys.
 * kad-dht picks the validator and selector by the namespace `openstudio`.
 */
import { bytesEqual, compareBytes } from './cbor.ts'
import { DHT_KEY_PREFIX } from './constants.ts'
import { MalformedError, WrongStationError } from './errors.ts'
import { stationIdFromBytes, stationIdToBytes } from './identity.ts'
import { asVerifyError, verifyManifestOrThrow, type Manifest, type VerifyResult } from './manifest/manifest.ts'

const utf8 = new TextEncoder()
const PREFIX_BYTES = utf8.encode(DHT_KEY_PREFIX)

/** The DHT key of a station's manifest record. */
export function stationRecordKey (stationId: string): Uint8Array {
  const id = stationIdToBytes(stationId)
  const key = new Uint8Array(PREFIX_BYTES.length + id.length)
  key.set(PREFIX_BYTES, 0)
  key.set(id, PREFIX_BYTES.length)
  return key
}

/**
 * The station id a DHT key names.
 * @throws {MalformedError | InvalidStationIdError}
 */
export function stationIdFromRecordKey (key: Uint8Array): string {
  if (key.length <= PREFIX_BYTES.length || !bytesEqual(key.subarray(0, PREFIX_BYTES.length), PREFIX_BYTES)) {
    throw new MalformedError(`DHT key does not start with ${DHT_KEY_PREFIX}`)
  }
  return stationIdFromBytes(key.subarray(PREFIX_BYTES.length))
}

/**
 * Validates a DHT record against its key: the key must name the record's
 * station, and the record must verify (size, version, expiry, signature).
 * Returns a typed result; never throws.
 */
export function validateStationRecord (key: Uint8Array, value: Uint8Array, now: number): VerifyResult<Manifest> {
  try {
    const stationId = stationIdFromRecordKey(key)
    const manifest = verifyManifestOrThrow(value, { now })
    if (manifest.id !== stationId) throw new WrongStationError(`record is for ${manifest.id}, key names ${stationId}`)
    return { ok: true, value: manifest }
  } catch (err) {
    return { ok: false, error: asVerifyError(err) }
  }
}

/** A validator with the signature of validateStationRecord (for example a caching one). */
export type RecordValidator = (key: Uint8Array, value: Uint8Array, now: number) => VerifyResult<Manifest>

/**
 * Picks the best of several records for one key: the valid one with the
 * highest seq; ties go to the later issuedAt, then to the lowest record bytes,
 * so every node picks the same record. Invalid records lose to any valid one.
 * Returns the index into `records` (0 when none is valid).
 */
export function selectStationRecord (key: Uint8Array, records: readonly Uint8Array[], now: number, validate: RecordValidator = validateStationRecord): number {
  let best = -1
  let bestManifest: Manifest | undefined
  records.forEach((record, i) => {
    const result = validate(key, record, now)
    if (!result.ok) return
    if (bestManifest === undefined || isBetter(result.value, record, bestManifest, records[best] as Uint8Array)) {
      best = i
      bestManifest = result.value
    }
  })
  return Math.max(best, 0)
}

/**
 * The one keep-newest rule: `a` supersedes `b` when its seq is higher, or
 * its seq is the same and it was issued later. Everything that keeps one
 * manifest per station (the DHT selector, listings, the directory watcher,
 * the web app) decides with it.
 */
export function isNewerManifest (a: Pick<Manifest, 'seq' | 'issuedAt'>, b: Pick<Manifest, 'seq' | 'issuedAt'>): boolean {
  return a.seq !== b.seq ? a.seq > b.seq : a.issuedAt > b.issuedAt
}

function isBetter (a: Manifest, aBytes: Uint8Array, b: Manifest, bBytes: Uint8Array): boolean {
  if (isNewerManifest(a, b)) return true
  if (isNewerManifest(b, a)) return false
  return compareBytes(aBytes, bBytes) < 0
}
