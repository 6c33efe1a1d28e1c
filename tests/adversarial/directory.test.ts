/**
 * Floods of throwaway stations against an `openstudio relay` process: one
 * host with ten identities puts and announces junk stations as fast as it
 * can. The relay refuses past the host's allowance, its index and memory stay
 * bounded, every real station stays on the first screen (the live one
 * first), and an honest publish from another host still lands. With the
 * public network's proof of work, a record without enough work is refused
 * by the relay's DHT store and its directory topic alike.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildManifest, decodeStationsPage, encodeAnnouncement, generateStationKey, mintStamp, signManifest, stampWork, stationRecordKey, TOPIC, verifyManifest,
  type ManifestDraftInput, type StationKey
} from '@openstudio/protocol'
import { openClient, publishStation, type OpenStudioNode } from '@openstudio/node'
import { attackerHost, httpGet, startTarget, stillServes, strangerNode, type Target } from '../src/adversary.ts'
import { draftFor } from '../src/network.ts'
import { QUERIES_PER_HOST } from '@openstudio/relay'
import { waitUntil } from '../src/wait.ts'

const IDENTITIES = 10
const JUNK_PER_IDENTITY = 60
/** The relay's allowance: a burst of 10 new stations per host, 20 a minute. */
const PER_MINUTE = 20

/** A signed record of a new throwaway station (no proof of work: the relay asks for none unless told). */
function junkRecord (n: number, key: StationKey = generateStationKey()): Uint8Array {
  return signManifest(buildManifest(key.id, { ...draftFor(n), name: `Junk ${n}` }, { seq: Date.now(), now: Date.now() }), key).record
}

/** Puts a record through `node`'s DHT: true when the relay stored it. */
async function put (node: OpenStudioNode, key: StationKey, record: Uint8Array): Promise<boolean> {
  let stored = false
  try {
    for await (const event of node.services.dht.put(stationRecordKey(key.id), record, { signal: AbortSignal.timeout(10_000) })) {
      if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') stored = true
    }
  } catch {
    return stored
  }
  return stored
}

async function listing (target: Target, query = ''): Promise<Array<{ name: string, id: string, listeners: number }>> {
  const answer = await httpGet(`${target.http}/api/stations?limit=30${query}`)
  expect(answer.status).toBe(200)
  expect(answer.headers['access-control-allow-origin']).toBe('*')
  return decodeStationsPage(JSON.parse(answer.body)).stations.map((s) => {
    const verified = verifyManifest(s.record, { now: Date.now() })
    if (!verified.ok) throw verified.error
    return { name: verified.value.name, id: verified.value.id, listeners: s.listeners }
  })
}

async function publishFrom (target: Target, draft: ManifestDraftInput, init: { onAir?: boolean } = {}): Promise<string> {
  const key = generateStationKey()
  const node = await openClient({ bootstrap: [target.tcp], stationKey: key, allowPrivate: true })
  try {
    const studio = init.onAir === true ? { peer: key.id, onAir: true, liveUntil: Date.now() + 40_000 } : undefined
    await publishStation({ ...node.services, peerId: node.peerId }, { key, draft, relays: [target.tcp], studio })
    return key.id
  } finally {
    await node.stop()
  }
}

