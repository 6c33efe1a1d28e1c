import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { base58btc } from 'multiformats/bases/base58'
import {
  generateStationKey, isStationId, publicKeyFromStationId, stationIdFromPublicKey, stationIdToBytes, stationKeyFromSeed
} from '../src/index.ts'
import { signWithDomain, verifyWithDomain } from '../src/identity.ts'
import vectors from './fixtures/vectors.json'
import { seed } from './fixtures/draft.ts'

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
const unhex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16))

describe('station identity', () => {
  it('derives the known id and public key from a fixed seed', () => {
    const key = stationKeyFromSeed(seed(1))
    expect(hex(key.publicKey)).toBe(vectors.publicKey)
    expect(key.id).toBe(vectors.stationId)
    expect(key.id.startsWith('12D3KooW')).toBe(true)
  })

  it('signs the RFC 8032 test vector 1 (empty message, empty domain)', () => {
    const key = stationKeyFromSeed(unhex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'))
    expect(hex(key.publicKey)).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
    expect(hex(signWithDomain('', new Uint8Array(), key.secretKey))).toBe(
      'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b')
  })

  it('converts between id and public key in both directions', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), (s) => {
      const key = stationKeyFromSeed(s)
      expect(publicKeyFromStationId(key.id)).toEqual(key.publicKey)
      expect(stationIdFromPublicKey(key.publicKey)).toBe(key.id)
    }), { numRuns: 50 })
  })

  it('generates distinct keys', () => {
    expect(generateStationKey().id).not.toBe(generateStationKey().id)
  })

  it('rejects ids that are not Ed25519 PeerIds', () => {
    const sha256PeerId = 'QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N' // RSA-style hashed id
    const secp256k1PeerId = '16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY'
    for (const id of [sha256PeerId, secp256k1PeerId, '', 'hello', '12D3KooW', 'x'.repeat(500), vectors.stationId + '1']) {
      expect(isStationId(id), id).toBe(false)
      expect(() => stationIdToBytes(id)).toThrow(expect.objectContaining({ name: 'InvalidStationIdError' }))
    }
    expect(isStationId(42)).toBe(false)
  })

  it('rejects an identity multihash with the wrong key type byte', () => {
    const bytes = stationIdToBytes(vectors.stationId)
    bytes[3] = 0x02 // KeyType.Secp256k1
    expect(isStationId(base58btc.baseEncode(bytes))).toBe(false)
  })

  it('binds signatures to their domain', () => {
    const key = stationKeyFromSeed(seed(3))
    const msg = new TextEncoder().encode('hello')
    const sig = signWithDomain('a\u0000', msg, key.secretKey)
    expect(verifyWithDomain('a\u0000', msg, sig, key.publicKey)).toBe(true)
    expect(verifyWithDomain('b\u0000', msg, sig, key.publicKey)).toBe(false)
    expect(verifyWithDomain('a\u0000', msg, sig.subarray(1), key.publicKey)).toBe(false)
    expect(verifyWithDomain('a\u0000', msg, new Uint8Array(64).fill(255), key.publicKey)).toBe(false)
  })
})
