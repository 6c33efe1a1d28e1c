/**
 * Verifying a record costs an Ed25519 verification (milliseconds in pure JS),
 * and a DHT get hands the same bytes back from every server, each checked by
 * kad-dht's validator, then by the selector, then by resolve. This cache keeps
 * what verified, keyed by the SHA-256 of the exact bytes. Expiry and the
 * key/station match are still checked on every use.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import {
  ExpiredError, stationIdFromRecordKey, validateStationRecord, WrongStationError,
  type Manifest, type RecordValidator, type VerifyResult
} from '@openstudio/protocol'
import { base64 } from 'multiformats/bases/base64'

/** Records remembered at most (least recently verified are dropped first). */
export const RECORD_CACHE_SIZE = 4096

export function createRecordCache (size = RECORD_CACHE_SIZE): RecordValidator {
  const verified = new Map<string, Manifest>()
  return (key, value, now): VerifyResult<Manifest> => {
    if (!(value instanceof Uint8Array)) return validateStationRecord(key, value, now)
    const digest = base64.baseEncode(sha256(value))
    const manifest = verified.get(digest)
    if (manifest === undefined) {
      const result = validateStationRecord(key, value, now)
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
    try {
      if (stationIdFromRecordKey(key) !== manifest.id) return { ok: false, error: new WrongStationError(`record is for ${manifest.id}`) }
    } catch {
      return validateStationRecord(key, value, now)
    }
    return { ok: true, value: manifest }
  }
}

/**
 * The process-wide cache. Sharing it is safe: entries are keyed by content and
 * the checks that depend on time or key run on every use.
 */
export const validateRecordCached: RecordValidator = createRecordCache()