describe('a flood of throwaway stations', () => {
  let target: Target
  let idleRss: number
  const real: string[] = []

  beforeAll(async () => {
    target = await startTarget(['--new-stations-per-minute', String(PER_MINUTE), '--max-stations', '400'])
    idleRss = (await target.health()).memory.rssBytes
    // Real stations, from the honest host (127.0.0.1): one on air.
    real.push(await publishFrom(target, draftFor(1)))
    real.push(await publishFrom(target, draftFor(2)))
    real.push(await publishFrom(target, { ...draftFor(3), name: 'Live Now Radio' }, { onAir: true }))
  })

  afterAll(async () => {
    await target?.stop()
  })

  it('is refused past one host\'s allowance, whatever its identities, and never pushes a real station off the first screen', async () => {
    const flooders = await Promise.all(Array.from({ length: IDENTITIES }, async () => strangerNode(target, attackerHost(1))))
    try {
      let stored = 0
      let flooding = true
      const flood = Promise.all(flooders.map(async (node, i) => {
        for (let n = 0; n < JUNK_PER_IDENTITY; n++) {
          const key = generateStationKey()
          const record = junkRecord(i * 1000 + n, key)
          // Both ways in: the DHT store and the directory topic.
          if (await put(node, key, record)) stored++
          await node.services.pubsub.publish(TOPIC.directory, encodeAnnouncement({ type: 'station', record })).catch(() => {})
        }
      })).finally(() => { flooding = false })
      // An honest owner on another host publishes while the relay is refusing the flood, and is listed.
      await waitUntil('the relay to refuse the flood', async () => ((await target.refusals())['directory/refused-rate'] ?? 0) > 0)
      const honest = await publishFrom(target, { ...draftFor(4), name: 'Honest Newcomer' })
      expect(flooding).toBe(true)
      await flood
      await waitUntil('the honest newcomer to be listed', async () => (await listing(target, '&q=honest')).some((s) => s.id === honest))
      const refusals = await target.refusals()
      // The burst and the minute's refill at most, not the 600 tried.
      expect(stored).toBeLessThanOrEqual(PER_MINUTE * 2)
      expect(refusals['directory/refused-rate'] ?? 0).toBeGreaterThan(IDENTITIES * JUNK_PER_IDENTITY / 2)
      expect((await target.health()).stationsHeard).toBeLessThanOrEqual(real.length + PER_MINUTE * 2)

      const first = await listing(target)
      for (const id of real) expect(first.map((s) => s.id)).toContain(id)
      expect(first[0]?.name).toBe('Live Now Radio')
      expect((await listing(target, '&live=1')).map((s) => s.id)).toEqual([real[2]])
    } finally {
      await Promise.all(flooders.map(async (node) => node.stop()))
    }
    await stillServes(target, idleRss)
  })

  it('answers queries with typed errors, not work, for junk', async () => {
    for (const query of ['limit=0', 'limit=1000', 'cursor=nope', `q=${'x'.repeat(200)}`, 'live=maybe', 'tag=a&tag=b']) {
      const answer = await httpGet(`${target.http}/api/stations?${query}`)
      expect(answer.status, query).toBe(400)
      expect(JSON.parse(answer.body)).toHaveProperty('error')
    }
    expect((await httpGet(`${target.http}/api/stations/not-a-station`)).status).toBe(404)
    expect((await httpGet(`${target.http}/api/stations/${generateStationKey().id}`)).status).toBe(404)
    const one = await httpGet(`${target.http}/api/stations/${real[0]}`)
    expect(decodeStationsPage(JSON.parse(one.body)).stations).toHaveLength(1)
  })

  it('answers one host at most its share of queries, and other hosts meanwhile', async () => {
    const statuses: number[] = []
    for (let i = 0; i < QUERIES_PER_HOST + 30; i++) {
      statuses.push((await httpGet(`${target.http}/api/stations?q=junk${i % 7}`, { localAddress: attackerHost(3) })).status)
    }
    expect(statuses.filter((s) => s === 200).length).toBeLessThanOrEqual(QUERIES_PER_HOST)
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(30)
    expect((await listing(target)).length).toBeGreaterThan(0)
    expect((await target.refusals())['http/directory-rate-limited']).toBeGreaterThanOrEqual(30)
  })
})

describe('the proof of work, at the public network\'s 8 bits', () => {
  let target: Target

  beforeAll(async () => {
    target = await startTarget(['--stamp-bits', '8'])
  })

  afterAll(async () => {
    await target?.stop()
  })

  it('is required by the relay\'s DHT store and directory topic: no stamp, a stamp of another key and a cheap one are refused', async () => {
    const node = await strangerNode(target, attackerHost(2))
    try {
      await subscribed(node)
      const paid = generateStationKey()
      const stamp = await mintStamp(paid.id, { bits: 8, yieldTurn: async () => {} })
      const other = generateStationKey()
      // Cheap: a nonce with fewer than 8 bits of work for this key.
      let cheap = 0
      while (stampWork(other.id, cheap) >= 8) cheap++
      const rejectedBefore = (await target.refusals())['gossip/directory-reject'] ?? 0
      for (const [key, nonce] of [[other, 0], [other, stamp], [other, cheap]] as const) {
        const record = signManifest(buildManifest(key.id, draftFor(7), { seq: 1, now: Date.now() }), key, nonce).record
        expect(await put(node, key, record)).toBe(false)
        await node.services.pubsub.publish(TOPIC.directory, encodeAnnouncement({ type: 'station', record }))
      }
      await waitUntil('the relay to reject the three announcements', async () => ((await target.refusals())['gossip/directory-reject'] ?? 0) >= rejectedBefore + 3)
      const record = signManifest(buildManifest(paid.id, draftFor(8), { seq: 1, now: Date.now() }), paid, stamp).record
      expect(await put(node, paid, record)).toBe(true)
      await waitUntil('the paid station to be listed', async () => (await listing(target)).some((s) => s.id === paid.id))
      expect((await listing(target)).map((s) => s.id)).not.toContain(other.id)
    } finally {
      await node.stop()
    }
  })
})

/** Subscribes `node` to the directory topic and waits until it sees the relay there, so that what it publishes reaches the relay. */
async function subscribed (node: OpenStudioNode): Promise<void> {
  node.services.pubsub.subscribe(TOPIC.directory)
  await waitUntil('the relay in the node\'s directory mesh', () => node.services.pubsub.getSubscribers(TOPIC.directory).length > 0)
}
