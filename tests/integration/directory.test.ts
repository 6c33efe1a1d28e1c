/**
 * The DHT directory through real relays on loopback: five relays in a chain,
 * stations published through one and found through another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fetchSnapshot, listDirectory, resolveStation, type DirectoryComponents, type OpenStudioNode, type ResolvedStation, type SnapshotItem } from '@openstudio/node'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { lpStream } from '@libp2p/utils'
import { PROTOCOL, encodeRecordsRequest, stationRecordKey } from '@openstudio/protocol'
import { encode } from 'cborg'
import type { Relay } from '@openstudio/relay'
import { clientOf, draftFor, publishThrough, startRelay, startRelayChain, stopAll, tcpAddr } from '../src/network.ts'
import { waitUntil } from '../src/wait.ts'

describe('directory over a chain of five relays', () => {
  let relays: Relay[]
  let client: OpenStudioNode
  /** Every station the tests publish, with its tags. */
  const stations: Array<{ id: string, tags: string[] }> = []

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
    stations.push({ id: published.id, tags: published.manifest.tags })
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
    stations.push(...published.map((p) => ({ id: p.id, tags: p.manifest.tags })))
    // A put that only the publisher's first relay stored is made again (see publishStation).
    expect(published.map((p) => p.storedOn).filter((n) => n < 2)).toEqual([])
    const all = await listDirectory(client.services)
    const ids = new Set(all.map((s) => s.manifest.id))
    // A miss says whether the station then resolves on its own (its gets in the listing timed out twice) or not.
    const missed = await Promise.all(published.filter((p) => !ids.has(p.id)).map(async (p) =>
      `${p.manifest.name}: ${await resolveStation(client.services, p.id).then(() => 'resolves alone', (err: Error) => err.name)}`))
    expect(missed).toEqual([])

    const news = await listDirectory(client.services, { tag: 'news' })
    const expected = published.filter((p) => p.manifest.tags.includes('news')).map((p) => p.id).sort()
    expect(news.map((s) => s.manifest.id).sort()).toEqual(expected)
    expect(news.every((s) => s.manifest.tags.includes('news'))).toBe(true)
  })

  it('lists from one relay\'s snapshot without a DHT get per station, and every record verifies', async () => {
    const relay = relays[4] as Relay
    const { stations: snapshot } = await snapshotOf(client, relay.peerId)
    // A relay holds the records it is among the closest servers for: most, not necessarily all.
    expect(snapshot.length).toBeGreaterThan(0)
    const { counting, gets, providerQueries } = countingQueries(client)
    const listed = await listDirectory(counting, {
      snapshot: (server, signal) => fetchSnapshot(client, server, { signal }),
      snapshotServers: [peerIdFromString(relay.peerId)],
      snapshotsFromWalk: false
    })
    expect(listed.length).toBeGreaterThanOrEqual(31)
    expect(gets.length).toBeLessThan(listed.length / 2)
    // One relay's provider list is not enough on its own: the provider query asks more servers.
    expect(providerQueries()).toBe(1)

    const news = await snapshotOf(client, relay.peerId, 'news')
    expect(news.stations.length).toBeGreaterThan(0)
    expect(news.stations.every((s) => s.manifest.tags.includes('news'))).toBe(true)
  })

  it('a relay\'s snapshot carries the providers it holds for the directory key asked for', async () => {
    // Against what was published, not a DHT-only listing: that one can miss a station whose get timed out.
    const ids = (tag?: string): string[] => stations.filter((s) => tag === undefined || s.tags.includes(tag)).map((s) => s.id).sort()
    const union = async (tag?: string): Promise<string[]> => {
      const all = new Set<string>()
      for (const relay of relays) {
        const { providers } = await snapshotOf(client, relay.peerId, tag)
        // Five relays that know each other are all among the K closest to every key: each holds (nearly) every provider.
        expect(providers.size).toBeGreaterThan(0)
        for (const id of providers) all.add(id)
      }
      return [...all].sort()
    }
    expect(await union()).toEqual(ids())
    expect(await union('news')).toEqual(ids('news'))
  })

  it('reads the snapshots of the servers its walk meets, not only of the relay it knows, and gets through the DHT only what no snapshot held', async () => {
    const asked = new Set<string>()
    const { counting, gets, providerQueries } = countingQueries(client)
    const listed = await listDirectory(counting, {
      snapshot: (server, signal) => { asked.add(server.toString()); return fetchSnapshot(client, server, { signal }) },
      snapshotServers: [peerIdFromString((relays[4] as Relay).peerId)]
    })
    expect(asked.size).toBeGreaterThan(1)
    expect(listed.length).toBeGreaterThanOrEqual(31)
    // The snapshots' provider lists replace the provider query.
    expect(providerQueries()).toBe(0)
    // A get only for each station whose record none of the asked relays held (most often none).
    const held = new Set<string>()
    for (const server of asked) {
      for (const station of (await snapshotOf(client, server)).stations) held.add(station.manifest.id)
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
    const { stations } = await snapshotOf(client, relay.peerId)
    expect(stations.length).toBeGreaterThan(0)
    bad.abort(new Error('done'))
  })

  it('a relay that answers with bad provider frames costs the listing only its own answer', async () => {
    const liar = await startRelay({ bootstrap: [tcpAddr(relays[4] as Relay)] })
    try {
      // One genuine record, the end of the records, then a frame that is no provider list.
      const { stations: [genuine] } = await snapshotOf(client, (relays[4] as Relay).peerId)
      await liar.node.unhandle(PROTOCOL.records)
      await liar.node.handle(PROTOCOL.records, async (stream) => {
        const lp = lpStream(stream)
        await lp.read()
        await lp.writeV([genuine?.record as Uint8Array, new Uint8Array(0), encode({ providers: 'all of them' })])
        await stream.close()
      })
      await client.dial(multiaddr(tcpAddr(liar)))
      const items: SnapshotItem[] = []
      await expect((async () => { for await (const item of fetchSnapshot(client, peerIdFromString(liar.peerId))) items.push(item) })())
        .rejects.toThrow(expect.objectContaining({ name: 'MalformedError' }))
      expect(items).toEqual([{ station: genuine }])

      const listed = await listDirectory(client.services, {
        snapshot: (server, signal) => fetchSnapshot(client, server, { signal }),
        snapshotServers: [peerIdFromString(liar.peerId), peerIdFromString((relays[4] as Relay).peerId)]
      })
      expect(listed.length).toBeGreaterThanOrEqual(31)
    } finally {
      await liar.stop()
    }
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

/** `client`'s services with the keys of its DHT gets, and its provider queries, counted. */
function countingQueries (client: OpenStudioNode): { counting: DirectoryComponents, gets: string[], providerQueries: () => number } {
  const gets: string[] = []
  let providerQueries = 0
  const dht = client.services.dht
  const counting: DirectoryComponents = {
    dht: {
      getClosestPeers: dht.getClosestPeers.bind(dht),
      findProviders: (...args) => { providerQueries++; return dht.findProviders(...args) },
      get: (key, options) => { gets.push(key.toString()); return dht.get(key, options) }
    }
  }
  return { counting, gets, providerQueries: () => providerQueries }
}

/** A relay's whole snapshot: its stations and the providers it holds. */
async function snapshotOf (client: OpenStudioNode, relay: string, tag?: string): Promise<{ stations: ResolvedStation[], providers: Set<string> }> {
  const stations: ResolvedStation[] = []
  const providers = new Set<string>()
  for await (const item of fetchSnapshot(client, peerIdFromString(relay), { tag })) {
    if ('station' in item) stations.push(item.station)
    else for (const id of item.providers) providers.add(id)
  }
  return { stations, providers }
}

describe('a relay that joins later', () => {
  it('lists at once what its bootstrap relay knows, from that relay\'s snapshot', async () => {
    const first = await startRelay()
    let later: Relay | undefined
    try {
      const published = [await publishThrough(first, draftFor(500)), await publishThrough(first, draftFor(501))]
      later = await startRelay({ bootstrap: [tcpAddr(first)] })
      const index = later.directory.index
      await waitUntil('the later relay to hold the stations', () => published.every((p) => index.get(p.id) !== undefined))
      expect(index.get(published[0]!.id)?.manifest).toEqual(published[0]!.manifest)
    } finally {
      await stopAll([later, first].filter((r): r is Relay => r !== undefined))
    }
  })
})
