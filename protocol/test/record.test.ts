import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  buildManifest, isNewerManifest, selectStationRecord, signManifest, stationIdFromRecordKey, stationKeyFromSeed, stationRecordKey,
  validateStationRecord
} from '../src/index.ts'
import vectors from './fixtures/vectors.json'
import { DRAFT, HOUR, seed, T0 } from './fixtures/draft.ts'

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
const key = stationKeyFromSeed(seed(1))
const other = stationKeyFromSeed(seed(2))
const dhtKey = stationRecordKey(key.id)
const recordOf = (seq: number, now = T0, signer = key): Uint8Array =>
  signManifest(buildManifest(signer.id, DRAFT, { seq, now }), signer).record

describe('DHT record key', () => {
  it('is /openstudio/ followed by the raw PeerId bytes (like /ipns/)', () => {
    expect(hex(dhtKey)).toBe(vectors.dhtKey)
    expect(hex(dhtKey.subarray(0, 12))).toBe(hex(new TextEncoder().encode('/openstudio/')))
    expect(stationIdFromRecordKey(dhtKey)).toBe(key.id)
  })

  it('rejects keys of other namespaces or non-Ed25519 ids', () => {
    expect(() => stationIdFromRecordKey(new TextEncoder().encode('/ipns/abc'))).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(() => stationIdFromRecordKey(new TextEncoder().encode('/openstudio/'))).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(() => stationIdFromRecordKey(new TextEncoder().encode('/openstudio/abc'))).toThrow(expect.objectContaining({ name: 'InvalidStationIdError' }))
  })
})

describe('DHT record validator', () => {
  it('accepts the genuine record under its key', () => {
    expect(validateStationRecord(dhtKey, recordOf(1), T0).ok).toBe(true)
  })

  it('rejects a record stored under another station key', () => {
    const result = validateStationRecord(stationRecordKey(other.id), recordOf(1), T0)
    expect(result.ok || result.error.name).toBe('WrongStationError')
  })

  it('rejects expired, forged, oversized and garbage records', () => {
    const expired = validateStationRecord(dhtKey, recordOf(1, T0 - 48 * HOUR), T0)
    expect(expired.ok || expired.error.name).toBe('ExpiredError')
    const flipped = recordOf(1)
    flipped[flipped.length - 3] = (flipped.at(-3) as number) ^ 1
    expect(validateStationRecord(dhtKey, flipped, T0).ok).toBe(false)
    const big = validateStationRecord(dhtKey, new Uint8Array(20 * 1024), T0)
    expect(big.ok || big.error.name).toBe('TooLargeError')
    expect(validateStationRecord(new Uint8Array(0), recordOf(1), T0).ok).toBe(false)
  })
})

describe('DHT record selector', () => {
  it('picks the highest valid seq', () => {
    const records = [recordOf(3), recordOf(9), recordOf(5)]
    expect(selectStationRecord(dhtKey, records, T0)).toBe(1)
  })

  it('ignores invalid records, whatever their claimed seq', () => {
    const forged = recordOf(100)
    forged[forged.length - 1] = (forged.at(-1) as number) ^ 1
    const foreign = recordOf(200, T0, other)
    expect(selectStationRecord(dhtKey, [forged, foreign, recordOf(2)], T0)).toBe(2)
  })

  it('breaks ties deterministically, whatever the order', () => {
    const a = recordOf(4, T0)
    const b = recordOf(4, T0 + 1000)
    const c = signManifest(buildManifest(key.id, { ...DRAFT, name: 'Other name' }, { seq: 4, now: T0 + 1000 }), key).record
    fc.assert(fc.property(fc.shuffledSubarray([a, b, c], { minLength: 3, maxLength: 3 }), (records) => {
      const winner = records[selectStationRecord(dhtKey, records, T0 + 2000)]
      const reference = [a, b, c][selectStationRecord(dhtKey, [a, b, c], T0 + 2000)]
      expect(winner).toBe(reference)
    }))
    expect([b, c]).toContain([a, b, c][selectStationRecord(dhtKey, [a, b, c], T0 + 2000)])
  })
})

describe('the keep-newest rule', () => {
  it('orders manifests by seq, then by when they were issued, and is strict', () => {
    expect(isNewerManifest({ seq: 2, issuedAt: T0 }, { seq: 1, issuedAt: T0 + HOUR })).toBe(true)
    expect(isNewerManifest({ seq: 1, issuedAt: T0 + HOUR }, { seq: 1, issuedAt: T0 })).toBe(true)
    expect(isNewerManifest({ seq: 1, issuedAt: T0 }, { seq: 1, issuedAt: T0 })).toBe(false)
    fc.assert(fc.property(fc.nat(), fc.nat(), fc.nat(), fc.nat(), (s1, i1, s2, i2) => {
      const a = { seq: s1, issuedAt: i1 }
      const b = { seq: s2, issuedAt: i2 }
      // Never both ways; one way exactly when they differ.
      expect(isNewerManifest(a, b) && isNewerManifest(b, a)).toBe(false)
      expect(isNewerManifest(a, b) || isNewerManifest(b, a)).toBe(s1 !== s2 || i1 !== i2)
    }))
  })
})
