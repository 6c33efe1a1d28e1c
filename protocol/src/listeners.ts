/**
 * Listener counts, as a relay reports them. Icecast knows how many listen to
 * a mount; the relay that feeds it signs that count with its own key (domain
 * separated) and announces it. The count is the relay's word, not the
 * station's: readers show it as reported by that relay, and only from a relay
 * the station lists in its signed manifest.
 */
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from './cbor.ts'
import { DOMAIN } from './constants.ts'
import { BadSignatureError, ExpiredError } from './errors.ts'
import { publicKeyFromStationId, signWithDomain, verifyWithDomain, type StationKey } from './identity.ts'
import { asVerifyError, type VerifyResult } from './manifest/manifest.ts'
import { bytesSchema, parseOrThrow, stationIdSchema, uintSchema } from './schema.ts'

/** Largest signed listener report. */
export const MAX_LISTENER_REPORT_BYTES = 512
/** A report older than this is stale: relays report every 30 s while a program runs. */
export const LISTENER_REPORT_MAX_AGE_MS = 2 * 60 * 1000
/** How far ahead of the reader's clock a report may be dated. */
const MAX_SKEW_MS = 60 * 1000

export const listenerReportSchema = z.strictObject({
  station: stationIdSchema,
  /** The reporting relay's peer id (Ed25519): the key that signs the report. */
  relay: stationIdSchema,
  mount: z.string().min(2).max(64),
  listeners: uintSchema.max(10_000_000),
  /** Unix ms when Icecast was asked. */
  at: uintSchema
})
export type ListenerReport = z.output<typeof listenerReportSchema>

const envelopeSchema = z.strictObject({ report: z.instanceof(Uint8Array), sig: bytesSchema(64) })

/**
 * Signs a report with the relay's key (whose id must be `report.relay`).
 * @throws {MalformedError}
 */
export function signListenerReport (report: ListenerReport, relayKey: StationKey): Uint8Array {
  if (relayKey.id !== report.relay) throw new BadSignatureError('a listener report is signed by the relay it names')
  const bytes = encodeCanonical(parseOrThrow(listenerReportSchema, report, 'listener report'))
  return encodeCanonical({ report: bytes, sig: signWithDomain(DOMAIN.listeners, bytes, relayKey.secretKey) })
}

/** Verifies a signed report: size, shape, the relay's signature, and its age at `now`. Never throws. */
export function verifyListenerReport (signed: Uint8Array, now: number): VerifyResult<ListenerReport> {
  try {
    const envelope = parseOrThrow(envelopeSchema, decodeCanonical(signed, 'listener report', MAX_LISTENER_REPORT_BYTES), 'listener report')
    const report = parseOrThrow(listenerReportSchema, decodeCanonical(envelope.report, 'listener report', MAX_LISTENER_REPORT_BYTES), 'listener report')
    if (!verifyWithDomain(DOMAIN.listeners, envelope.report, envelope.sig, publicKeyFromStationId(report.relay))) {
      throw new BadSignatureError('the listener report is not signed by the relay it names')
    }
    if (report.at > now + MAX_SKEW_MS || report.at < now - LISTENER_REPORT_MAX_AGE_MS) throw new ExpiredError('the listener report is stale or from the future')
    return { ok: true, value: report }
  } catch (err) {
    return { ok: false, error: asVerifyError(err) }
  }
}
