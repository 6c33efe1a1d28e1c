/**
 * Forged records pushed straight into the DHT by a raw client: every server
 * refuses them, and resolving still returns the genuine newest manifest.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveStation, type OpenStudioNode } from '@openstudio/node'
import { buildManifest, DOMAIN, encodeManifest, generateStationKey, signManifest, stationRecordKey, type Manifest, type StationKey } from '@openstudio/protocol'
import type { Relay } from '@openstudio/relay'
import { clientOf, draftFor, publishThrough, startRelayChain, stopAll, tcpAddr } from '../src/network.ts'
import { rawClient, rawPut, type RawClient } from '../src/raw-client.ts'
import { encodeCanonical } from '../../protocol/src/cbor.ts'
import { signWithDomain } from '../../protocol/src/identity.ts'

describe('forged records', () => {
  let relays: Relay[]
  let attacker: RawClient
  let reader: OpenStudioNode
  let key: StationKey
  let genuineSeq: number

  beforeAll(async () => {
    relays = await startRelayChain(3)
    const published = await publishThrough(relays[0] as Relay, draftFor(1))
    key = published.key
    genuineSeq = published.seq
    // Republish so that the record on every server is the newest.
    genuineSeq = (await publishThrough(relays[1] as Relay, draftFor(1), key)).seq
    attacker = await rawClient(relays.map(tcpAddr))
    reader = await clientOf(relays[2] as Relay)
  })

  afterAll(async () => {
    await reader?.stop()
    await attacker?.stop()
    await stopAll(relays ?? [])
  })

  const genuine = (): Uint8Array =>
    signManifest(buildManifest(key.id, draftFor(1), { seq: genuineSeq + 1000, now: Date.now() }), key).record

  const forgeries: Record<string, () => Uint8Array> = {
    'one flipped byte': () => {
      const record = genuine()
      const i = record.length - 10
      record[i] = (record[i] as number) ^ 0x01
      return record
    },
    'signed by another key': () => {
      const mallory = generateStationKey()
      const manifest = buildManifest(key.id, draftFor(666), { seq: genuineSeq + 5000, now: Date.now() })
      return signedBy(manifest, mallory)
    },
    expired: () => signManifest(buildManifest(key.id, draftFor(1), { seq: genuineSeq + 2000, now: Date.now() - 3 * 60 * 60 * 1000, lifetimeMs: 60 * 60 * 1000 }), key).record,
    '20 KiB record': () => {
      const big = new Uint8Array(20 * 1024)
      big.set(genuine())
      return big
    },
    'older seq': () => signManifest(buildManifest(key.id, { ...draftFor(1), name: 'Rolled back' }, { seq: genuineSeq - 1, now: Date.now() }), key).record
  }

  it.each(Object.keys(forgeries))('every server refuses a record with %s', async (kind) => {
    const forged = (forgeries[kind] as () => Uint8Array)()
    const { stored, refused } = await rawPut(attacker, stationRecordKey(key.id), forged)
    expect(stored).toEqual([])
    expect(refused).toBeGreaterThanOrEqual(relays.length)
    const { manifest } = await resolveStation(reader.services, key.id)
    expect(manifest.seq).toBe(genuineSeq)
    expect(manifest.name).toBe(draftFor(1).name)
  })

  it('servers keep accepting the genuine newer record', async () => {
    const next = await publishThrough(relays[2] as Relay, { ...draftFor(1), name: 'Still genuine' }, key)
    expect(next.storedOn).toBeGreaterThanOrEqual(1)
    const { manifest } = await resolveStation(reader.services, key.id)
    expect(manifest.name).toBe('Still genuine')
  })
})

/** A record of `manifest` (naming its own station) signed by `signer`, who is not that station. */
function signedBy (manifest: Manifest, signer: StationKey): Uint8Array {
  const bytes = encodeManifest(manifest)
  return encodeCanonical({ v: 1, manifest: bytes, sig: signWithDomain(DOMAIN.manifest, bytes, signer.secretKey) })
}
