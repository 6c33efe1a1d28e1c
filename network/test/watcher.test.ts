import { describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { buildManifest, encodeAnnouncement, signListenerReport, signManifest, stationKeyFromSeed, TOPIC } from '@openstudio/protocol'
import { DirectoryWatcher } from '../src/directory/watcher.ts'
import type { Message } from '@libp2p/gossipsub'
import { DRAFT, seed } from '../../protocol/test/fixtures/draft.ts'

const key = stationKeyFromSeed(seed(1))
const from = peerIdFromString(key.id)
const pubsub = { subscribe: () => {}, unsubscribe: () => {}, addEventListener: () => {}, removeEventListener: () => {} }

function message (data: Uint8Array, topic: string = TOPIC.directory): Message {
  return { type: 'signed', from, topic, data, sequenceNumber: 1n, signature: new Uint8Array(64), key: from.publicKey! } as Message
}

describe('DirectoryWatcher', () => {
  it('keeps verified stations, newest seq first', () => {
    const watcher = new DirectoryWatcher({ pubsub })
    const announced: string[] = []
    watcher.addEventListener('station:announce', (e) => announced.push(e.detail.manifest.name))
    for (const [seq, name] of [[2, 'Second'], [1, 'First'], [3, 'Third']] as const) {
      const { record } = signManifest(buildManifest(key.id, { ...DRAFT, name }, { seq, now: Date.now() }), key)
      watcher.handleMessage(message(encodeAnnouncement({ type: 'station', record })))
    }
    expect(announced).toEqual(['Second', 'Third'])
    expect(watcher.stations.get(key.id)?.manifest.seq).toBe(3)
  })

  it('drops forged announcements and garbage', () => {
    const watcher = new DirectoryWatcher({ pubsub })
    const rejected: string[] = []
    watcher.addEventListener('station:announce', () => { throw new Error('a forged station was accepted') })
    watcher.addEventListener('announcement:reject', (e) => rejected.push(e.detail.reason))
    const { record } = signManifest(buildManifest(key.id, DRAFT, { seq: 1, now: Date.now() }), key)
    const forged = Uint8Array.from(record)
    forged[forged.length - 1] = (forged.at(-1) as number) ^ 1
    watcher.handleMessage(message(encodeAnnouncement({ type: 'station', record: forged })))
    watcher.handleMessage(message(new Uint8Array([1, 2, 3])))
    watcher.handleMessage(message(new Uint8Array(100_000)))
    watcher.handleMessage(message(encodeAnnouncement({ type: 'station', record }), '/other/topic'))
    expect(watcher.stations.size).toBe(0)
    expect(rejected).toHaveLength(3)
    expect(rejected[0]).toMatch(/^BadSignatureError/)
  })

  it('keeps the newest listener report per station and relay, and drops stale or forged ones', () => {
    const watcher = new DirectoryWatcher({ pubsub })
    const relay = stationKeyFromSeed(seed(2))
    const heard: number[] = []
    watcher.addEventListener('listeners:report', (e) => heard.push(e.detail.listeners))
    const report = (listeners: number, at: number): Uint8Array => encodeAnnouncement({ type: 'listeners', report: signListenerReport({ station: key.id, relay: relay.id, mount: '/live.ogg', listeners, at }, relay) })
    const now = Date.now()
    watcher.handleMessage(message(report(3, now - 1000)))
    watcher.handleMessage(message(report(5, now)))
    watcher.handleMessage(message(report(4, now - 500)))
    watcher.handleMessage(message(report(9, now - 10 * 60_000)))
    expect(heard).toEqual([3, 5])
    expect(watcher.listeners.get(`${key.id}/${relay.id}`)?.listeners).toBe(5)
    expect(watcher.rejected).toBe(1)
  })

  it('keeps at most maxStations, forgetting the least recently announced first', () => {
    const watcher = new DirectoryWatcher({ pubsub }, { maxStations: 3 })
    const keys = [10, 11, 12, 13, 14].map((n) => stationKeyFromSeed(seed(n)))
    const announce = (k: (typeof keys)[number], seq = 1): void => {
      const { record } = signManifest(buildManifest(k.id, DRAFT, { seq, now: Date.now() }), k)
      watcher.handleMessage(message(encodeAnnouncement({ type: 'station', record })))
    }
    const [a, b, c, d, e] = keys as [typeof key, typeof key, typeof key, typeof key, typeof key]
    announce(a)
    announce(b)
    announce(c)
    expect(watcher.evicted).toBe(0)
    // A newer manifest of `a` makes it the most recently announced: `b` goes first.
    announce(a, 2)
    announce(d)
    expect([...watcher.stations.keys()]).toEqual([c.id, a.id, d.id])
    expect(watcher.evicted).toBe(1)
    // A replayed older manifest does not count as a fresh announcement.
    announce(c, 0)
    announce(e)
    expect([...watcher.stations.keys()]).toEqual([a.id, d.id, e.id])
    expect(watcher.evicted).toBe(2)
    expect(watcher.stations.get(a.id)?.manifest.seq).toBe(2)
  })
})
