import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import * as dagCbor from '@ipld/dag-cbor'
import * as cborg from 'cborg'
import {
  buildManifest, createInvite, decodeManifest, encodeManifest, isOnAir, LIVE_CLAIM_TTL_MS, MAX_MANIFEST_BYTES, parseManifestDraft, signManifest,
  stationKeyFromSeed, verifyManifest, type Manifest, type Studio
} from '../src/index.ts'
import { signWithDomain } from '../src/identity.ts'
import { encodeCanonical } from '../src/cbor.ts'
import { DOMAIN, RECORD_VERSION } from '../src/constants.ts'
import vectors from './fixtures/vectors.json'
import { DRAFT, HOUR, seed, T0 } from './fixtures/draft.ts'

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
const unhex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16))
const key = stationKeyFromSeed(seed(1))
const other = stationKeyFromSeed(seed(2))
const manifest = buildManifest(key.id, DRAFT, vectors.manifest)
/** The known stamp of this key (stamp.test.ts): the record vector carries it. */
const STAMP_82 = 82
const { record } = signManifest(manifest, key, STAMP_82)

function manifestWithoutUndefined (): Record<string, unknown> {
  return Object.fromEntries(Object.entries(manifest).filter(([, v]) => v !== undefined))
}

function errorName (result: ReturnType<typeof verifyManifest>): string | undefined {
  return result.ok ? undefined : result.error.name
}

/** Signs arbitrary manifest-like content, bypassing the builder's checks. */
function forge (content: Record<string, unknown>, signer = key): Uint8Array {
  const bytes = encodeCanonical(content)
  return encodeCanonical({ v: RECORD_VERSION, manifest: bytes, sig: signWithDomain(DOMAIN.manifest, bytes, signer.secretKey), stamp: 0 })
}

