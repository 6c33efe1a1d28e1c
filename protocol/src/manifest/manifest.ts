/**
 * Station manifests: schema, canonical encoding, signing and verification.
 *
 * A signed manifest travels as a record: canonical DAG-CBOR of
 * `{ v, manifest: <canonical manifest bytes>, sig, stamp }`, where `sig` is
 * Ed25519 over `DOMAIN.manifest || manifest bytes` by the station key and
 * `stamp` is the key's proof of work (stamp.ts; docs/directory.md).
 */
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from '../cbor.ts'
import {
  DEFAULT_MANIFEST_LIFETIME_MS, DOMAIN, MANIFEST_LIMITS, MANIFEST_VERSION, MAX_CLOCK_SKEW_MS,
  MAX_MANIFEST_BYTES, MAX_MANIFEST_LIFETIME_MS, MAX_RECORD_BYTES, RECORD_VERSION
} from '../constants.ts'
import {
  BadSignatureError, ExpiredError, MalformedError, StampError, TooLargeError, UnsupportedVersionError,
  WrongStationError, type VerifyError
} from '../errors.ts'
import { publicKeyFromStationId, signWithDomain, verifyWithDomain, type StationKey } from '../identity.ts'
import { bytesSchema, parseOrThrow, stationIdSchema, uintSchema } from '../schema.ts'
import { requiredStampBits, verifyStamp } from '../stamp.ts'
import { draftFields, multiaddrSchema, studioSchema } from './fields.ts'

export const manifestDraftSchema = z.strictObject({
  ...draftFields,
  description: draftFields.description.default(''),
  tags: draftFields.tags.default([]),
  access: draftFields.access.default('open')
})

export const manifestSchema = z.strictObject({
  v: z.literal(MANIFEST_VERSION),
  id: stationIdSchema,
  seq: uintSchema,
  issuedAt: uintSchema,
  expiresAt: uintSchema,
  ...draftFields,
  relays: z.array(multiaddrSchema).max(MANIFEST_LIMITS.relaysMax),
  studio: studioSchema.optional()
}).refine((m) => m.expiresAt > m.issuedAt, { message: 'expiresAt must be after issuedAt', path: ['expiresAt'] })
  .refine((m) => m.expiresAt - m.issuedAt <= MAX_MANIFEST_LIFETIME_MS, { message: 'lifetime is longer than allowed', path: ['expiresAt'] })

/** The fields a station owner edits. */
export type ManifestDraft = z.output<typeof manifestDraftSchema>
/** A manifest draft as a user writes it: defaults may be left out. */
export type ManifestDraftInput = z.input<typeof manifestDraftSchema>
/** A complete, schema-valid station manifest. */
export type Manifest = z.output<typeof manifestSchema>
export type Stream = Manifest['streams'][number]
export type Studio = NonNullable<Manifest['studio']>

/** Whether a station's studio is on air now: it says so, and its claim (`liveUntil`) has not run out. */
export function isOnAir (manifest: Pick<Manifest, 'studio'>, now: number): boolean {
  const studio = manifest.studio
  return studio?.onAir === true && studio.liveUntil !== undefined && studio.liveUntil > now
}

/**
 * Checks user-edited manifest fields (a JSON file or a form).
 * @throws {MalformedError} with one issue per failing field
 */
export function parseManifestDraft (input: unknown): ManifestDraft {
  return parseOrThrow(manifestDraftSchema, input, 'manifest')
}

export interface BuildManifestInit {
  /** Sequence number; must exceed every seq published before. */
  seq: number
  /** Unix milliseconds of issue. */
  now: number
  /** @default DEFAULT_MANIFEST_LIFETIME_MS (24 h) */
  lifetimeMs?: number
  /** @default [] */
  relays?: string[]
  studio?: Studio
}

/**
 * Completes a draft into a manifest for `stationId`.
 * @throws {MalformedError} when the result is not a valid manifest
 */
export function buildManifest (stationId: string, draft: ManifestDraftInput, init: BuildManifestInit): Manifest {
  const fields = parseManifestDraft(draft)
  return parseOrThrow(manifestSchema, {
    v: MANIFEST_VERSION,
    id: stationId,
    seq: init.seq,
    issuedAt: init.now,
    expiresAt: init.now + (init.lifetimeMs ?? DEFAULT_MANIFEST_LIFETIME_MS),
    ...fields,
    relays: init.relays ?? [],
    studio: init.studio
  }, 'manifest')
}

/** The user-editable fields of a manifest. */
export function draftOf (manifest: Manifest): ManifestDraft {
  const { name, description, tags, language, country, homepage, logo, streams, access } = manifest
  return { name, description, tags, language, country, homepage, logo, streams, access }
}

/**
 * Canonical bytes of a manifest: the same manifest always encodes to the same bytes.
 * @throws {TooLargeError} above MAX_MANIFEST_BYTES
 */
