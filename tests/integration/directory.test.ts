/**
 * The DHT directory through real relays on loopback: five relays in a chain,
 * stations published through one and found through another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fetchRecords, listDirectory, resolveStation, type DirectoryComponents, type OpenStudioNode } from '@openstudio/node'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { PROTOCOL, encodeRecordsRequest, stationRecordKey } from '@openstudio/protocol'
import type { Relay } from '@openstudio/relay'
import { clientOf, draftFor, publishThrough, startRelayChain, stopAll } from '../src/network.ts'

describe('directory over a chain of five relays', () => {
  let relays: Relay[]
  let client: OpenStudioNode

  beforeAll(async () => {
    relays = await startRelayChain(5)
    client = await clientOf(relays[4] as Relay)
  })

  afterAll(async () => {
    await client?.stop()
    await stopAll(relays ?? [])
  })

  it('resolves through relay 5 a station published through relay 1', async () => {
    const published = await publishThrough(relays[0] as Relay, draftFor(1))
    expect(published.storedOn).toBeGreaterThanOrEqual(1)
    const { manifest } = await resolveStation(client.services, published.id)
    expect(manifest).toEqual(published.manifest)
  })

  it('lists 30 stations published through various relays, and filters by tag', async () => {
    const published = []
    for (let i = 0; i < 30; i++) {
      const tags = i % 3 === 0 ? ['talk', 'news'] : ['music']
      published.push(await publishThrough(relays[i % 5] as Relay, draftFor(100 + i, tags)))
    }
    const all = await listDirectory(client.services)
    const ids = new Set(all.map((s) => s.manifest.id))
    for (const p of published) expect(ids.has(p.id), `station ${p.manifest.name}`).toBe(true)

    const news = await listDirectory(client.services, { tag: 'news' })
    const expected = published.filter((p) => p.manifest.tags.includes('news')).map((p) => p.id).sort()
    expect(news.map((s) => s.manifest.id).sort()).toEqual(expected)
    expect(news.every((s) => s.manifest.tags.includes('news'))).toBe(true)
  })

  it('lists from relay record snapshots without a DHT get per station, and every record verifies', async () => {
    const relay = relays[4] as Relay
    const snapshot = []
    for await (const station of fetchRecords(client, peerIdFromString(relay.peerId))) snapshot.push(station)
    // A relay holds the records it is among the closest servers for: most, not necessarily all.
    expect(snapshot.length).toBeGreaterThan(0)
    const { counting, gets } = countingGets(client)
    const listed = await listDirectory(counting, {
      snapshot: (server, signal) => fetchRecords(client, server, { signal }),
      snapshotServers: [peerIdFromString(relay.peerId)],
      snapshotsFromWalk: false
    })
    expect(listed.length).toBeGreaterThanOrEqual(31)
    expect(gets.length).toBeLessThan(listed.length / 2)

    const news = []
    for await (const station of fetchRecords(client, peerIdFromString(relay.peerId), { tag: 'news' })) news.push(station)
    expect(news.length).toBeGreaterThan(0)
    expect(news.every((s) => s.manifest.tags.includes('news'))).toBe(true)
  })

  it('reads the snapshots of the servers its walk meets, not only of the relay it knows, and gets through the DHT only what no snapshot held', async () => {
    const asked = new Set<string>()
    const { counting, gets } = countingGets(client)
    const listed = await listDirectory(counting, {
      snapshot: (server, signal) => { asked.add(server.toString()); return fetchRecords(client, server, { signal }) },
      snapshotServers: [peerIdFromString((relays[4] as Relay).peerId)]
    })
    expect(asked.size).toBeGreaterThan(1)
    expect(listed.length).toBeGreaterThanOrEqual(31)
    // A get only for each station whose record none of the asked relays held (most often none).
    const held = new Set<string>()
    for (const server of asked) {
      for await (const station of fetchRecords(client, peerIdFromString(server))) held.add(station.manifest.id)
    }
    expect([...gets].sort()).toEqual(listed.filter((s) => !held.has(s.manifest.id)).map((s) => stationRecordKey(s.manifest.id).toString()).sort())
  })

  it('a records request that is garbage or stalls leaves the relay serving', async () => {
    const relay = relays[4] as Relay
    const garbage = await client.dialProtocol(peerIdFromString(relay.peerId), PROTOCOL.records)
    const lp = lpStream(garbage)
    await lp.write(new Uint8Array([0xff, 0x00, 0x13]))
    await expect((async () => { for await (const _ of garbage) { /* drain */ } })()).rejects.toThrow()
    const bad = await client.dialProtocol(peerIdFromString(relay.peerId), PROTOCOL.records)
    await lpStream(bad).write(encodeRecordsRequest({}).subarray(0, 1))
    const stations = []
    for await (const station of fetchRecords(client, peerIdFromString(relay.peerId))) stations.push(station)
    expect(stations.length).toBeGreaterThan(0)
    bad.abort(new Error('done'))
  })

  it('a republished station resolves to its newest manifest', async () => {
    const first = await publishThrough(relays[1] as Relay, draftFor(500))
    const second = await publishThrough(relays[3] as Relay, { ...draftFor(500), name: 'Renamed Station' }, first.key)
    expect(second.seq).toBeGreaterThan(first.seq)
    const { manifest } = await resolveStation(client.services, first.id)
    expect(manifest.name).toBe('Renamed Station')
    expect(manifest.seq).toBe(second.seq)
  })
})

/** `client`'s services with the keys of its DHT gets recorded. */
function countingGets (client: OpenStudioNode): { counting: DirectoryComponents, gets: string[] } {
  const gets: string[] = []
  const dht = client.services.dht
  const counting = { ...client.services, dht: { findProviders: dht.findProviders.bind(dht), getClosestPeers: dht.getClosestPeers.bind(dht), get: (key: Uint8Array, options?: object) => { gets.push(key.toString()); return dht.get(key, options) } } }
  return { counting, gets }
}