describe('manifest', () => {
  it('encodes and signs to the known-answer bytes', () => {
    expect(hex(encodeManifest(manifest))).toBe(vectors.manifestBytes)
    expect(hex(record)).toBe(vectors.record)
  })

  it('verifies the known record', () => {
    const result = verifyManifest(unhex(vectors.record), { now: T0 + HOUR, stationId: key.id })
    expect(result).toEqual({ ok: true, value: manifest })
  })

  it('encodes the same manifest to the same bytes whatever the key order', () => {
    const reordered = Object.fromEntries(Object.entries(manifest).reverse()) as Manifest
    expect(encodeManifest(reordered)).toEqual(encodeManifest(manifest))
  })

  it('round-trips any valid manifest', () => {
    const draft = fc.record({
      name: fc.string({ minLength: 1, maxLength: 80 }).filter((s) => s.trim() === s && s.length > 0),
      description: fc.string({ maxLength: 1000 }),
      tags: fc.uniqueArray(fc.stringMatching(/^[a-z0-9][a-z0-9-]{0,31}$/), { maxLength: 10 }),
      language: fc.constantFrom('en', 'de', 'pt-BR', 'zh-Hant', 'sw'),
      country: fc.constantFrom('GB', 'DE', 'BR', 'KE', 'TW'),
      homepage: fc.constant('https://example.org/'),
      streams: fc.array(fc.record({
        url: fc.constantFrom('http://127.0.0.1:8000/a.ogg', 'https://x.example/b.mp3'),
        codec: fc.constantFrom('opus', 'mp3', 'aac'),
        bitrate: fc.integer({ min: 8, max: 1536 }),
        mount: fc.stringMatching(/^\/[a-z0-9]{1,20}\.ogg$/)
      }), { minLength: 1, maxLength: 8 }),
      access: fc.constantFrom('open' as const, 'invite' as const)
    })
    fc.assert(fc.property(draft, fc.nat({ max: 2 ** 40 }), (d, seq) => {
      const m = buildManifest(key.id, d, { seq, now: T0 })
      expect(decodeManifest(encodeManifest(m))).toEqual(m)
      const verified = verifyManifest(signManifest(m, key).record, { now: T0 })
      expect(verified.ok && verified.value).toEqual(m)
    }), { numRuns: 100 })
  })

  it('fails verification after any single-byte change outside the stamp', () => {
    // The stamp is not signed: another nonce with enough work is as good (stamp.test.ts checks its work).
    const stampAt = hex(record).indexOf(hex(new TextEncoder().encode('stamp'))) / 2 + 'stamp'.length
    fc.assert(fc.property(fc.nat({ max: record.length - 1 }).filter((i) => i < stampAt || i > stampAt + 1), fc.integer({ min: 1, max: 255 }), (i, delta) => {
      const tampered = Uint8Array.from(record)
      tampered[i] = ((tampered[i] as number) + delta) & 0xff
      expect(verifyManifest(tampered, { now: T0 + HOUR }).ok).toBe(false)
    }), { numRuns: 500 })
  })

  it('rejects a record signed by another key', () => {
    expect(errorName(verifyManifest(forge({ ...manifest }, other), { now: T0 }))).toBe('BadSignatureError')
  })

  it('rejects an invite signature replayed as a manifest signature', () => {
    // Domain separation: a valid station signature of another message type never verifies as a manifest.
    const bytes = encodeManifest(manifest)
    const inviteSig = signWithDomain(DOMAIN.invite, bytes, key.secretKey)
    const replay = dagCbor.encode({ v: RECORD_VERSION, manifest: bytes, sig: inviteSig, stamp: 0 })
    expect(errorName(verifyManifest(replay, { now: T0 }))).toBe('BadSignatureError')
    expect(createInvite(key, { role: 'caller', expiresAt: T0 + HOUR, nonce: new Uint8Array(16) })).not.toContain(hex(inviteSig))
  })

  it('rejects expired and future-dated manifests', () => {
    expect(errorName(verifyManifest(record, { now: manifest.expiresAt }))).toBe('ExpiredError')
    expect(errorName(verifyManifest(record, { now: T0 - HOUR }))).toBe('ExpiredError')
  })

  it('rejects a manifest for another station than asked', () => {
    expect(errorName(verifyManifest(record, { now: T0, stationId: other.id }))).toBe('WrongStationError')
  })

  it('rejects unknown versions of the record and of the manifest', () => {
    const bytes = encodeManifest(manifest)
    const newerRecord = dagCbor.encode({ v: RECORD_VERSION + 1, manifest: bytes, sig: signWithDomain(DOMAIN.manifest, bytes, key.secretKey) })
    expect(errorName(verifyManifest(newerRecord, { now: T0 }))).toBe('UnsupportedVersionError')
    expect(errorName(verifyManifest(forge({ ...manifest, v: 2 }), { now: T0 }))).toBe('UnsupportedVersionError')
  })

  it('rejects oversized records before decoding them', () => {
    const big = forge({ ...manifest, description: 'x'.repeat(20 * 1024) })
    expect(big.length).toBeGreaterThan(MAX_MANIFEST_BYTES)
    expect(errorName(verifyManifest(big, { now: T0 }))).toBe('TooLargeError')
    expect(() => buildManifest(key.id, { ...DRAFT, description: 'x'.repeat(2000) }, { seq: 1, now: T0 })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
  })

  it('rejects non-canonical encodings of a valid manifest', () => {
    // The same map with its keys in insertion order: valid CBOR, same value, different bytes.
    const unsorted = cborg.encode(manifestWithoutUndefined(), { mapSorter: () => 0 })
    expect(dagCbor.decode(unsorted)).toEqual(manifestWithoutUndefined())
    const envelope = encodeCanonical({ v: RECORD_VERSION, manifest: unsorted, sig: signWithDomain(DOMAIN.manifest, unsorted, key.secretKey), stamp: 0 })
    expect(errorName(verifyManifest(envelope, { now: T0 }))).toBe('MalformedError')
    // Indefinite-length maps are refused too.
    const indefinite = Uint8Array.from([0xbf, ...encodeManifest(manifest).subarray(1), 0xff])
    const envelope2 = encodeCanonical({ v: RECORD_VERSION, manifest: indefinite, sig: signWithDomain(DOMAIN.manifest, indefinite, key.secretKey), stamp: 0 })
    expect(errorName(verifyManifest(envelope2, { now: T0 }))).toBe('MalformedError')
  })

  it('rejects unknown fields and wrong types with a typed error', () => {
    expect(errorName(verifyManifest(forge({ ...manifest, extra: 1 }), { now: T0 }))).toBe('MalformedError')
    expect(errorName(verifyManifest(forge({ ...manifest, seq: -1 }), { now: T0 }))).toBe('MalformedError')
    expect(errorName(verifyManifest(forge({ ...manifest, id: other.id }), { now: T0 }))).toBe('BadSignatureError')
  })

  it('never throws on hostile bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
      expect(verifyManifest(bytes, { now: T0 }).ok).toBe(false)
    }), { numRuns: 500 })
    expect(verifyManifest(null as unknown as Uint8Array, { now: T0 }).ok).toBe(false)
    expect(verifyManifest(dagCbor.encode({ v: RECORD_VERSION, manifest: dagCbor.encode('x'), sig: new Uint8Array(64), stamp: 0 }), { now: T0 }).ok).toBe(false)
  })

  it('refuses to sign with a key of another station', () => {
    expect(() => signManifest(manifest, other)).toThrow(expect.objectContaining({ name: 'WrongStationError' }))
  })
})

