/**
 * Junk on gossip topics, through a real relay on loopback. A peer publishes
 * 50 KB of garbage and forged messages; the relay's validators drop them, so
 * an honest subscriber of the same relay never sees them, and the relay
 * charges the sender until it is graylisted and pruned from the mesh. Honest
 * messages keep flowing.
 *
 * "Never" without sleeping: the junk peer ends with a valid message, and the
 * subscriber waits for it. By then the relay's score of the junk peer shows
 * that every piece of junk was judged (a rejected message is not forwarded),
 * so anything the subscriber had seen before the valid message would be junk.
 * The subscribers keep no validator of their own: what they see is what the
 * relay forwarded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GOSSIP_SCORE, type OpenStudioNode } from '@openstudio/node'
import {
  buildManifest, encodeAnnouncement, encodeRoomMessage, generateStationKey, signListenerReport, signManifest, TOPIC, type StationKey
} from '@openstudio/protocol'
import type { Relay } from '@openstudio/relay'
import { forged, garbage, heard } from '../src/adversary.ts'
import { clientOf, draftFor, startRelay, subscribeVia } from '../src/network.ts'
import { waitUntil } from '../src/wait.ts'

/** What gossipsub's router has beyond its public interface, and these tests read. */
interface RouterView {
  getScore: (peer: string) => number
  getMeshPeers: (topic: string) => string[]
}

function routerOf (node: OpenStudioNode): RouterView {
  const pubsub: object = node.services.pubsub
  if (!('getScore' in pubsub) || typeof pubsub.getScore !== 'function' || !('getMeshPeers' in pubsub) || typeof pubsub.getMeshPeers !== 'function') {
    throw new Error('this gossipsub exposes no getScore/getMeshPeers')
  }
  return pubsub as RouterView
}

const announcementOf = (key: StationKey, n: number): Uint8Array =>
  encodeAnnouncement({ type: 'station', record: signManifest(buildManifest(key.id, draftFor(n), { seq: 1, now: Date.now() }), key).record })

const same = (a: Uint8Array | undefined, b: Uint8Array): boolean => a !== undefined && a.length === b.length && a.every((x, i) => x === b[i])

