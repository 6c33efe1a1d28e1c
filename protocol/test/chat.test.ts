import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  CHAT_BURST, CHAT_MAX_CHARS, CHAT_MAX_SENDERS, CHAT_MAX_SKEW_MS, CHAT_REFILL_MS, CHAT_REFUSALS, ChatGate, decodeChat, encodeChat,
  MAX_CHAT_BYTES, sanitizeLine, stationKeyFromSeed, type ChatGateInit, type ChatMessage, type ChatRefusal, type ChatVerdict, type StationKey
} from '../src/index.ts'
import { encodeCanonical } from '../src/cbor.ts'
import { DOMAIN } from '../src/constants.ts'
import { signWithDomain } from '../src/identity.ts'
import { seed, T0 } from './fixtures/draft.ts'

const station = stationKeyFromSeed(seed(21))
const [alice, bob, carol, dan, eve] = [22, 23, 24, 25, 26].map((n) => stationKeyFromSeed(seed(n))) as [StationKey, StationKey, StationKey, StationKey, StationKey]
const room = station.id

/** A caller's message to the station. */
const say = (from: StationKey, n: number, at = T0, text = `message ${n}`): Uint8Array => encodeChat(from, { room, to: room, n, at, text })

/** An envelope signed exactly as given, without sanitizing or addressing rules: what a hostile caller could send. */
function signedRaw (from: StationKey, fields: Record<string, unknown>, domain: string = DOMAIN.chat, v = 1): Uint8Array {
  const b = encodeCanonical({ room, from: from.id, to: room, n: 1, at: T0, text: 'hi', ...fields })
  return encodeCanonical({ v, b, s: signWithDomain(domain, b, from.secretKey) })
}

/** A gate on a clock the test moves. */
function gateAt (init: ChatGateInit = {}): { gate: ChatGate, clock: { t: number } } {
  const clock = { t: T0 }
  return { gate: new ChatGate(room, { now: () => clock.t, ...init }), clock }
}

const refusal = (verdict: ChatVerdict): { reason: ChatRefusal, n?: number } | 'accepted' =>
  verdict.ok ? 'accepted' : verdict.n === undefined ? { reason: verdict.reason } : { reason: verdict.reason, n: verdict.n }

