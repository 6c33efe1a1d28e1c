/**
 * Protocol benchmark: manifest sign/verify and DHT record validation, against
 * bare @noble/ed25519 sign/verify of the same bytes in the same run.
 */
import * as ed from '@noble/ed25519'
import {
  buildManifest, DOMAIN, encodeManifest, signManifest, stationKeyFromSeed, stationRecordKey, validateStationRecord,
  verifyManifest
} from '@openstudio/protocol'
import { DRAFT, seed, T0 } from '../../protocol/test/fixtures/draft.ts'
import { round, throughputs } from './measure.ts'

export async function benchProtocol (): Promise<Record<string, unknown>> {
  const key = stationKeyFromSeed(seed(1))
  const manifest = buildManifest(key.id, DRAFT, { seq: 1, now: T0, relays: ['/ip4/127.0.0.1/tcp/4001/ws'] })
  const { record } = signManifest(manifest, key)
  const dhtKey = stationRecordKey(key.id)
  const signedBytes = new Uint8Array([...new TextEncoder().encode(DOMAIN.manifest), ...encodeManifest(manifest)])
  const bareSig = ed.sign(signedBytes, key.secretKey)

  const t = throughputs({
    bareSign: () => ed.sign(signedBytes, key.secretKey),
    ourSign: () => signManifest(manifest, key),
    bareVerify: () => ed.verify(bareSig, signedBytes, key.publicKey, { zip215: false }),
    ourVerify: () => verifyManifest(record, { now: T0 }),
    validate: () => validateStationRecord(dhtKey, record, T0)
  })

  return {
    recordBytes: record.length,
    manifestSign: { ...t.ourSign, bareEd25519: t.bareSign, ratio: round(t.ourSign.usPerOp / t.bareSign.usPerOp) },
    manifestVerify: { ...t.ourVerify, bareEd25519: t.bareVerify, ratio: round(t.ourVerify.usPerOp / t.bareVerify.usPerOp), goalRatio: 1.3 },
    dhtRecordValidate: { ...t.validate, ratio: round(t.validate.usPerOp / t.bareVerify.usPerOp) }
  }
}
