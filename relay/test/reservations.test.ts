import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair, hostOf } from '@openstudio/node'
import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { ReservationPolicy, type HeldReservation } from '../src/reservations.ts'
import { servedStations } from '../src/stations.ts'
import type { PeerId } from '@libp2p/interface'

async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** A policy over an in-memory reservation store, as the relay server keeps it. */
function harness (init: { max: number, perHost: number, forStations: number, stations?: string[] }) {
  const store = new Map<string, [PeerId, HeldReservation]>()
  const hosts = new Map<string, string>()
  const refusals: string[] = []
  const policy = new ReservationPolicy({
    reservations: () => ({
      size: store.size,
      has: (p) => store.has(p.toString()),
      get: (p) => store.get(p.toString())?.[1],
      delete: (p) => { store.delete(p.toString()) },
      entries: () => store.values()
    }),
    hostOf: (p) => hostOf(multiaddr(`/ip4/${hosts.get(p.toString()) ?? '0.0.0.0'}/tcp/1`)),
    stations: servedStations(init.stations),
    refusals: { refuse: (resource, reason) => { refusals.push(`${resource}/${reason}`) } }
  }, { maxReservations: init.max, maxPerHost: init.perHost, reservedForStations: init.forStations })
  let expiry = 0
  /** Asks as the relay server does, and reserves when allowed. */
  const reserve = (p: PeerId, ip: string): boolean => {
    hosts.set(p.toString(), ip)
    if (policy.deny(p)) return false
    if (!store.has(p.toString())) store.set(p.toString(), [p, { addr: multiaddr(`/ip4/${ip}/tcp/1`), expiry: new Date(++expiry) }])
    return true
  }
  return { policy, store, refusals, reserve }
}

describe('ReservationPolicy', () => {
  it('bounds the reservations of one host, whatever peer ids it uses', async () => {
    const { reserve, refusals } = harness({ max: 100, perHost: 3, forStations: 0 })
    const results = []
    for (let i = 0; i < 5; i++) results.push(reserve(await peer(), '203.0.113.9'))
    expect(results).toEqual([true, true, true, false, false])
    expect(reserve(await peer(), '203.0.113.10')).toBe(true)
    expect(refusals).toEqual(['reservation/per-host', 'reservation/per-host'])
  })

  it('lets a peer that holds a reservation refresh it', async () => {
    const { reserve } = harness({ max: 1, perHost: 1, forStations: 0 })
    const p = await peer()
    expect(reserve(p, '203.0.113.9')).toBe(true)
    expect(reserve(p, '203.0.113.9')).toBe(true)
  })

  it('ends a reservation when its peer disconnects, so squatters that leave free their slots', async () => {
    const { reserve, policy, store } = harness({ max: 2, perHost: 2, forStations: 0 })
    const squatters = [await peer(), await peer()]
    for (const s of squatters) reserve(s, '203.0.113.9')
    expect(reserve(await peer(), '203.0.113.20')).toBe(false)
    let cleared = 0
    for (const s of squatters) {
      const held = store.get(s.toString())?.[1]
      if (held !== undefined) held.signal = { clear: () => { cleared++ } }
      policy.handlePeerGone(s)
    }
    expect(cleared).toBe(2)
    expect(store.size).toBe(0)
    expect(reserve(await peer(), '203.0.113.20')).toBe(true)
  })

  it("keeps slots for the served stations' studios, and gives a studio a stranger's oldest slot when even those are full", async () => {
    const studio = await peer()
    const other = await peer()
    const { reserve, refusals, store } = harness({ max: 4, perHost: 10, forStations: 1, stations: [studio.toString(), other.toString()] })
    const strangers = []
    for (let i = 0; i < 4; i++) {
      const p = await peer()
      strangers.push(p)
      reserve(p, `203.0.113.${i + 1}`)
    }
    expect(store.size).toBe(3)
    expect(refusals).toEqual(['reservation/full'])
    expect(reserve(studio, '203.0.113.50')).toBe(true)
    expect(store.size).toBe(4)
    expect(reserve(other, '203.0.113.51')).toBe(true)
    expect(refusals).toEqual(['reservation/full', 'reservation/evicted-for-station'])
    expect(store.has(strangers[0]?.toString() ?? '')).toBe(false)
    expect(store.has(studio.toString())).toBe(true)
  })
})
