import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  decodeStationsPage, encodeAnnouncement, encodeStationsPage, MAX_NOW_PLAYING_BYTES, NOW_PLAYING_MAX_AGE_MS, NOW_PLAYING_MAX_CHARS, sanitizeTitle,
  signNowPlaying, stationKeyFromSeed, verifyAnnouncement, verifyNowPlaying, verifyNowPlayingOrThrow, type NowPlaying
} from '../src/index.ts'
import { encodeCanonical } from '../src/cbor.ts'
import { DOMAIN } from '../src/constants.ts'
import { signWithDomain } from '../src/identity.ts'
import { seed } from './fixtures/draft.ts'

const station = stationKeyFromSeed(seed(11))
const other = stationKeyFromSeed(seed(12))
const now = 1_800_000_000_000
const statement: NowPlaying = { station: station.id, title: 'Interview: Ada Lovelace', at: now }

/** A statement signed by the station exactly as given, without sanitizing: what a hostile studio could send. */
function signedRaw (fields: Record<string, unknown>): Uint8Array {
  const np = encodeCanonical(fields)
  return encodeCanonical({ np, sig: signWithDomain(DOMAIN.nowPlaying, np, station.secretKey) })
}

describe('sanitizeTitle', () => {
  it('makes one line of plain text: no control or format characters, single spaces, trimmed', () => {
    expect(sanitizeTitle('  Line one\r\nIcy-MetaData: 0\u0000\tend  ')).toBe('Line one Icy-MetaData: 0 end')
    expect(sanitizeTitle('right\u202Eto left\u200B\u2028next')).toBe('right to left next')
    expect(sanitizeTitle('Cafe\u0301 ☕ 日本語 🎙️')).toBe('Café ☕ 日本語 🎙️')
    expect(sanitizeTitle('\u0000\u0001\n')).toBe('')
  })

  it('cuts to NOW_PLAYING_MAX_CHARS characters, never inside a surrogate pair', () => {
    expect([...sanitizeTitle('🎙'.repeat(500))]).toHaveLength(NOW_PLAYING_MAX_CHARS)
    expect(sanitizeTitle('a'.repeat(500))).toHaveLength(NOW_PLAYING_MAX_CHARS)
  })

  it('is idempotent, and its output always signs and verifies within the size bound', () => {
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 600 }), (text) => {
      const clean = sanitizeTitle(text)
      expect(sanitizeTitle(clean)).toBe(clean)
      expect([...clean].some((c) => c.charCodeAt(0) < 0x20 || c === '\u007f')).toBe(false)
      const signed = signNowPlaying({ ...statement, title: text }, station)
      expect(signed.length).toBeLessThanOrEqual(MAX_NOW_PLAYING_BYTES)
      expect(verifyNowPlaying(signed, now)).toEqual({ ok: true, value: { ...statement, title: clean } })
    }), { numRuns: 300 })
  })
})

describe('now playing statements', () => {
  it('verify by the station\'s signature and ride the directory topic and the stations page', () => {
    const signed = signNowPlaying(statement, station)
    expect(verifyNowPlaying(signed, now)).toEqual({ ok: true, value: statement })
    const announced = verifyAnnouncement(encodeAnnouncement({ type: 'now-playing', statement: signed }), now)
    expect(announced).toMatchObject({ ok: true, value: { type: 'now-playing', nowPlaying: statement } })
    expect(announced.ok && announced.value.type === 'now-playing' && new Uint8Array(announced.value.statement)).toEqual(new Uint8Array(signed))
    const page = decodeStationsPage(JSON.parse(JSON.stringify(encodeStationsPage({ stations: [{ record: Uint8Array.of(1), listeners: 2, firstSeen: 3, nowPlaying: signed }], total: 1 }))))
    expect(new Uint8Array(page.stations[0]?.nowPlaying ?? [])).toEqual(new Uint8Array(signed))
  })

  it('refuses another key, a title that is not sanitized or too long, a stale or future one, an extra field, and garbage', () => {
    expect(() => signNowPlaying(statement, other)).toThrow(expect.objectContaining({ name: 'BadSignatureError' }))
    const byOther = signNowPlaying({ ...statement, station: other.id }, other)
    const claimed = encodeCanonical({ np: encodeCanonical(statement), sig: byOther.subarray(byOther.length - 64) })
    expect(verifyNowPlaying(claimed, now)).toMatchObject({ ok: false, error: { name: 'BadSignatureError' } })
    expect(verifyNowPlaying(signedRaw({ ...statement, title: 'two\nlines' }), now)).toMatchObject({ ok: false, error: { name: 'MalformedError' } })
    expect(verifyNowPlaying(signedRaw({ ...statement, title: 'x'.repeat(NOW_PLAYING_MAX_CHARS + 1) }), now)).toMatchObject({ ok: false, error: { name: 'MalformedError' } })
    expect(verifyNowPlaying(signedRaw({ ...statement, url: 'http://evil.example' }), now)).toMatchObject({ ok: false, error: { name: 'MalformedError' } })
    const signed = signNowPlaying(statement, station)
    expect(verifyNowPlaying(signed, now + NOW_PLAYING_MAX_AGE_MS + 1)).toMatchObject({ ok: false, error: { name: 'ExpiredError' } })
    expect(verifyNowPlaying(signed, now - 120_000)).toMatchObject({ ok: false, error: { name: 'ExpiredError' } })
    expect(verifyNowPlaying(new Uint8Array(MAX_NOW_PLAYING_BYTES + 1), now)).toMatchObject({ ok: false, error: { name: 'TooLargeError' } })
    expect(verifyNowPlaying(Uint8Array.of(1, 2, 3), now)).toMatchObject({ ok: false, error: { name: 'MalformedError' } })
    expect(() => verifyNowPlayingOrThrow(byOther, station.id, now)).toThrow(expect.objectContaining({ name: 'MalformedError' }))
  })
})
