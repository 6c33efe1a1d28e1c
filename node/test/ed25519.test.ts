import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as ed from '@noble/ed25519'
import { generateStationKey, isStrictPublicKey } from '@openstudio/protocol'
import { createNativeVerifier } from '../src/ed25519.ts'

/** The group order L and the field prime p of Ed25519. */
const L = 2n ** 252n + 27742317777372353535851937790883648493n
const P = 2n ** 255n - 19n

const littleEndian = (n: bigint): Uint8Array => Uint8Array.from({ length: 32 }, (_, i) => Number((n >> BigInt(8 * i)) & 0xffn))
const fromLittleEndian = (bytes: Uint8Array): bigint => bytes.reduceRight((n, b) => (n << 8n) | BigInt(b), 0n)
const pure = (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean => {
  try {
    return ed.verify(signature, message, publicKey, { zip215: false })
  } catch {
    return false
  }
}

describe('native Ed25519 verification', () => {
  const native = createNativeVerifier()
  const key = generateStationKey()
  const message = new TextEncoder().encode('on air')
  const signature = ed.sign(message, key.secretKey)
  const identity = littleEndian(1n)
  /** R = identity, S = 0: valid for any message under a small-order key. */
  const trivial = Uint8Array.from([...identity, ...new Uint8Array(32)])

  const cases: Record<string, [Uint8Array, Uint8Array, Uint8Array]> = {
    'a good signature': [signature, message, key.publicKey],
    'S + L (malleated)': [Uint8Array.from([...signature.subarray(0, 32), ...littleEndian(fromLittleEndian(signature.subarray(32)) + L)]), message, key.publicKey],
    'one flipped bit in R': [signature.map((b, i) => i === 3 ? b ^ 1 : b), message, key.publicKey],
    'one flipped bit in S': [signature.map((b, i) => i === 40 ? b ^ 1 : b), message, key.publicKey],
    'another message': [signature, new TextEncoder().encode('off air'), key.publicKey],
    'the identity as key': [trivial, message, identity],
    'a key of order 2': [trivial, message, littleEndian(P - 1n)],
    'a non-canonical key (p + 1)': [trivial, message, littleEndian(P + 1n)],
    'a non-canonical R (p + 1)': [Uint8Array.from([...littleEndian(P + 1n), ...new Uint8Array(32)]), message, identity],
    'a key that is no point': [signature, message, new Uint8Array(32).fill(0xff)]
  }

  it.each(Object.entries(cases))('agrees with the strict pure-JS verifier on %s', (_, [sig, msg, publicKey]) => {
    expect(native(sig, msg, publicKey)).toBe(pure(sig, msg, publicKey))
  })

  it('accepts only the good signature among those cases', () => {
    const accepted = Object.entries(cases).filter(([, [sig, msg, publicKey]]) => native(sig, msg, publicKey)).map(([name]) => name)
    expect(accepted).toEqual(['a good signature'])
    expect(isStrictPublicKey(identity)).toBe(false)
  })

  it('agrees on random keys, messages and corrupted signatures', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.uint8Array({ maxLength: 300 }), fc.nat(63), fc.boolean(),
      (seed, msg, at, corrupt) => {
        const publicKey = ed.getPublicKey(seed)
        const sig = ed.sign(msg, seed)
        if (corrupt) sig[at] = (sig[at] ?? 0) ^ 0x40
        expect(native(sig, msg, publicKey)).toBe(pure(sig, msg, publicKey))
        expect(native(sig, msg, publicKey)).toBe(!corrupt)
      }), { numRuns: 100 })
  })
})