describe('junk on gossip topics', () => {
  let relay: Relay
  let subscriber: OpenStudioNode
  let junk: OpenStudioNode
  let honest: OpenStudioNode

  beforeAll(async () => {
    relay = await startRelay()
    ;[subscriber, junk, honest] = await Promise.all([clientOf(relay), clientOf(relay), clientOf(relay)])
    // The subscriber checks nothing itself, so it sees exactly what the relay forwards.
    subscriber.services.pubsub.topicValidators.delete(TOPIC.directory)
  })

  afterAll(async () => {
    await Promise.all([subscriber, junk, honest].map(async (node) => node?.stop()))
    await relay?.stop()
  })

  it('the relay forwards no junk on the directory topic, charges its sender, and still forwards honest announcements', async () => {
    const relayId = relay.node.peerId.toString()
    const junkId = junk.peerId.toString()
    const router = routerOf(relay.node)
    const seen = heard(subscriber, TOPIC.directory)
    await subscribeVia(subscriber, relay, TOPIC.directory)
    await subscribeVia(junk, relay, TOPIC.directory)
    await waitUntil('the junk peer in the relay\'s directory mesh', () => router.getMeshPeers(TOPIC.directory).includes(junkId))
    await waitUntil('the honest publisher to see the relay subscribed', () =>
      honest.services.pubsub.getSubscribers(TOPIC.directory).some((p) => p.toString() === relayId))

    // Two pieces of junk (enough to lose score, not yet to be graylisted), then a valid announcement.
    const junkKey = generateStationKey()
    await junk.services.pubsub.publish(TOPIC.directory, garbage())
    await junk.services.pubsub.publish(TOPIC.directory, forged(announcementOf(junkKey, 1)))
    const marker = announcementOf(junkKey, 2)
    await junk.services.pubsub.publish(TOPIC.directory, marker)
    await waitUntil('the junk peer\'s valid announcement at the subscriber', () => seen.some((data) => same(data, marker)))
    // One rejection costs the weight (−10), two cost four times as much: below twice the weight, both were judged.
    await waitUntil('the relay to have judged both pieces of junk', () => router.getScore(junkId) < 2 * GOSSIP_SCORE.invalidMessages.weight)
    expect(seen).toHaveLength(1)
    expect(same(seen[0], marker)).toBe(true)
    expect(router.getScore(junkId)).toBeLessThan(0)
    expect((await relay.refusals.counts())['gossip/directory-reject']).toBe(2)

    // More junk: the sender is graylisted and leaves the relay's mesh.
    await junk.services.pubsub.publish(TOPIC.directory, forged(signedListenerReport(junkKey)))
    await junk.services.pubsub.publish(TOPIC.directory, garbage())
    await waitUntil('the junk peer graylisted on the relay', () => router.getScore(junkId) < GOSSIP_SCORE.thresholds.graylistThreshold)
    await waitUntil('the junk peer pruned from the relay\'s directory mesh', () => !router.getMeshPeers(TOPIC.directory).includes(junkId))

    // An honest station's announcement still arrives, after everything the junk peer sent.
    const genuine = announcementOf(generateStationKey(), 3)
    await honest.services.pubsub.publish(TOPIC.directory, genuine)
    await waitUntil('the honest announcement at the subscriber', () => seen.some((data) => same(data, genuine)))
    expect(seen).toHaveLength(2)
    expect(router.getScore(honest.peerId.toString())).toBeGreaterThanOrEqual(0)
  })

  it('the relay forwards no junk on a room topic, and charges its sender', async () => {
    const station = generateStationKey()
    const topic = TOPIC.room(station.id)
    const relayId = relay.node.peerId.toString()
    const router = routerOf(relay.node)
    const roomJunk = await clientOf(relay)
    try {
      const seen = heard(subscriber, topic)
      // A room the relay routes: it joins when a peer of its own subscribes.
      await subscribeVia(subscriber, relay, topic)
      await waitUntil('the relay to route the room', () => relay.rooms.rooms.has(station.id))
      roomJunk.services.pubsub.subscribe(topic)
      await waitUntil('the junk peer to see the relay in the room', () =>
        roomJunk.services.pubsub.getSubscribers(topic).some((p) => p.toString() === relayId))

      const junkId = roomJunk.peerId.toString()
      const caller = generateStationKey()
      await roomJunk.services.pubsub.publish(topic, garbage())
      // A caller's own request (requests never belong on the topic), then the station's command, which the junk peer passes on.
      await roomJunk.services.pubsub.publish(topic, encodeRoomMessage(caller, { room: station.id, epoch: 1, n: 1, message: { type: 'self-mute', muted: true } }))
      const marker = encodeRoomMessage(station, { room: station.id, epoch: 1, n: 1, message: { type: 'present', peer: caller.id, name: 'Ada' } })
      await roomJunk.services.pubsub.publish(topic, marker)
      await waitUntil('the valid room message at the subscriber', () => seen.some((data) => same(data, marker)))
      await waitUntil('the relay to have charged both pieces of junk', () => router.getScore(junkId) < 2 * GOSSIP_SCORE.invalidMessages.weight)
      expect(seen).toHaveLength(1)
      expect(same(seen[0], marker)).toBe(true)
      expect((await relay.refusals.counts())['gossip/room-reject']).toBe(2)
    } finally {
      await roomJunk.stop()
    }
  })
})

function signedListenerReport (relayKey: StationKey): Uint8Array {
  return encodeAnnouncement({
    type: 'listeners',
    report: signListenerReport({ station: generateStationKey().id, relay: relayKey.id, mount: '/live.ogg', listeners: 3, at: Date.now() }, relayKey)
  })
}
