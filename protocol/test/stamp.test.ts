import { afterEach, describe, expect, it } from 'vitest'
import { buildManifest, mintStamp, requiredStampBits, requireStampBits, signManifest, STAMP, stampWork, stationKeyFromSeed, useStampHash, verifyManifest, verifyStamp } from '../src/index.ts'
import { DRAFT, seed, T0 } from './fixtures/draft.ts'

const key = stationKeyFromSeed(seed(1))
const other = stationKeyFromSeed(seed(2))
const now = async (): Promise<void> => {}

/**
 * Known answers, computed once with the construction in stamp.ts (scrypt
 * N = 2^11, r = 8, p = 1 over the domain and the station id bytes, salted
 * with the nonce): another implementation must find the same.
 */
const VECTORS = { station: key.id, works: [0, 0, 1, 3, 0], eightBits: 82, eightBitsWork: 9, twelveBits: 2627, otherStationWorkAt82: 1 }

afterEach(() => {
  requireStampBits(0)
  useStampHash()
})

describe('proof-of-work stamps', () => {
  it('match the known-answer vectors, in pure JS', () => {
    useStampHash()
    expect(key.id).toBe(VECTORS.station)
    expect([0, 1, 2, 3, 4].map((n) => stampWork(key.id, n))).toEqual(VECTORS.works)
    expect(stampWork(key.id, VECTORS.eightBits)).toBe(VECTORS.eightBitsWork)
    expect(stampWork(key.id, VECTORS.twelveBits)).toBeGreaterThanOrEqual(12)
    expect(stampWork(other.id, VECTORS.eightBits)).toBe(VECTORS.otherStationWorkAt82)
  })

  it('mint the first nonce with enough work, reporting progress', async () => {
    const progress: Array<[number, number]> = []
    const nonce = await mintStamp(key.id, { bits: 8, yieldTurn: now, yieldEveryMs: 0, onProgress: (tried, expected) => progress.push([tried, expected]) })
    expect(nonce).toBe(VECTORS.eightBits)
    expect(progress.at(-1)).toEqual([VECTORS.eightBits + 1, 256])
    expect(progress.length).toBeGreaterThan(10)
  })

  it('stop minting when aborted', async () => {
    const signal = { throwIfAborted: () => { throw new Error('closed the page') } }
    await expect(mintStamp(key.id, { bits: 8, yieldTurn: now, signal })).rejects.toThrow('closed the page')
  })

  it('verify against the required bits: too cheap, for another key, or not a nonce fails', () => {
    requireStampBits(8)
    expect(requiredStampBits()).toBe(8)
    expect(verifyStamp(key.id, VECTORS.eightBits)).toBe(true)
    expect(verifyStamp(key.id, 0)).toBe(false)
    expect(verifyStamp(other.id, VECTORS.eightBits)).toBe(false)
    expect(verifyStamp(key.id, VECTORS.eightBits, 12)).toBe(false)
    expect(verifyStamp(key.id, VECTORS.twelveBits, 12)).toBe(true)
    for (const junk of [-1, 1.5, Number.NaN, 2 ** 60]) expect(verifyStamp(key.id, junk)).toBe(false)
    expect(verifyStamp('not-a-station', VECTORS.eightBits)).toBe(false)
  })

  it('are checked by every record verification', () => {
    requireStampBits(8)
    const manifest = buildManifest(key.id, DRAFT, { seq: 1, now: T0 })
    expect(verifyManifest(signManifest(manifest, key, VECTORS.eightBits).record, { now: T0 }).ok).toBe(true)
    const cheap = verifyManifest(signManifest(manifest, key, 0).record, { now: T0 })
    expect(cheap.ok || cheap.error.name).toBe('StampError')
    // Only a record this process stored after verifying it in full skips the stamp (a relay reloading its store).
    expect(verifyManifest(signManifest(manifest, key, 0).record, { now: T0, stampVerifiedBefore: true }).ok).toBe(true)
    // A stamp paid for another key does not carry over.
    const otherManifest = buildManifest(other.id, DRAFT, { seq: 1, now: T0 })
    const reused = verifyManifest(signManifest(otherManifest, other, VECTORS.eightBits).record, { now: T0 })
    expect(reused.ok || reused.error.name).toBe('StampError')
  })

  it('refuse a policy out of range', () => {
    expect(() => { requireStampBits(STAMP.maxBits + 1) }).toThrow(RangeError)
    expect(() => { requireStampBits(-1) }).toThrow(RangeError)
  })
})
