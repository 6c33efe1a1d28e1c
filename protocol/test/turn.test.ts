import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  decodeTurnRequest, decodeTurnResponse, encodeTurnRequest, encodeTurnResponse, generateStationKey, isIceUrl,
  MAX_CALL_PASS_CHARS, MAX_INVITE_CHARS, MAX_TURN_MESSAGE_BYTES, turnCredentials, TURN_REFUSALS, type TurnResponse
} from '../src/index.ts'
import { encodeCanonical } from '../src/cbor.ts'

const secret = new TextEncoder().encode('north-pole-secret')

describe('TURN credentials', () => {
  it('match the coturn REST-API scheme (known answer)', () => {
    const c = turnCredentials(secret, { name: '12D3KooWcaller', now: 1_800_000_000, ttlSeconds: 600 })
    expect(c.username).toBe('1800000600:12D3KooWcaller')
    expect(c.expiresAt).toBe(1_800_000_600)
    // base64(HMAC-SHA1("north-pole-secret", "1800000600:12D3KooWcaller")), computed with openssl:
    // printf '1800000600:12D3KooWcaller' | openssl dgst -sha1 -hmac north-pole-secret -binary | base64
    expect(c.credential).toBe('Q14Xe1KEEBMu4zGRGoE08BfJxtM=')
  })

  it('refuses an empty secret and names with a colon', () => {
    expect(() => turnCredentials(new Uint8Array(), { name: 'x', now: 0 })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(() => turnCredentials(secret, { name: 'a:b', now: 0 })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
  })
})

describe('/openstudio/turn/1 messages', () => {
  const room = generateStationKey().id
  const grant: TurnResponse = {
    ok: true,
    iceServers: [{ urls: ['turn:127.0.0.1:3478?transport=udp', 'turns:turn.example.org:5349'], username: '1800000600:12D3KooWcaller', credential: 'Q14Xe1KEEBMu4zGRGoE08BfJxtM=' }],
    expiresAt: 1_800_000_600
  }
  const expectTyped = (f: () => unknown): void => {
    expect(f).toThrow(expect.objectContaining({ name: expect.stringMatching(/^(MalformedError|TooLargeError)$/) }))
  }

  it('round-trips requests, grants and refusals', () => {
    expect(decodeTurnRequest(encodeTurnRequest({ room }))).toEqual({ room })
    expect(decodeTurnRequest(encodeTurnRequest({ room, pass: 'gwFY', invite: 'gwFYVa' }))).toEqual({ room, pass: 'gwFY', invite: 'gwFYVa' })
    expect(decodeTurnResponse(encodeTurnResponse(grant))).toEqual(grant)
    for (const reason of TURN_REFUSALS) {
      expect(decodeTurnResponse(encodeTurnResponse({ ok: false, reason }))).toEqual({ ok: false, reason })
    }
  })

  it('refuses requests that are not one valid station id', () => {
    const bounded = [{ room, pass: 'x'.repeat(MAX_CALL_PASS_CHARS + 1) }, { room, invite: 'x'.repeat(MAX_INVITE_CHARS + 1) }, { room, pass: '' }, { room, pass: 7 }]
    for (const value of [{}, { room: 'not-a-station' }, { room, extra: 1 }, { room: 42 }, [room], room, null, ...bounded]) {
      expectTyped(() => decodeTurnRequest(encodeCanonical(value)))
    }
    expect(() => encodeTurnRequest({ room: 'nope' })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(() => decodeTurnRequest(new Uint8Array(MAX_TURN_MESSAGE_BYTES + 1))).toThrow(expect.objectContaining({ name: 'TooLargeError' }))
  })

  it('refuses bad responses: unknown reasons, bad URLs, extra fields, non-canonical bytes', () => {
    const bad: unknown[] = [
      { ok: false, reason: 'because' },
      { ok: false },
      { ok: true, iceServers: [], expiresAt: 1 },
      { ok: true, iceServers: [{ ...grant.iceServers[0], urls: ['http://evil.example/'] }], expiresAt: 1 },
      { ok: true, iceServers: [{ ...grant.iceServers[0], urls: ['turn:a b'] }], expiresAt: 1 },
      { ok: true, iceServers: grant.iceServers, expiresAt: -1 },
      { ok: true, iceServers: grant.iceServers, expiresAt: 1, extra: true },
      { ok: 'yes', iceServers: grant.iceServers, expiresAt: 1 },
      { ok: true, iceServers: [{ ...grant.iceServers[0], credential: 'x'.repeat(200) }], expiresAt: 1 }
    ]
    for (const value of bad) expectTyped(() => decodeTurnResponse(encodeCanonical(value)))
    // The same map with its keys out of canonical order.
    expectTyped(() => decodeTurnResponse(new Uint8Array([0xa2, 0x66, ...new TextEncoder().encode('reason'), 0x6b, ...new TextEncoder().encode('unavailable'), 0x62, 0x6f, 0x6b, 0xf4])))
    fc.assert(fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      try {
        decodeTurnResponse(bytes)
        decodeTurnRequest(bytes)
      } catch (err) {
        expect(['MalformedError', 'TooLargeError']).toContain((err as Error).name)
      }
    }), { numRuns: 300 })
  })

  it('knows ICE server URLs', () => {
    for (const url of ['turn:127.0.0.1:3478?transport=udp', 'turn:[::1]:3478', 'turns:turn.example.org:5349?transport=tcp', 'stun:stun.example.org']) expect(isIceUrl(url), url).toBe(true)
    for (const url of ['http://x', 'turn:', 'turn:host?transport=sctp', 'turn:user@host', 'turn:host/path', `turn:${'a'.repeat(300)}`]) expect(isIceUrl(url), url).toBe(false)
  })
})
