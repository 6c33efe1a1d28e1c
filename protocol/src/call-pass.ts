/**
 * Call passes: the studio's word that a peer is in a call with it. When the
 * studio welcomes a caller on `/openstudio/signal/1`, it signs a pass with the
 * station key naming the station, the caller's peer id and an expiry; the
 * caller shows it to a relay that serves the station to get TURN credentials
 * (see docs/turn.md). A pass names one peer, so it is worth nothing to anyone
 * else: the relay checks it against the peer id of the connection it came on.
 *
 * The token is a compact URL-safe string, built exactly like an invite:
 * base64url(canonical CBOR `[v, payload, sig]`), where `sig` is Ed25519 over
 * `DOMAIN.callPass || payload` and `payload` is canonical CBOR of
 * `{ s: station id bytes, p: peer id bytes, e: expiry in unix ms }`.
 */
import { base58btc } from 'multiformats/bases/base58'
import { base64url } from 'multiformats/bases/base64'
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from './cbor.ts'
import { decodeTokenText } from './token.ts'
import { CALL_PASS_PEER_MAX_BYTES, CALL_PASS_VERSION, DOMAIN, MAX_CALL_PASS_CHARS } from './constants.ts'
import { MalformedError, UnsupportedVersionError } from './errors.ts'
import { publicKeyFromStationIdBytes, signWithDomain, stationIdFromBytes, stationIdToBytes, verifyWithDomain, type StationKey } from './identity.ts'
import { bytesSchema, parseOrThrow, uintSchema } from './schema.ts'

/** A verified call pass. */
export interface CallPass {
  stationId: string
  /** The peer id (string) of the caller the studio welcomed. */
  peer: string
  /** Unix milliseconds after which the pass is refused. */
  expiresAt: number
}

export interface CreateCallPassInit {
  /** The caller's peer id, as libp2p prints it (`12D3KooW…`, `Qm…`, `16Uiu2…`). */
  peer: string
  /** Unix milliseconds; the studio uses now + CALL_PASS_TTL_MS. */
  expiresAt: number
}

export interface VerifyCallPassInit {
  /** The station the pass must be for (the room asked about). */
  stationId: string
  /** The peer that shows the pass (the remote peer of the connection it came on). */
  peer: string
  /** Unix milliseconds now. */
  now: number
}

/** Why a call pass was refused. */
export type CallPassFailure = 'malformed' | 'bad-signature' | 'expired' | 'wrong-station' | 'wrong-peer'

export type CallPassResult =
  | { ok: true, pass: CallPass }
  | { ok: false, reason: CallPassFailure }

/** Largest decoded token: base64url carries 3 bytes in 4 characters. */
const MAX_CALL_PASS_BYTES = Math.floor(MAX_CALL_PASS_CHARS * 3 / 4)

const peerBytesSchema = z.instanceof(Uint8Array).refine((b) => b.length >= 2 && b.length <= CALL_PASS_PEER_MAX_BYTES, `a peer id is 2 to ${CALL_PASS_PEER_MAX_BYTES} bytes`)
const payloadSchema = z.strictObject({
  s: z.instanceof(Uint8Array),
  p: peerBytesSchema,
  e: uintSchema
})
const tokenSchema = z.tuple([z.literal(CALL_PASS_VERSION), z.instanceof(Uint8Array), bytesSchema(64)])

/**
 * Signs a call pass for `init.peer` with the key's station.
 * @throws {MalformedError} when the peer id is not a base58btc peer id or the expiry is out of range
 */
export function createCallPass (key: StationKey, init: CreateCallPassInit): string {
  const payload = parseOrThrow(payloadSchema, { s: stationIdToBytes(key.id), p: peerIdBytes(init.peer), e: init.expiresAt }, 'call pass')
  const payloadBytes = encodeCanonical(payload)
  const sig = signWithDomain(DOMAIN.callPass, payloadBytes, key.secretKey)
  return base64url.baseEncode(encodeCanonical([CALL_PASS_VERSION, payloadBytes, sig]))
}

/**
 * Verifies a call pass from untrusted input: the size first, then the shape,
 * then the station, peer and expiry it names (cheap refusals before any
 * signature check), then the station's signature. Never throws.
 */
export function verifyCallPass (token: unknown, init: VerifyCallPassInit): CallPassResult {
  let decoded: DecodedPass
  try {
    decoded = decodeToken(token)
  } catch {
    return { ok: false, reason: 'malformed' }
  }
  const { pass, payloadBytes, sig, publicKey } = decoded
  if (pass.stationId !== init.stationId) return { ok: false, reason: 'wrong-station' }
  if (pass.peer !== init.peer) return { ok: false, reason: 'wrong-peer' }
  if (pass.expiresAt <= init.now) return { ok: false, reason: 'expired' }
  if (!verifyWithDomain(DOMAIN.callPass, payloadBytes, sig, publicKey)) return { ok: false, reason: 'bad-signature' }
  return { ok: true, pass }
}

/** A token that decoded and has the right shape; its signature is not checked yet. */
interface DecodedPass {
  pass: CallPass
  payloadBytes: Uint8Array
  sig: Uint8Array
  /** The station's public key, from the station id in the payload. */
  publicKey: Uint8Array
}

/** @throws {MalformedError | TooLargeError | UnsupportedVersionError | InvalidStationIdError} */
function decodeToken (token: unknown): DecodedPass {
  const outer = decodeTokenText(token, 'call pass', MAX_CALL_PASS_CHARS)
  if (Array.isArray(outer) && outer[0] !== CALL_PASS_VERSION) throw new UnsupportedVersionError('call pass', outer[0])
  const [, payloadBytes, sig] = parseOrThrow(tokenSchema, outer, 'call pass')
  const payload = parseOrThrow(payloadSchema, decodeCanonical(payloadBytes, 'call pass payload', MAX_CALL_PASS_BYTES), 'call pass payload')
  const publicKey = publicKeyFromStationIdBytes(payload.s)
  return { pass: { stationId: stationIdFromBytes(payload.s), peer: base58btc.baseEncode(payload.p), expiresAt: payload.e }, payloadBytes, sig, publicKey }
}

/**
 * The raw bytes (multihash) of a base58btc peer id string.
 * @throws {MalformedError}
 */
function peerIdBytes (peer: string): Uint8Array {
  let bytes: Uint8Array
  try {
    bytes = base58btc.baseDecode(peer)
  } catch (err) {
    throw new MalformedError(`not a peer id: ${(err as Error).message}`)
  }
  // One peer, one spelling: the relay compares the re-encoded bytes with the connection's peer id string.
  if (base58btc.baseEncode(bytes) !== peer) throw new MalformedError('not a canonical base58btc peer id')
  return bytes
}
