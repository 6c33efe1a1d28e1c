import { describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { buildManifest, signManifest, stationKeyFromSeed, stationRecordKey } from '@openstudio/protocol'
import { listDirectory, type DirectoryComponents } from '../src/directory/list.ts'
import { DRAFT, HOUR, seed } from '../../protocol/test/fixtures/draft.ts'

/** How each station's gets go: a record, a get that hangs until its time is up, or a clean "no record". */
type Answer = 'record' | 'hang' | 'none'

const SERVER = peerIdFromString('12D3KooWRaChPk6U1hoq7PXtLDXbpgUUdk3qFm7rB5SwLHB9imru')

/**
 * A DHT whose only server lists every station as a provider of the
 * directory key and answers each station's gets in turn from `script`.
 */
function fakeDht (script: Array<{ seed: number, answers: Answer[] }>): { components: DirectoryComponents, gets: Map<string, number>, ids: string[] } {
  const stations = script.map(({ seed: n, answers }) => {
    const key = stationKeyFromSeed(seed(n))
    const { record } = signManifest(buildManifest(key.id, { ...DRAFT, name: `Station ${n}` }, { seq: 1, now: Date.now(), lifetimeMs: HOUR }), key)
    return { id: key.id, dhtKey: stationRecordKey(key.id).toString(), record, answers }
  })
  const gets = new Map<string, number>()
  const dht = {
    async * getClosestPeers () {},
    async * findProviders () {
      yield { name: 'PEER_RESPONSE', from: SERVER, providers: stations.map((s) => ({ id: peerIdFromString(s.id), multiaddrs: [] })) }
    },
    async * get (key: Uint8Array, options: { signal: AbortSignal }) {
      const station = stations.find((s) => s.dhtKey === key.toString())
      if (station === undefined) return
      const n = gets.get(station.id) ?? 0
      gets.set(station.id, n + 1)
      const answer = station.answers[Math.min(n, station.answers.length - 1)]
      if (answer === 'record') yield { name: 'VALUE', from: SERVER, value: station.record }
      if (answer === 'hang') {
        await new Promise((resolve) => { options.signal.addEventListener('abort', resolve, { once: true }) })
        throw options.signal.reason
      }
    }
  }
  return { components: { dht } as unknown as DirectoryComponents, gets, ids: stations.map((s) => s.id) }
}

describe('listDirectory resolving the providers it found', () => {
  it('asks once more for a station whose get timed out, and lists it when the second get answers', async () => {
    const { components, gets, ids } = fakeDht([{ seed: 1, answers: ['record'] }, { seed: 2, answers: ['hang', 'record'] }])
    const listed = await listDirectory(components, { resolveTimeoutMs: 100 })
    expect(listed.map((s) => s.manifest.id).sort()).toEqual([...ids].sort())
    expect(ids.map((id) => gets.get(id))).toEqual([1, 2])
  })

  it('gives up on a station after two timed-out gets, and does not ask again for one that has no record', async () => {
    const progress: Array<{ found: number, resolved: number }> = []
    const { components, gets, ids } = fakeDht([{ seed: 1, answers: ['record'] }, { seed: 2, answers: ['hang'] }, { seed: 3, answers: ['none'] }])
    const listed = await listDirectory(components, { resolveTimeoutMs: 100, onProgress: (p) => progress.push(p) })
    expect(listed.map((s) => s.manifest.id)).toEqual([ids[0]])
    expect(ids.map((id) => gets.get(id))).toEqual([1, 2, 1])
    expect(progress.at(-1)).toEqual({ found: 3, resolved: 3 })
  })
})
