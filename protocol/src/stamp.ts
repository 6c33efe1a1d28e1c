/**
 * Proof-of-work stamps: what a station key costs to make usable.
 *
 * Station keys are free, so a directory anyone may publish to can be filled
 * with throwaway stations. A stamp is a nonce such that
 *
 *     scrypt(password = STAMP.domain || station id bytes, salt = nonce as 8 bytes big-endian,
 *            N = 2^STAMP.logN, r = STAMP.r, p = STAMP.p, dkLen = 32)
 *
 * starts with at least the required number of zero bits. It is bound to the
 * station key alone: an owner pays once per key, every republish and every
 * edit carries the same stamp, and a flooder pays again for every station.
 * Verification is one scrypt (2 MiB, about 4 ms natively, 8 ms in a
 * browser), and a verified (station, nonce) pair is remembered. The scheme
 * and its sizing are explained in docs/directory.md.
 */
import { scrypt } from '@noble/hashes/scrypt.js'
import { stationIdToBytes } from './identity.ts'

export const STAMP = {
  domain: 'openstudio/stamp/v1\u0000',
  /** scrypt cost: N = 2^logN with r = 8 uses 128·r·N = 2 MiB of memory per hash. */
  logN: 11,
  r: 8,
  p: 1,
  /** Leading zero bits the public network requires: 256 hashes on average, about 2 s in a browser. */
  bits: 8,
  /** The most bits a network may ask for (each bit doubles an honest owner's cost). */
  maxBits: 20,
  /** Largest nonce: 2^53 - 1, so that it survives any JSON or CBOR reader. */
  maxNonce: Number.MAX_SAFE_INTEGER
} as const

/** One scrypt of the stamp: 32 bytes from a password and a salt. Node injects its native scrypt (useStampHash). */
export type StampHash = (password: Uint8Array, salt: Uint8Array) => Uint8Array

const pureHash: StampHash = (password, salt) => scrypt(password, salt, { N: 2 ** STAMP.logN, r: STAMP.r, p: STAMP.p, dkLen: 32 })
let stampHash: StampHash = pureHash
let required: number = STAMP.bits

/** Uses a platform's scrypt (same parameters, same output) for stamps; without an argument, the pure one. */
export function useStampHash (platform: StampHash = pureHash): void {
  stampHash = platform
  work.clear()
}

/**
 * Sets the leading zero bits this process requires of every stamp it
 * verifies. The public network uses STAMP.bits; a local test network may ask
 * for fewer (0 accepts any stamp).
 * @throws {RangeError} outside 0..STAMP.maxBits
 */
export function requireStampBits (bits: number): void {
  if (!Number.isInteger(bits) || bits < 0 || bits > STAMP.maxBits) throw new RangeError(`stamp bits must be an integer from 0 to ${STAMP.maxBits}, not ${bits}`)
  required = bits
}

/** The leading zero bits this process requires of a stamp (see requireStampBits). */
export function requiredStampBits (): number {
  return required
}

const utf8 = new TextEncoder()
const DOMAIN_BYTES = utf8.encode(STAMP.domain)

/** Remembered work of (station, nonce) pairs: most recent last, at most WORK_CACHE_SIZE. */
const work = new Map<string, number>()
const WORK_CACHE_SIZE = 65_536

/**
 * The work a stamp proves: the leading zero bits of its hash. Results are
 * remembered, so a station's stamp costs one scrypt per process.
 * @throws {InvalidStationIdError} for a station id that is not an Ed25519 PeerId
 * @throws {RangeError} for a nonce that is not an integer in 0..STAMP.maxNonce
 */
export function stampWork (stationId: string, nonce: number): number {
  checkNonce(nonce)
  const key = `${stationId}/${nonce}`
  const known = work.get(key)
  if (known !== undefined) return known
  const bits = leadingZeroBits(stampHash(passwordOf(stationId), nonceBytes(nonce)))
  if (work.size >= WORK_CACHE_SIZE) work.delete(work.keys().next().value as string)
  work.set(key, bits)
  return bits
}

/** Whether `nonce` is a stamp of at least `bits` (by default, the required bits) for `stationId`. Never throws. */
export function verifyStamp (stationId: string, nonce: number, bits: number = required): boolean {
  if (bits === 0) return Number.isSafeInteger(nonce) && nonce >= 0
  try {
    return stampWork(stationId, nonce) >= bits
  } catch {
    return false
  }
}

export interface MintStampInit {
  /**
   * Gives the event loop a turn every `yieldEveryMs` of hashing (a zero
   * timeout, say): the protocol has no timers of its own.
   */
  yieldTurn: () => Promise<void>
  /** @default 50 */
  yieldEveryMs?: number
  /** @default the required bits */
  bits?: number
  /** First nonce to try (workers that share a search start apart). @default 0 */
  start?: number
  /** An AbortSignal. */
  signal?: { throwIfAborted: () => void }
  /** Hashes tried so far, and the number expected on average (2^bits). */
  onProgress?: (tried: number, expected: number) => void
}

/**
 * Finds a stamp for `stationId`: tries nonces from `start` until one has the
 * bits. Takes 2^bits hashes on average; hands the event loop back every
 * `yieldEveryMs`, so a page stays responsive and can show progress.
 * @throws the signal's reason when aborted
 */
export async function mintStamp (stationId: string, init: MintStampInit): Promise<number> {
  const bits = init.bits ?? required
  const expected = 2 ** bits
  const password = passwordOf(stationId)
  const yieldEveryMs = init.yieldEveryMs ?? 50
  let turnStarted = Date.now()
  for (let nonce = init.start ?? 0, tried = 0; nonce <= STAMP.maxNonce; nonce++) {
    init.signal?.throwIfAborted()
    if (bits === 0 || leadingZeroBits(stampHash(password, nonceBytes(nonce))) >= bits) {
      init.onProgress?.(tried + 1, expected)
      return nonce
    }
    tried++
    if (Date.now() - turnStarted >= yieldEveryMs) {
      init.onProgress?.(tried, expected)
      await init.yieldTurn()
      turnStarted = Date.now()
    }
  }
  throw new RangeError('no stamp below the largest nonce')
}

function passwordOf (stationId: string): Uint8Array {
  const id = stationIdToBytes(stationId)
  const password = new Uint8Array(DOMAIN_BYTES.length + id.length)
  password.set(DOMAIN_BYTES, 0)
  password.set(id, DOMAIN_BYTES.length)
  return password
}

function checkNonce (nonce: number): void {
  if (!Number.isSafeInteger(nonce) || nonce < 0) throw new RangeError(`a stamp nonce is an integer from 0 to ${STAMP.maxNonce}`)
}

/** The nonce as 8 bytes, big-endian. */
function nonceBytes (nonce: number): Uint8Array {
  const bytes = new Uint8Array(8)
  new DataView(bytes.buffer).setBigUint64(0, BigInt(nonce))
  return bytes
}

function leadingZeroBits (hash: Uint8Array): number {
  let bits = 0
  for (const byte of hash) {
    if (byte === 0) {
      bits += 8
      continue
    }
    return bits + Math.clz32(byte) - 24
  }
  return bits
}
