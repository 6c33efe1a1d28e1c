import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { base64url } from 'multiformats/bases/base64'
import {
  CALL_PASS_TTL_MS, createCallPass, createInvite, DOMAIN, MAX_CALL_PASS_CHARS, stationKeyFromSeed, verifyCallPass, type CallPassResult
} from '../src/index.ts'
import { decodeCanonical, encodeCanonical } from '../src/cbor.ts'
import { signWithDomain, stationIdToBytes } from '../src/identity.ts'
import { seed, T0 } from './fixtures/draft.ts'

const key = stationKeyFromSeed(seed(1))
const other = stationKeyFromSeed(seed(2))
const caller = stationKeyFromSeed(seed(3)).id
const stranger = stationKeyFromSeed(seed(4)).id
const expiresAt = T0 + CALL_PASS_TTL_MS
const reason = (r: CallPassResult): string => r.ok ? 'ok' : r.reason
const check = (token: unknown, init: Partial<{ stationId: string, peer: string, now: number }> = {}): CallPassResult =>
  verifyCallPass(token, { stationId: key.id, peer: caller, now: T0, ...init })

/** Signed with the station key of seed(1) for the peer of seed(3), expiring T0 + 15 min; Ed25519 is deterministic. */
const KNOWN_PASS = 'gwFYYKNhZRsAAAGh_ggBoGFwWCYAJAgBEiDtSSjGKNHCxurpAziQWZVhKVknOlxj-TY2wUYUrIc30WFzWCYAJAgBEiCKiOPddAnxlf1S2y08ul1yymcJvx2UEhvzdIgBtA9vXFhAus_TKpt0VoL5_FTF_XzC8q8KprnbsTOq0nL9TI6kZ5SAxk1B1Cj4fHL0nRCkeHLppGu6Bu1_iMTsX-CFguheBQ'

describe('call passes', () => {
  it('creates the known-answer pass, and it verifies to what it was made from', () => {
    const token = createCallPass(key, { peer: caller, expiresAt })
    expect(token).toBe(KNOWN_PASS)
    expect(token).toMatch(/^[A-Za-z0-9_-]+$/)
    expect(token.length).toBeLessThanOrEqual(MAX_CALL_PASS_CHARS)
    expect(check(token)).toEqual({ ok: true, pass: { stationId: key.id, peer: caller, expiresAt } })
  })

  it('names peers of every key type libp2p prints', () => {
    for (const peer of ['QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N', '16Uiu2HAmLhLvBoYaoZfaMUKuibM6ac163GwKY74c5kiSLg5KvLpY']) {
      const token = createCallPass(key, { peer, expiresAt })
      expect(token.length).toBeLessThanOrEqual(MAX_CALL_PASS_CHARS)
      expect(reason(check(token, { peer }))).toBe('ok')
      expect(reason(check(token))).toBe('wrong-peer')
    }
  })

  it('is worth nothing to another peer, for another station, or once expired', () => {
    expect(reason(check(KNOWN_PASS, { peer: stranger }))).toBe('wrong-peer')
    expect(reason(check(KNOWN_PASS, { stationId: other.id }))).toBe('wrong-station')
    expect(reason(check(KNOWN_PASS, { now: expiresAt }))).toBe('expired')
    expect(reason(check(KNOWN_PASS, { now: expiresAt - 1 }))).toBe('ok')
  })

  it('does not verify when signed by another key, or under another domain', () => {
    const payload = encodeCanonical({ s: stationIdToBytes(key.id), p: stationIdToBytes(caller), e: expiresAt })
    const sign = (domain: string, secretKey: Uint8Array): string =>
      base64url.baseEncode(encodeCanonical([1, payload, signWithDomain(domain, payload, secretKey)]))
    expect(sign(DOMAIN.callPass, key.secretKey)).toBe(KNOWN_PASS)
    // The station's payload signed by another key: the signature does not match.
    expect(reason(check(sign(DOMAIN.callPass, other.secretKey)))).toBe('bad-signature')
    // An invite's or a room message's signature by the right key does not make a pass.
    expect(reason(check(sign(DOMAIN.invite, key.secretKey)))).toBe('bad-signature')
    expect(reason(check(sign(DOMAIN.room, key.secretKey)))).toBe('bad-signature')
  })

  it('fails after any flipped bit', () => {
    const bytes = base64url.baseDecode(KNOWN_PASS)
    fc.assert(fc.property(fc.nat({ max: bytes.length * 8 - 1 }), (bit) => {
      const flipped = Uint8Array.from(bytes)
      flipped[bit >> 3] = (flipped[bit >> 3] as number) ^ (1 << (bit & 7))
      expect(check(base64url.baseEncode(flipped)).ok).toBe(false)
    }), { numRuns: bytes.length * 8 })
  })

  it('refuses oversized, garbage and wrong-version tokens, and an invite, as malformed', () => {
    expect(reason(check('A'.repeat(MAX_CALL_PASS_CHARS + 1)))).toBe('malformed')
    expect(reason(check(`${KNOWN_PASS}${'A'.repeat(MAX_CALL_PASS_CHARS)}`))).toBe('malformed')
    for (const garbage of ['', 'not a pass!', '====', 'gw', undefined, null, 42, {}, new Uint8Array(8)]) {
      expect(reason(check(garbage)), String(garbage)).toBe('malformed')
    }
    const [, payload, sig] = decodeCanonical(base64url.baseDecode(KNOWN_PASS), 'pass', 1024) as [number, Uint8Array, Uint8Array]
    expect(reason(check(base64url.baseEncode(encodeCanonical([2, payload, sig]))))).toBe('malformed')
    expect(reason(check(createInvite(key, { role: 'caller', expiresAt, nonce: new Uint8Array(16) })))).toBe('malformed')
  })

  it('refuses to sign for something that is not a peer id', () => {
    for (const peer of ['', 'not a peer id', '0OIl', '1', caller.repeat(2), `${caller} `]) {
      expect(() => createCallPass(key, { peer, expiresAt }), peer).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    }
    expect(() => createCallPass(key, { peer: caller, expiresAt: -1 })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
  })

  it('never throws, and never verifies random or mutated tokens', () => {
    const bytes = base64url.baseDecode(KNOWN_PASS)
    const mutated = fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), fc.uint8Array({ maxLength: 8 }), fc.boolean())
      .map(([i, delta, extra, truncate]) => {
        const out = Uint8Array.from(bytes)
        out[i] = ((out[i] as number) + delta) & 0xff
        return base64url.baseEncode(truncate ? out.subarray(0, i) : Uint8Array.from([...out, ...extra]))
      })
    const anyToken = fc.oneof(fc.string({ maxLength: 600 }), fc.base64String({ maxLength: 600 }), fc.uint8Array({ maxLength: 300 }).map((b) => base64url.baseEncode(b)), mutated, fc.anything())
    fc.assert(fc.property(anyToken, fc.integer({ min: 0, max: expiresAt - 1 }), (token, now) => {
      let result: CallPassResult | undefined
      expect(() => { result = check(token, { now }) }).not.toThrow()
      expect(result?.ok).toBe(false)
    }), { numRuns: 500 })
  })
})
