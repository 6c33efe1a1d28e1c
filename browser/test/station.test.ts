import { afterEach, describe, expect, it } from 'vitest'
import { effectScope, ref, type EffectScope } from 'vue'
import type { DialedStation, ResolvedStation } from '@openstudio/network'
import type { Manifest } from '@openstudio/protocol'
import { useStation, type StationInit, type StationState } from '../src/composables/station.ts'
import { DirectoryUnavailableError, type HttpStation } from '../src/services/directory-http.ts'
import { httpStation, signedStation } from './fakes/directory-relay.ts'
import { until } from './fakes/wait.ts'

const onRelay = signedStation('On The Relay')
const onDht = signedStation('Only In The DHT')

interface FakeNetwork {
  load: NonNullable<StationInit['network']>
  loads: number
  resolved: string[]
  dialled: string[]
}

/** The DHT and dials, in memory: counts loads, and what was resolved and dialled. */
function fakeNetwork (): FakeNetwork {
  const fake: FakeNetwork = {
    loads: 0,
    resolved: [],
    dialled: [],
    load: async () => {
      fake.loads++
      return {
        resolve: async (id: string): Promise<ResolvedStation> => {
          fake.resolved.push(id)
          if (id !== onDht.key.id) throw Object.assign(new Error('not found'), { name: 'StationNotFoundError' })
          return { manifest: onDht.manifest, record: onDht.record }
        },
        dial: async (manifest: Manifest): Promise<DialedStation> => {
          fake.dialled.push(manifest.id)
          return { kind: 'direct-webrtc', rttMs: 12, totalMs: 800, connection: {} as DialedStation['connection'] }
        }
      }
    }
  }
  return fake
}

let scope: EffectScope
afterEach(() => { scope?.stop() })

function open (id: string, station: (id: string) => Promise<HttpStation | undefined>, network = fakeNetwork()): StationState & { network: typeof network } {
  scope = effectScope()
  const state = scope.run(() => useStation(ref(id), { http: { station }, network: network.load }))
  if (state === undefined) throw new Error('no station')
  return { ...state, network }
}

describe('the station page', () => {
  it('shows the relay answer without loading libp2p; a dial loads it', async () => {
    const page = open(onRelay.key.id, async (id) => id === onRelay.key.id ? httpStation(onRelay) : undefined)
    await until('the station', () => page.manifest.value)
    expect(page.manifest.value?.name).toBe('On The Relay')
    expect(page.source.value).toBe('relay')
    expect(page.network.loads).toBe(0)
    await page.callIn()
    expect(page.network.dialled).toEqual([onRelay.key.id])
    expect(page.dial.value).toMatchObject({ phase: 'connected', kind: 'direct-webrtc' })
  })

  it('asks the DHT when the relay has no valid record, or no directory API', async () => {
    const missing = open(onDht.key.id, async () => undefined)
    await until('the station from the DHT', () => missing.manifest.value)
    expect(missing.source.value).toBe('network')
    expect(missing.network.resolved).toEqual([onDht.key.id])
    scope.stop()

    const old = open(onDht.key.id, async () => { throw new DirectoryUnavailableError('the relay answered 404', 404) })
    await until('the station from the DHT', () => old.manifest.value)
    expect(old.manifest.value?.name).toBe('Only In The DHT')
  })

  it('says so when neither knows the station, and refuses what is not a station id', async () => {
    const unknown = open(signedStation('Nowhere').key.id, async () => undefined)
    await until('the error', () => unknown.error.value)
    expect(unknown.error.value).toMatch(/not in the directory/)
    scope.stop()
    const bad = open('not-a-station', async () => undefined)
    expect(bad.error.value).toMatch(/not a station id/)
    expect(bad.network.loads).toBe(0)
  })
})