describe('chat messages', () => {
  it('round-trip from a caller to the station, and from the station to one caller or to all', () => {
    const messages: ChatMessage[] = [
      { room, from: alice.id, to: room, n: 1, at: T0, text: 'Can I ask about the bridge closure?' },
      { room, from: station.id, to: alice.id, n: 7, at: T0 + 1, text: 'You are next, 30 seconds 🎙️' },
      { room, from: station.id, to: 'all', n: 8, at: T0 + 2, text: '日本語 and Café' }
    ]
    for (const { from, ...message } of messages) {
      const signer = from === station.id ? station : alice
      expect(decodeChat(encodeChat(signer, message), room)).toEqual({ ok: true, value: { ...message, from } })
    }
  })

  it('sanitizes the text before signing: one line, no control or format characters, single spaces', () => {
    const text = '  line one\r\nline two\u0000\tend \u202Eevil\u200B\u2028next  '
    const decoded = decodeChat(encodeChat(alice, { room, to: room, n: 1, at: T0, text }), room)
    expect(decoded.ok && decoded.value.text).toBe('line one line two end evil next')
    const long = decodeChat(encodeChat(alice, { room, to: room, n: 1, at: T0, text: 'a'.repeat(CHAT_MAX_CHARS + 100) }), room)
    expect(long.ok && long.value.text).toHaveLength(CHAT_MAX_CHARS)
  })

  it('signs any text as its sanitized form, or refuses it as empty or too large', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 700 }), (text) => {
      const clean = sanitizeLine(text, CHAT_MAX_CHARS)
      let bytes: Uint8Array
      try {
        bytes = encodeChat(alice, { room, to: room, n: 1, at: T0, text })
      } catch (err) {
        expect((err as Error).name).toBe(clean === '' ? 'MalformedError' : 'TooLargeError')
        return
      }
      expect(bytes.length).toBeLessThanOrEqual(MAX_CHAT_BYTES)
      expect(decodeChat(bytes, room)).toEqual({ ok: true, value: { room, from: alice.id, to: room, n: 1, at: T0, text: clean } })
    }), { numRuns: 100 })
  })

  it('fits 500 characters of any kind, emoji included', () => {
    for (const char of ['語', '🎙']) {
      const bytes = encodeChat(station, { room, to: alice.id, n: Number.MAX_SAFE_INTEGER, at: Number.MAX_SAFE_INTEGER, text: char.repeat(CHAT_MAX_CHARS) })
      expect(bytes.length).toBeLessThanOrEqual(MAX_CHAT_BYTES)
    }
  })

  it('refuses to sign an empty text, a zero count, or a caller writing to anyone but the station', () => {
    const malformed = expect.objectContaining({ name: 'MalformedError' })
    expect(() => encodeChat(alice, { room, to: room, n: 1, at: T0, text: ' \u0000\n\u202E ' })).toThrow(malformed)
    expect(() => encodeChat(alice, { room, to: room, n: 0, at: T0, text: 'hi' })).toThrow(malformed)
    expect(() => encodeChat(alice, { room, to: 'all', n: 1, at: T0, text: 'hi' })).toThrow(malformed)
    expect(() => encodeChat(alice, { room, to: bob.id, n: 1, at: T0, text: 'hi' })).toThrow(malformed)
    expect(() => encodeChat(alice, { room, to: 'everyone', n: 1, at: T0, text: 'hi' })).toThrow(malformed)
  })

  it('decodes to a typed error, never a throw: tampering, another room, another domain or version, unsanitized text, garbage', () => {
    const bytes = say(alice, 1)
    fc.assert(fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, delta) => {
      const tampered = Uint8Array.from(bytes)
      tampered[i] = ((tampered[i] as number) + delta) & 0xff
      expect(decodeChat(tampered, room).ok).toBe(false)
    }), { numRuns: 300 })
    fc.assert(fc.property(fc.uint8Array({ maxLength: MAX_CHAT_BYTES + 16 }), (garbage) => {
      expect(decodeChat(garbage, room).ok).toBe(false)
    }), { numRuns: 300 })
    const errorOf = (b: Uint8Array, r = room): string | undefined => { const d = decodeChat(b, r); return d.ok ? undefined : d.error.name }
    expect(errorOf(bytes, bob.id)).toBe('WrongStationError')
    expect(errorOf(new Uint8Array(MAX_CHAT_BYTES + 1))).toBe('TooLargeError')
    expect(errorOf(signedRaw(alice, {}, DOMAIN.room))).toBe('BadSignatureError')
    expect(errorOf(signedRaw(alice, {}))).toBeUndefined()
    expect(errorOf(signedRaw(alice, {}, DOMAIN.chat, 2))).toBe('UnsupportedVersionError')
    expect(errorOf(signedRaw(alice, { extra: 1 }))).toBe('MalformedError')
    expect(errorOf(signedRaw(alice, { n: 0 }))).toBe('MalformedError')
    expect(errorOf(signedRaw(alice, { text: '' }))).toBe('MalformedError')
    expect(errorOf(signedRaw(alice, { text: 'two\nlines' }))).toBe('MalformedError')
    expect(errorOf(signedRaw(alice, { text: 'bell\u0007' }))).toBe('MalformedError')
    expect(errorOf(signedRaw(alice, { text: 'abc\u202Eevil' }))).toBe('MalformedError')
    expect(errorOf(signedRaw(alice, { text: ' padded' }))).toBe('MalformedError')
    expect(errorOf(signedRaw(alice, { text: 'a'.repeat(CHAT_MAX_CHARS) }))).toBeUndefined()
    expect(errorOf(signedRaw(alice, { text: 'a'.repeat(CHAT_MAX_CHARS + 1) }))).toBe('MalformedError')
  })
})

