/**
 * Station identity: an Ed25519 key pair whose public name is the libp2p PeerId
 * string of its public key (`12D3KooW…`). Built from multiformats directly so
 * that this module stays pure; the encoding is libp2p's: an identity multihash
 * over the protobuf `PublicKey { Type = Ed25519 (1), Data = 32 bytes }`.
 */
import * as ed from '@noble/ed25519'
import { sha512 } from '@noble/hashes/sha2.js'
import { base58btc } from 'multiformats/bases/base58'
import { InvalidStationIdError } from './errors.ts'

ed.hashes.sha512 = sha512

/** Protobuf prefix of a libp2p Ed25519 public key: field 1 = 1 (Ed25519), field 2 = 32 bytes. */
const PUBLIC_KEY_PROTOBUF_PREFIX = Uint8Array.of(0x08, 0x01, 0x12, 0x20)
/** Identity multihash header (code 0x00) for the 36-byte protobuf key. */
const IDENTITY_MULTIHASH_PREFIX = Uint8Array.of(0x00, 0x24)
const MULTIHASH_BYTES = IDENTITY_MULTIHASH_PREFIX.length + PUBLIC_KEY_PROTOBUF_PREFIX.length + 32
/** Longest plausible station id string; anything longer is rejected unparsed. */
const MAX_STATION_ID_CHARS = 64

/**
 * An Ed25519 station key. `secretKey` is the 32-byte RFC 8032 seed; `stamp`
 * is the key's proof of work once it was paid for (see mintStamp).
 */
export interface StationKey {
  readonly id: string
  readonly publicKey: Uint8Array
  readonly secretKey: Uint8Array
  readonly stamp?: number
}

/** Derives the station key from a 32-byte seed. Deterministic. */
export function stationKeyFromSeed (seed: Uint8Array): StationKey {
  if (seed.length !== 32) throw new RangeError(`an Ed25519 seed is 32 bytes, not ${seed.length}`)
  const secretKey = Uint8Array.from(seed)
  const publicKey = ed.getPublicKey(secretKey)
  return { id: stationIdFromPublicKey(publicKey), publicKey, secretKey }
}

/** Generates a new station key from the platform's secure random source. */
export function generateStationKey (): StationKey {
  return stationKeyFromSeed(ed.utils.randomSecretKey())
}

/** The identity multihash bytes of a public key: the raw bytes of its PeerId. */
export function stationIdBytesFromPublicKey (publicKey: Uint8Array): Uint8Array {
  if (publicKey.length !== 32) throw new InvalidStationIdError(`an Ed25519 public key is 32 bytes, not ${publicKey.length}`)
  const out = new Uint8Array(MULTIHASH_BYTES)
  out.set(IDENTITY_MULTIHASH_PREFIX, 0)
  out.set(PUBLIC_KEY_PROTOBUF_PREFIX, IDENTITY_MULTIHASH_PREFIX.length)
  out.set(publicKey, IDENTITY_MULTIHASH_PREFIX.length + PUBLIC_KEY_PROTOBUF_PREFIX.length)
  return out
}

/** The station id (`12D3KooW…`) of a public key. */
export function stationIdFromPublicKey (publicKey: Uint8Array): string {
  return base58btc.baseEncode(stationIdBytesFromPublicKey(publicKey))
}

/**
 * The Ed25519 public key inside a station id's raw PeerId bytes.
 * @throws {InvalidStationIdError} when the bytes are not an Ed25519 identity multihash
 */
export function publicKeyFromStationIdBytes (bytes: Uint8Array): Uint8Array {
  if (bytes.length !== MULTIHASH_BYTES ||
      !startsWith(bytes, IDENTITY_MULTIHASH_PREFIX) ||
      !startsWith(bytes.subarray(IDENTITY_MULTIHASH_PREFIX.length), PUBLIC_KEY_PROTOBUF_PREFIX)) {
    throw new InvalidStationIdError('not an Ed25519 PeerId (RSA, secp256k1 and hashed ids cannot be stations)')
  }
  return bytes.slice(MULTIHASH_BYTES - 32)
}

/**
 * The raw PeerId bytes (identity multihash) of a station id string.
 * @throws {InvalidStationIdError} when the string is not an Ed25519 PeerId
 */
export function stationIdToBytes (id: string): Uint8Array {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_STATION_ID_CHARS) {
    throw new InvalidStationIdError('a station id is a 12D3KooW… PeerId string')
  }
  let bytes: Uint8Array
  try {
    bytes = base58btc.baseDecode(id)
  } catch (err) {
    throw new InvalidStationIdError(`station id is not base58btc: ${(err as Error).message}`)
  }
  publicKeyFromStationIdBytes(bytes)
  return bytes
}

/**
 * The Ed25519 public key named by a station id.
 * @throws {InvalidStationIdError} when the string is not an Ed25519 PeerId
 */
export function publicKeyFromStationId (id: string): Uint8Array {
  return publicKeyFromStationIdBytes(stationIdToBytes(id))
}

/** The station id of raw PeerId bytes, checking they are Ed25519. */
export function stationIdFromBytes (bytes: Uint8Array): string {
  publicKeyFromStationIdBytes(bytes)
  return base58btc.baseEncode(bytes)
}

/** True when `id` is a well-formed Ed25519 station id. Never throws. */
export function isStationId (id: unknown): id is string {
  if (typeof id !== 'string') return false
  try {
    stationIdToBytes(id)
    return true
  } catch {
    return false
  }
}

/** Signs `message` under a domain string, so the signature is valid for that domain only. */
export function signWithDomain (domain: string, message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  return ed.sign(withDomain(domain, message), secretKey)
}

/**
 * Checks one Ed25519 signature. It must be as strict as noble's RFC 8032
 * mode: canonical S and R, and no public key that isStrictPublicKey refuses.
 * It may throw on malformed input (read as false).
 */
export type Ed25519Verifier = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array) => boolean

const pureVerifier: Ed25519Verifier = (signature, message, publicKey) => ed.verify(signature, message, publicKey, { zip215: false })
let verifier = pureVerifier

/**
 * Replaces the pure-JS verifier, which takes about 3 ms a signature: Node
 * installs OpenSSL's (see @openstudio/node/polyfill), where a listing checks
 * hundreds of records at once. Pass nothing to go back to pure JS.
 */
export function useEd25519Verifier (platform: Ed25519Verifier = pureVerifier): void {
  verifier = platform
}

/**
 * True when `publicKey` is a canonical encoding of a point that is not of
 * small order. A small-order key makes a signature verify for any message
 * (for the identity point, R = identity and S = 0), so a station on such a
 * key would be anyone's to update; OpenSSL does not refuse these.
 */
export function isStrictPublicKey (publicKey: Uint8Array): boolean {
  if (publicKey.length !== 32) return false
  try {
    return !ed.Point.fromBytes(publicKey, false).isSmallOrder()
  } catch {
    return false
  }
}

/** Verifies a domain-separated signature (RFC 8032 strict). Returns false on any malformed input. */
export function verifyWithDomain (domain: string, message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32) return false
  try {
    return verifier(signature, withDomain(domain, message), publicKey)
  } catch {
    return false
  }
}

const utf8 = new TextEncoder()

function withDomain (domain: string, message: Uint8Array): Uint8Array {
  const prefix = utf8.encode(domain)
  const out = new Uint8Array(prefix.length + message.length)
  out.set(prefix, 0)
  out.set(message, prefix.length)
  return out
}

function startsWith (bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false
  return true
}