export function encodeManifest (manifest: Manifest): Uint8Array {
  const bytes = encodeCanonical(manifest)
  if (bytes.length > MAX_MANIFEST_BYTES) throw new TooLargeError('manifest', bytes.length, MAX_MANIFEST_BYTES)
  return bytes
}

/**
 * Decodes and schema-checks canonical manifest bytes. Does not check a signature.
 * @throws {TooLargeError | MalformedError | UnsupportedVersionError}
 */
export function decodeManifest (bytes: Uint8Array): Manifest {
  const value = decodeCanonical(bytes, 'manifest', MAX_MANIFEST_BYTES)
  const version = (value as { v?: unknown } | null)?.v
  if (version !== MANIFEST_VERSION) throw new UnsupportedVersionError('manifest', version)
  return parseOrThrow(manifestSchema, value, 'manifest')
}

/** A manifest together with its signed record bytes (the DHT value). */
export interface SignedManifest {
  manifest: Manifest
  record: Uint8Array
}

/**
 * Signs a manifest with its station key, and attaches the key's stamp (see
 * mintStamp). Without one, the stamp is 0, which verifies only where no
 * work is required (a local test network).
 * @throws {WrongStationError} when the key is not the manifest's station
 */
export function signManifest (manifest: Manifest, key: StationKey, stamp = key.stamp ?? 0): SignedManifest {
  if (manifest.id !== key.id) throw new WrongStationError(`manifest is for ${manifest.id}, key is ${key.id}`)
  const manifestBytes = encodeManifest(manifest)
  const sig = signWithDomain(DOMAIN.manifest, manifestBytes, key.secretKey)
  return { manifest, record: encodeCanonical({ v: RECORD_VERSION, manifest: manifestBytes, sig, stamp }) }
}

const recordSchema = z.strictObject({
  v: z.literal(RECORD_VERSION),
  manifest: z.instanceof(Uint8Array),
  sig: bytesSchema(64),
  stamp: uintSchema
})

export interface VerifyManifestInit {
  /** Unix milliseconds to check expiry against. */
  now: number
  /** When given, the record must be for this station. */
  stationId?: string
  /**
   * Skip the stamp: only for records this process verified in full before
   * and stored itself (a relay reloading its own store, where a stamp costs a
   * scrypt per station). @default false
   */
  stampVerifiedBefore?: boolean
}

export type VerifyResult<T> = { ok: true, value: T } | { ok: false, error: VerifyError }

/**
 * Verifies a signed manifest record: size, shape, version, station, expiry,
 * the signature, then the stamp (its work against requiredStampBits, one
 * scrypt per station and process). Never throws; hostile input gives
 * `{ ok: false }`.
 */
export function verifyManifest (record: Uint8Array, init: VerifyManifestInit): VerifyResult<Manifest> {
  try {
    return { ok: true, value: verifyManifestOrThrow(record, init) }
  } catch (err) {
    return { ok: false, error: asVerifyError(err) }
  }
}

/**
 * As verifyManifest, but throws the typed error.
 * @throws {VerifyError}
 */
export function verifyManifestOrThrow (record: Uint8Array, init: VerifyManifestInit): Manifest {
  const envelopeValue = decodeCanonical(record, 'manifest record', MAX_RECORD_BYTES)
  const version = (envelopeValue as { v?: unknown } | null)?.v
  if (version !== RECORD_VERSION) throw new UnsupportedVersionError('manifest record', version)
  const envelope = parseOrThrow(recordSchema, envelopeValue, 'manifest record')
  const manifest = decodeManifest(envelope.manifest)
  if (init.stationId !== undefined && manifest.id !== init.stationId) {
    throw new WrongStationError(`record is for station ${manifest.id}, not ${init.stationId}`)
  }
  if (manifest.issuedAt > init.now + MAX_CLOCK_SKEW_MS) throw new ExpiredError('manifest is issued in the future')
  if (manifest.expiresAt <= init.now) throw new ExpiredError(`manifest expired at ${new Date(manifest.expiresAt).toISOString()}`)
  if (!verifyWithDomain(DOMAIN.manifest, envelope.manifest, envelope.sig, publicKeyFromStationId(manifest.id))) {
    throw new BadSignatureError('manifest signature does not verify with the station key')
  }
  if (init.stampVerifiedBefore !== true && !verifyStamp(manifest.id, envelope.stamp)) throw new StampError(`the record's stamp does not prove ${requiredStampBits()} bits of work for this station`)
  return manifest
}

const verifyErrorNames = new Set([
  'MalformedError', 'TooLargeError', 'UnsupportedVersionError', 'BadSignatureError',
  'ExpiredError', 'WrongStationError', 'InvalidStationIdError', 'StampError'
])

/** Narrows a caught value to a VerifyError; anything else becomes MalformedError. */
export function asVerifyError (err: unknown): VerifyError {
  if (err instanceof Error && verifyErrorNames.has(err.name)) return err as VerifyError
  return new MalformedError(`unreadable input: ${err instanceof Error ? err.message : String(err)}`)
}
