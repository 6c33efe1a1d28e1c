import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { base64url } from 'multiformats/bases/base64'
import { createInvite, stationKeyFromSeed, verifyInvite, type InviteResult } from '../src/index.ts'
import vectors from './fixtures/vectors.json'
import { HOUR, seed, T0 } from './fixtures/draft.ts'

const key = stationKeyFromSeed(seed(1))
const other = stationKeyFromSeed(seed(2))
const nonce = new Uint8Array(16).fill(9)
const reason = (r: InviteResult): string => r.ok ? 'ok' : r.reason

describe('invite tokens', () => {
  it('creates the known-answer token', () => {
    const token = createInvite(key, { role: 'caller', expiresAt: T0 + HOUR, nonce, label: 'Line 1' })
    expect(token).toBe(vectors.invite.token)
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(token.length).toBeLessThan(250)
  })

  it('verifies to the invite it was made from', () => {
    const result = verifyInvite(vectors.invite.token, { stationId: key.id, now: T0 })
    expect(result).toEqual({ ok: true, invite: { stationId: key.id, role: 'caller', expiresAt: T0 + HOUR, nonce, label: 'Line 1' } })
    const host = verifyInvite(createInvite(key, { role: 'host', expiresAt: T0 + HOUR, nonce }), { stationId: key.id, now: T0 })
    expect(host.ok && host.invite.role).toBe('host')
  })

  it('reports expired, wrong station, bad signature and malformed tokens', () => {
    const token = createInvite(key, { role: 'caller', expiresAt: T0 + HOUR, nonce })
    expect(reason(verifyInvite(token, { stationId: key.id, now: T0 + HOUR }))).toBe('expired')
    expect(reason(verifyInvite(token, { stationId: other.id, now: T0 }))).toBe('wrong-station')
    expect(reason(verifyInvite('not a token!', { stationId: key.id, now: T0 }))).toBe('malformed')
    expect(reason(verifyInvite('x'.repeat(5000), { stationId: key.id, now: T0 }))).toBe('malformed')
    expect(reason(verifyInvite(undefined, { stationId: key.id, now: T0 }))).toBe('malformed')
  })

  it('rejects a token re-signed by another key for this station', () => {
    // Take other's valid token and splice in this station's id: the signature no longer matches.
    const bytes = base64url.baseDecode(createInvite(other, { role: 'host', expiresAt: T0 + HOUR, nonce }))
    const ownBytes = base64url.baseDecode(createInvite(key, { role: 'host', expiresAt: T0 + HOUR, nonce }))
    const spliced = Uint8Array.from(ownBytes)
    spliced.set(bytes.subarray(bytes.length - 64), spliced.length - 64)
    expect(reason(verifyInvite(base64url.baseEncode(spliced), { stationId: key.id, now: T0 }))).toBe('bad-signature')
  })

  it('fails after any single-byte change, and never throws', () => {
    const bytes = base64url.baseDecode(vectors.invite.token)
    fc.assert(fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, delta) => {
      const tampered = Uint8Array.from(bytes)
      tampered[i] = ((tampered[i] as number) + delta) & 0xff
      expect(verifyInvite(base64url.baseEncode(tampered), { stationId: key.id, now: T0 }).ok).toBe(false)
    }), { numRuns: 300 })
    fc.assert(fc.property(fc.string({ maxLength: 600 }), (s) => {
      expect(verifyInvite(s, { stationId: key.id, now: T0 }).ok).toBe(false)
    }), { numRuns: 300 })
  })

  it('lasts at most a week: a longer one cannot be made, and a token claiming one is refused', () => {
    const WEEK = 7 * 24 * HOUR
    expect(() => createInvite(key, { role: 'host', expiresAt: T0 + WEEK + 1, nonce, now: T0 })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    const week = createInvite(key, { role: 'host', expiresAt: T0 + WEEK, nonce, now: T0 })
    expect(verifyInvite(week, { stationId: key.id, now: T0 }).ok).toBe(true)
    // Verified a minute earlier than it was made, the same token is more than a week ahead.
    expect(verifyInvite(week, { stationId: key.id, now: T0 - 60_000 })).toMatchObject({ ok: false, reason: 'malformed' })
  })

  it('refuses out-of-range fields when creating', () => {
    expect(() => createInvite(key, { role: 'caller', expiresAt: T0, nonce: new Uint8Array(3) })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(() => createInvite(key, { role: 'caller', expiresAt: T0, nonce, label: 'x'.repeat(65) })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
  })
})