describe('manifest draft', () => {
  it('fills defaults', () => {
    const { description: _d, tags: _t, access: _a, ...minimal } = DRAFT
    expect(parseManifestDraft(minimal)).toMatchObject({ description: '', tags: [], access: 'open' })
  })

  it('lists every failing field', () => {
    const bad = {
      ...DRAFT,
      name: '',
      tags: ['Talk', 'talk'],
      language: 'en_GB',
      country: 'XX',
      homepage: 'http://kestrel.example/',
      logo: 'https://user:pw@kestrel.example/',
      streams: [{ url: 'ftp://x/a', codec: 'OPUS', bitrate: 0, mount: 'live' }],
      access: 'secret',
      unknown: true
    }
    try {
      parseManifestDraft(bad)
      expect.unreachable()
    } catch (err) {
      expect((err as Error).name).toBe('MalformedError')
      const paths = (err as { issues: Array<{ path: string }> }).issues.map((i) => i.path)
      for (const path of ['name', 'tags.0', 'language', 'country', 'homepage', 'logo', 'streams.0.url', 'streams.0.codec', 'streams.0.bitrate', 'streams.0.mount', 'access', '']) {
        expect(paths, path).toContain(path)
      }
    }
  })

  it('caps tags, streams and relays', () => {
    const tags = Array.from({ length: 11 }, (_, i) => `t${i}`)
    expect(() => parseManifestDraft({ ...DRAFT, tags })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    const streams = Array.from({ length: 9 }, () => DRAFT.streams[0])
    expect(() => parseManifestDraft({ ...DRAFT, streams })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(() => parseManifestDraft({ ...DRAFT, streams: [] })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    const relays = Array.from({ length: 9 }, (_, i) => `/ip4/127.0.0.1/tcp/${4000 + i}/ws`)
    expect(() => buildManifest(key.id, DRAFT, { seq: 1, now: T0, relays })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(() => buildManifest(key.id, DRAFT, { seq: 1, now: T0, relays: ['not a multiaddr'] })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
  })
})

describe('on-air claims', () => {
  const key = stationKeyFromSeed(seed(1))
  const manifest = (studio?: Studio): Manifest => buildManifest(key.id, DRAFT, { seq: 1, now: T0, studio })

  it('holds only while its liveUntil has not run out', () => {
    const live = manifest({ peer: key.id, onAir: true, liveUntil: T0 + LIVE_CLAIM_TTL_MS })
    expect(isOnAir(live, T0)).toBe(true)
    expect(isOnAir(live, T0 + LIVE_CLAIM_TTL_MS - 1)).toBe(true)
    expect(isOnAir(live, T0 + LIVE_CLAIM_TTL_MS)).toBe(false)
  })

  it('is not believed without a liveUntil, or when the studio is off air, and round-trips signed', () => {
    expect(isOnAir(manifest({ peer: key.id, onAir: true }), T0)).toBe(false)
    expect(isOnAir(manifest({ peer: key.id, onAir: false, liveUntil: T0 + 1000 }), T0)).toBe(false)
    expect(isOnAir(manifest(), T0)).toBe(false)
    const signed = signManifest(manifest({ peer: key.id, onAir: true, liveUntil: T0 + 1000 }), key)
    const verified = verifyManifest(signed.record, { stationId: key.id, now: T0 })
    expect(verified.ok && verified.value.studio?.liveUntil).toBe(T0 + 1000)
  })
})