describe('ChatGate', () => {
  /** The last byte of the signature: the envelope ends with the `v` entry (0x61 0x76 0x01) after it. */
  const withBadSignature = (bytes: Uint8Array): Uint8Array => {
    const out = Uint8Array.from(bytes)
    out[out.length - 4] = (out[out.length - 4] as number) ^ 0x01
    return out
  }

  interface Case { reason: ChatRefusal, n?: number, judge: (gate: ChatGate) => ChatVerdict }
  const cases: Record<string, Case> = {
    'oversize bytes': { reason: 'too-large', judge: (g) => g.judge(new Uint8Array(MAX_CHAT_BYTES + 1), alice.id) },
    'garbage bytes': { reason: 'malformed', judge: (g) => g.judge(Uint8Array.of(0xa3, 1, 2, 3), alice.id) },
    'another room': { reason: 'malformed', judge: (g) => g.judge(encodeChat(alice, { room: bob.id, to: bob.id, n: 5, at: T0, text: 'hi' }), alice.id) },
    'unsanitized text': { reason: 'malformed', judge: (g) => g.judge(signedRaw(alice, { n: 5, text: 'two\nlines' }), alice.id) },
    'a flipped signature byte': { reason: 'forged', judge: (g) => g.judge(withBadSignature(say(alice, 5)), alice.id) },
    'another peer\'s message on this stream': { reason: 'forged', n: 5, judge: (g) => g.judge(say(bob, 5), alice.id) },
    'a caller writing to all': { reason: 'forged', n: 5, judge: (g) => g.judge(signedRaw(alice, { n: 5, to: 'all' }), alice.id) },
    'a caller writing to another caller': { reason: 'forged', n: 5, judge: (g) => g.judge(signedRaw(alice, { n: 5, to: bob.id }), alice.id) },
    'a count already used': { reason: 'replayed', n: 4, judge: (g) => g.judge(say(alice, 4), alice.id) },
    'an older count': { reason: 'replayed', n: 2, judge: (g) => g.judge(say(alice, 2), alice.id) },
    'a stale time': { reason: 'replayed', n: 5, judge: (g) => g.judge(say(alice, 5, T0 - CHAT_MAX_SKEW_MS - 1), alice.id) },
    'a future time': { reason: 'replayed', n: 5, judge: (g) => g.judge(say(alice, 5, T0 + CHAT_MAX_SKEW_MS + 1), alice.id) },
    'a silenced sender': {
      reason: 'silenced',
      n: 5,
      judge: (g) => {
        g.silence(alice.id)
        const verdict = g.judge(say(alice, 5), alice.id)
        g.unsilence(alice.id)
        return verdict
      }
    }
  }

  it.each(Object.entries(cases))('refuses %s, and changes neither the count nor the rate', (_, { reason, n, judge }) => {
    const { gate } = gateAt()
    // Four of the five messages of a burst: the count is 4, one message is left.
    for (let i = 1; i <= CHAT_BURST - 1; i++) expect(gate.judge(say(alice, i), alice.id).ok).toBe(true)
    expect(refusal(judge(gate))).toEqual(n === undefined ? { reason } : { reason, n })
    expect(gate.refusals).toEqual({ [reason]: 1 })
    // The next count still passes, and it takes the last message of the burst: the refused one took none.
    expect(gate.judge(say(alice, CHAT_BURST), alice.id)).toEqual({ ok: true, message: expect.objectContaining({ from: alice.id, n: CHAT_BURST }) })
    expect(refusal(gate.judge(say(alice, CHAT_BURST + 1), alice.id))).toEqual({ reason: 'too-fast', n: CHAT_BURST + 1 })
  })

  it('passes a message on its sender\'s stream with the verified message', () => {
    const { gate } = gateAt()
    expect(gate.judge(say(alice, 1, T0, ' hello\u0000 '), alice.id)).toEqual({ ok: true, message: { room, from: alice.id, to: room, n: 1, at: T0, text: 'hello' } })
    expect(gate.judge(say(alice, 3, T0 + CHAT_MAX_SKEW_MS), alice.id).ok).toBe(true)
    expect(gate.judge(say(alice, 4, T0 - CHAT_MAX_SKEW_MS), alice.id).ok).toBe(true)
    // The station may write to anyone (the gate judges what it is given).
    expect(gate.judge(encodeChat(station, { room, to: 'all', n: 1, at: T0, text: 'We are live' }), station.id).ok).toBe(true)
    expect(gate.judge(encodeChat(station, { room, to: alice.id, n: 2, at: T0, text: 'You are next' }), station.id).ok).toBe(true)
    expect(gate.refusals).toEqual({})
  })

  it('allows a burst, then one message per refill, per sender', () => {
    const { gate, clock } = gateAt()
    for (let n = 1; n <= CHAT_BURST; n++) expect(gate.judge(say(alice, n), alice.id).ok).toBe(true)
    expect(refusal(gate.judge(say(alice, CHAT_BURST + 1), alice.id))).toEqual({ reason: 'too-fast', n: CHAT_BURST + 1 })
    // Another sender has its own bucket.
    expect(gate.judge(say(bob, 1), bob.id).ok).toBe(true)
    clock.t += CHAT_REFILL_MS - 1
    expect(refusal(gate.judge(say(alice, 6, clock.t), alice.id))).toEqual({ reason: 'too-fast', n: 6 })
    clock.t += 1
    expect(gate.judge(say(alice, 6, clock.t), alice.id).ok).toBe(true)
    expect(refusal(gate.judge(say(alice, 7, clock.t), alice.id))).toEqual({ reason: 'too-fast', n: 7 })
    // A long quiet fills the bucket up to the burst, no further.
    clock.t += 100 * CHAT_REFILL_MS
    for (let n = 7; n < 7 + CHAT_BURST; n++) expect(gate.judge(say(alice, n, clock.t), alice.id).ok).toBe(true)
    expect(refusal(gate.judge(say(alice, 7 + CHAT_BURST, clock.t), alice.id))).toEqual({ reason: 'too-fast', n: 7 + CHAT_BURST })
    expect(gate.refusals).toEqual({ 'too-fast': 4 })
  })

  it('takes its burst and refill from its init', () => {
    const { gate, clock } = gateAt({ burst: 2, refillMs: 500 })
    expect([1, 2, 3].map((n) => gate.judge(say(alice, n), alice.id).ok)).toEqual([true, true, false])
    clock.t += 500
    expect(gate.judge(say(alice, 3, clock.t), alice.id).ok).toBe(true)
    expect(() => new ChatGate(room, { burst: 0 })).toThrow(RangeError)
    expect(() => new ChatGate(room, { refillMs: 0 })).toThrow(RangeError)
    expect(() => new ChatGate(room, { maxSenders: 0 })).toThrow(RangeError)
    expect(() => new ChatGate('not a station')).toThrow(expect.objectContaining({ name: 'InvalidStationIdError' }))
  })

  it('keeps a sender silenced until the producer unsilences it, across forget', () => {
    const { gate } = gateAt()
    expect(gate.judge(say(alice, 1), alice.id).ok).toBe(true)
    gate.silence(alice.id)
    expect(gate.isSilenced(alice.id)).toBe(true)
    expect(gate.isSilenced(bob.id)).toBe(false)
    expect(refusal(gate.judge(say(alice, 2), alice.id))).toEqual({ reason: 'silenced', n: 2 })
    expect(gate.judge(say(bob, 1), bob.id).ok).toBe(true)
    gate.forget(alice.id)
    expect(refusal(gate.judge(say(alice, 2), alice.id))).toEqual({ reason: 'silenced', n: 2 })
    gate.unsilence(alice.id)
    expect(gate.isSilenced(alice.id)).toBe(false)
    // Forgotten: a new call's count starts afresh.
    expect(gate.judge(say(alice, 1), alice.id).ok).toBe(true)
    expect(gate.refusals).toEqual({ silenced: 2 })
  })

  it('tracks at most maxSenders, forgetting the least recently heard', () => {
    const { gate } = gateAt({ maxSenders: 3 })
    for (const key of [alice, bob, carol]) expect(gate.judge(say(key, 1), key.id).ok).toBe(true)
    // Bob is heard again: Alice is now the least recently heard.
    expect(gate.judge(say(bob, 2), bob.id).ok).toBe(true)
    expect(gate.judge(say(dan, 1), dan.id).ok).toBe(true)
    expect(gate.tracked).toBe(3)
    expect(gate.judge(say(eve, 1), eve.id).ok).toBe(true)
    expect(gate.tracked).toBe(3)
    // Alice and Carol went, their counts with them; Bob's and Dan's stay.
    expect(refusal(gate.judge(say(bob, 2), bob.id))).toEqual({ reason: 'replayed', n: 2 })
    expect(refusal(gate.judge(say(dan, 1), dan.id))).toEqual({ reason: 'replayed', n: 1 })
    expect(gate.judge(say(alice, 1), alice.id).ok).toBe(true)
    expect(gate.tracked).toBe(3)
  })

  it(`tracks at most ${CHAT_MAX_SENDERS} senders by default`, () => {
    const { gate } = gateAt()
    const keys = Array.from({ length: CHAT_MAX_SENDERS + 1 }, (_, i) => stationKeyFromSeed(Uint8Array.of(i & 0xff, i >> 8, ...new Uint8Array(30).fill(0x5a))))
    for (const key of keys) expect(gate.judge(say(key, 1), key.id).ok).toBe(true)
    expect(gate.tracked).toBe(CHAT_MAX_SENDERS)
    expect(gate.judge(say(keys[0] as StationKey, 1), (keys[0] as StationKey).id).ok).toBe(true)
    expect(refusal(gate.judge(say(keys[CHAT_MAX_SENDERS] as StationKey, 1), (keys[CHAT_MAX_SENDERS] as StationKey).id))).toEqual({ reason: 'replayed', n: 1 })
  })

  it('never throws on arbitrary bytes, and refuses them as too large or malformed', () => {
    const { gate } = gateAt()
    fc.assert(fc.property(fc.uint8Array({ maxLength: MAX_CHAT_BYTES + 64 }), (bytes) => {
      const verdict = gate.judge(bytes, alice.id)
      expect(verdict.ok).toBe(false)
      expect(verdict.ok || verdict.reason).toBe(bytes.length > MAX_CHAT_BYTES ? 'too-large' : 'malformed')
    }), { numRuns: 300 })
    expect(Object.keys(gate.refusals).every((r) => (CHAT_REFUSALS as readonly string[]).includes(r))).toBe(true)
  })

  it('accepts counts in increasing order only, and never more than the burst plus the refills', () => {
    const messages = Array.from({ length: 12 }, (_, i) => say(alice, i + 1))
    fc.assert(fc.property(fc.array(fc.record({ n: fc.integer({ min: 1, max: 12 }), dt: fc.integer({ min: 0, max: 3 * CHAT_REFILL_MS }) }), { maxLength: 30 }), (steps) => {
      const { gate, clock } = gateAt({ maxSkewMs: Number.MAX_SAFE_INTEGER })
      const accepted: Array<{ n: number, t: number }> = []
      for (const { n, dt } of steps) {
        clock.t += dt
        const verdict = gate.judge(messages[n - 1] as Uint8Array, alice.id)
        if (verdict.ok) accepted.push({ n, t: clock.t })
        else expect(['replayed', 'too-fast']).toContain(verdict.reason)
      }
      accepted.forEach((a, i) => {
        if (i > 0) expect(a.n).toBeGreaterThan((accepted[i - 1] as { n: number }).n)
        for (let j = i; j < accepted.length; j++) {
          expect(j - i + 1).toBeLessThanOrEqual(CHAT_BURST + Math.floor(((accepted[j] as { t: number }).t - a.t) / CHAT_REFILL_MS))
        }
      })
    }), { numRuns: 100 })
  })
})
