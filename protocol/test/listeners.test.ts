import { describe, expect, it } from 'vitest'
import { encodeAnnouncement, LISTENER_REPORT_MAX_AGE_MS, signListenerReport, stationKeyFromSeed, verifyAnnouncement, verifyListenerReport, type ListenerReport } from '../src/index.ts'
import { encodeCanonical } from '../src/cbor.ts'
import { seed } from './fixtures/draft.ts'

const relay = stationKeyFromSeed(seed(7))
const other = stationKeyFromSeed(seed(8))
const station = stationKeyFromSeed(seed(9)).id
const now = 1_800_000_000_000
const report: ListenerReport = { station, relay: relay.id, mount: '/live.ogg', listeners: 42, at: now }

describe('listener reports', () => {
  it('verify by the signature of the relay they name, and ride the directory topic', () => {
    const signed = signListenerReport(report, relay)
    expect(verifyListenerReport(signed, now)).toEqual({ ok: true, value: report })
    expect(verifyAnnouncement(encodeAnnouncement({ type: 'listeners', report: signed }), now)).toEqual({ ok: true, value: { type: 'listeners', report } })
  })

  it('refuses a report signed by another key, one changed after signing, a stale one, and garbage', () => {
    expect(() => signListenerReport(report, other)).toThrow(expect.objectContaining({ name: 'BadSignatureError' }))
    const signed = signListenerReport(report, relay)
    const envelope = { report: encodeCanonical({ ...report, listeners: 4200 }), sig: signed.subarray(signed.length - 64) }
    expect(verifyListenerReport(encodeCanonical(envelope), now)).toMatchObject({ ok: false, error: { name: 'BadSignatureError' } })
    const byOther = signListenerReport({ ...report, relay: other.id }, other)
    const claimed = encodeCanonical({ report: encodeCanonical(report), sig: byOther.subarray(byOther.length - 64) })
    expect(verifyListenerReport(claimed, now)).toMatchObject({ ok: false, error: { name: 'BadSignatureError' } })
    expect(verifyListenerReport(signed, now + LISTENER_REPORT_MAX_AGE_MS + 1)).toMatchObject({ ok: false, error: { name: 'ExpiredError' } })
    expect(verifyListenerReport(signed, now - 120_000)).toMatchObject({ ok: false, error: { name: 'ExpiredError' } })
    expect(verifyListenerReport(new Uint8Array(600), now)).toMatchObject({ ok: false, error: { name: 'TooLargeError' } })
    expect(verifyListenerReport(Uint8Array.of(1, 2, 3), now)).toMatchObject({ ok: false, error: { name: 'MalformedError' } })
    expect(() => signListenerReport({ ...report, listeners: -1 }, relay)).toThrow(expect.objectContaining({ name: 'MalformedError' }))
  })
})
