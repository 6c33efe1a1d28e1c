/**
 * Verifying a record costs an Ed25519 verification (3 ms in pure JS, 0.15 ms
 * natively) and a schema check, and the same bytes come back many times: a
 * DHT get hands them back from every server, each checked by kad-dht's
 * validator, then by the selector, then by resolve, and a listing reads the
 * snapshots of several relays that mostly hold the same records. This cache
 * keeps what verified, keyed by the SHA-256 of the exact bytes. Expiry and
 * the key/station match are still checked on every use.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import {
  ExpiredError, stationIdFromRecordKey, validateStationRecord, verifyManifest, WrongStationError,
  type Manifest, type RecordValidator, type VerifyResult
} from '@openstudio/protocol'
import { base64 } from 'multiformats/bases/base64'

/** Records remembered at most (least recently verified are dropped first). */
export const RECORD_CACHE_SIZE = 4096

export interface RecordCache {
  /** validateStationRecord: the record under its DHT key. */
  validate: RecordValidator
  /** verifyManifest: a record on its own (its station id is inside), as a relay's snapshot sends it. */
  verify: (record: Uint8Array, now: number) => VerifyResult<Manifest>
}

export function createRecordCache (size = RECORD_CACHE_SIZE): RecordCache {
  const verified = new Map<string, Manifest>()
  const remembered = (value: Uint8Array, now: number, check: () => VerifyResult<Manifest>): VerifyResult<Manifest> => {
    const digest = base64.baseEncode(sha256(value))
    const manifest = verified.get(digest)
    if (manifest === undefined) {
      const result = check()
      if (result.ok) {
        if (verified.size >= size) verified.delete(verified.keys().next().value as string)
        verified.set(digest, result.value)
      }
      return result
    }
    if (manifest.expiresAt <= now) {
      verified.delete(digest)
      return { ok: false, error: new ExpiredError(`manifest expired at ${new Date(manifest.expiresAt).toISOString()}`) }
    }
    return { ok: true, value: manifest }
  }
  return {
    validate: (key, value, now) => {
      if (!(value instanceof Uint8Array)) return validateStationRecord(key, value, now)
      const result = remembered(value, now, () => validateStationRecord(key, value, now))
      if (!result.ok) return result
      try {
        if (stationIdFromRecordKey(key) !== result.value.id) return { ok: false, error: new WrongStationError(`record is for ${result.value.id}`) }
      } catch {
        return validateStationRecord(key, value, now)
      }
      return result
    },
    verify: (record, now) => remembered(record, now, () => verifyManifest(record, { now }))
  }
}

/**
 * The process-wide cache. Sharing it is safe: entries are keyed by content and
 * the checks that depend on time or key run on every use.
 */
export const recordCache = createRecordCache()
export const validateRecordCached: RecordValidator = recordCache.validate
