/**
 * Junk, forgeries and fuzz on the gossip topics of a relay process: the
 * directory topic and the room topic of the station it serves, published by
 * strangers from their own loopback addresses (127.0.0.41 and up). An honest
 * subscriber of the relay keeps no validator of its own, so what it is
 * handed is exactly what the relay forwarded; it must never be handed junk,
 * and must still be handed honest messages sent after the junk.
 *
 * "Never" without sleeping: every piece of junk is counted by the relay as a
 * rejected message (`gossip/<topic>-reject` in `/metrics`) before the honest
 * message is sent, and a rejected message is never forwarded. Then the relay
 * lives, `/health` answers, a well-behaved studio and caller still work, and
 * its memory stays under a ceiling.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { openClient, validateDirectoryData, validateRoomData, type OpenStudioNode } from '@openstudio/node'
import { buildManifest, encodeAnnouncement, generateStationKey, signListenerReport, signManifest, TOPIC, type StationKey } from '@openstudio/protocol'
import { attackerHost, forged, garbage, heard, MEMORY_CEILING_BYTES, sameBytes, startTarget, stillServes, strangerNode, untilHeard, wellBehaved, type Target } from '../src/adversary.ts'
import { draftFor } from '../src/network.ts'
import { waitUntil } from '../src/wait.ts'

/** Fuzzed messages per topic. */
const FUZZ_RUNS = 45
/** A peer is graylisted (its RPCs dropped unread) after its third rejected message: the fuzz changes identity this often. */
const MESSAGES_PER_STRANGER = 3

/** A station announcement for the directory topic, signed by `key`. */
const announcementOf = (key: StationKey, seq: number): Uint8Array =>
  encodeAnnouncement({ type: 'station', record: signManifest(buildManifest(key.id, draftFor(1), { seq, now: Date.now() }), key).record })

/** A listener count about `station`, signed by the relay key `relay`: welcome on the directory topic and on `station`'s room topic. */
let listenerCount = 0
const listenerReport = (station: string, relay: StationKey = generateStationKey()): Uint8Array => encodeAnnouncement({
  type: 'listeners',
  report: signListenerReport({ station, relay: relay.id, mount: '/live.ogg', listeners: ++listenerCount, at: Date.now() }, relay)
})

describe('junk and fuzz on a relay\'s gossip topics', () => {
  let target: Target
  let subscriber: OpenStudioNode
  let honest: OpenStudioNode
  let idleRss: number
  /** What the subscriber was handed on each topic. */
  let onDirectory: Uint8Array[]
  let onRoom: Uint8Array[]
  let room: string
  /** One station announces again and again to open paths (its count in stationsHeard is 1). */
  const opener = generateStationKey()
  let openerSeq = 0
  const openDirectory = (): Uint8Array => announcementOf(opener, ++openerSeq)
  const openRoom = (): Uint8Array => listenerReport(target.station.id)

  beforeAll(async () => {
    target = await startTarget()
    room = TOPIC.room(target.station.id)
    subscriber = await openClient({ bootstrap: [target.tcp], allowPrivate: true })
    // The subscriber checks nothing itself, so it is handed exactly what the relay forwards.
    subscriber.services.pubsub.topicValidators.delete(TOPIC.directory)
    onDirectory = heard(subscriber, TOPIC.directory)
    onRoom = heard(subscriber, room)
    subscriber.services.pubsub.subscribe(TOPIC.directory)
    // A peer of the relay's own in the served station's room: the relay routes it.
    subscriber.services.pubsub.subscribe(room)
    await waitUntil('the relay to route the served station\'s room', async () => (await target.health()).rooms === 1)
    honest = await openClient({ bootstrap: [target.tcp], allowPrivate: true })
    await untilHeard(honest, TOPIC.directory, onDirectory, openDirectory)
    await untilHeard(honest, room, onRoom, openRoom)
    await wellBehaved(target)
    idleRss = (await target.health()).memory.rssBytes
  })

  afterAll(async () => {
    await Promise.all([subscriber, honest].map(async (node) => node?.stop()))
    await target?.stop()
  })


  /** Messages the relay dropped on one kind of topic: rejected (junk) or ignored (stale). */
  async function drops (kind: 'directory' | 'room'): Promise<{ reject: number, ignore: number }> {
    const r = await target.refusals()
    return { reject: r[`gossip/${kind}-reject`] ?? 0, ignore: r[`gossip/${kind}-ignore`] ?? 0 }
  }

  /** A stranger from attacker host `n` whose messages on `topic` are known to reach the subscriber through the relay. */
  async function connectedStranger (n: number, topic: string): Promise<OpenStudioNode> {
    const node = await strangerNode(target, attackerHost(n))
    try {
      node.services.pubsub.subscribe(topic)
      await untilHeard(node, topic, topic === room ? onRoom : onDirectory, topic === room ? openRoom : openDirectory)
      return node
    } catch (err) {
      await node.stop()
      throw err
    }
  }

  it('forwards no junk on the directory topic, counts none of it as a station, and forwards an honest announcement sent after it', async () => {
    const stranger = await connectedStranger(40, TOPIC.directory)
    try {
      const before = { drops: await drops('directory'), stations: (await target.health()).stationsHeard, seen: onDirectory.length }
      const junk = [garbage(), forged(announcementOf(generateStationKey(), 1)), forged(listenerReport(generateStationKey().id))]
      for (const bytes of junk) await stranger.services.pubsub.publish(TOPIC.directory, bytes)
      const junkHanded = (): boolean => onDirectory.slice(before.seen).some((data) => junk.some((bytes) => sameBytes(data, bytes)))
      // Until each piece is judged, or one was forwarded (the assertions below then say which).
      await waitUntil('the relay to reject the three pieces of junk', async () => junkHanded() || (await drops('directory')).reject >= before.drops.reject + junk.length)
      expect(junkHanded()).toBe(false)

      const genuine = announcementOf(generateStationKey(), 1)
      await honest.services.pubsub.publish(TOPIC.directory, genuine)
      await waitUntil('the honest announcement at the subscriber', () => onDirectory.some((data) => sameBytes(data, genuine)))
      const handed = onDirectory.slice(before.seen)
      expect(handed.filter((data) => junk.some((bytes) => sameBytes(data, bytes)))).toEqual([])
      expect(handed.map((data) => validateDirectoryData(data, Date.now()))).toEqual(handed.map(() => TopicValidatorResult.Accept))
      expect((await drops('directory')).reject).toBe(before.drops.reject + junk.length)
      expect((await target.health()).stationsHeard).toBe(before.stations + 1)
    } finally {
      await stranger.stop()
    }
    await stillServes(target, idleRss)
  })

  it('forwards no junk on the served station\'s room topic, and forwards an honest listener count sent after it', async () => {
    const stranger = await connectedStranger(41, room)
    try {
      const before = { drops: await drops('room'), seen: onRoom.length }
      // Garbage over the room's size cap, a station record (it belongs on the directory topic), and a forged count about this station.
      const junk = [garbage(), announcementOf(generateStationKey(), 1), forged(listenerReport(target.station.id))]
      for (const bytes of junk) await stranger.services.pubsub.publish(room, bytes)
      const junkHanded = (): boolean => onRoom.slice(before.seen).some((data) => junk.some((bytes) => sameBytes(data, bytes)))
      // Until each piece is judged, or one was forwarded (the assertions below then say which).
      await waitUntil('the relay to reject the three pieces of junk', async () => junkHanded() || (await drops('room')).reject >= before.drops.reject + junk.length)
      expect(junkHanded()).toBe(false)

      const genuine = listenerReport(target.station.id)
      await honest.services.pubsub.publish(room, genuine)
      await waitUntil('the honest listener count at the subscriber', () => onRoom.some((data) => sameBytes(data, genuine)))
      const handed = onRoom.slice(before.seen)
      expect(handed.filter((data) => junk.some((bytes) => sameBytes(data, bytes)))).toEqual([])
      expect(handed.map((data) => validateRoomData(data, target.station.id, Date.now()))).toEqual(handed.map(() => TopicValidatorResult.Accept))
      expect((await drops('room')).reject).toBe(before.drops.reject + junk.length)
    } finally {
      await stranger.stop()
    }
    await stillServes(target, idleRss)
  })

  /**
   * Publishes each input from a stranger (a new one every MESSAGES_PER_STRANGER) and waits until the relay
   * has dropped it or the subscriber was handed it; what was handed must be what `validate` accepts.
   */
  async function fuzz (kind: 'directory' | 'room', topic: string, host: number, templates: Uint8Array[], validate: (data: Uint8Array) => TopicValidatorResult): Promise<Record<'dropped' | 'forwarded', number>> {
    const seen = kind === 'room' ? onRoom : onDirectory
    const sent = new Set<string>()
    const outcomes = { dropped: 0, forwarded: 0 }
    let stranger: OpenStudioNode | undefined
    let published = 0
    try {
      await fc.assert(fc.asyncProperty(gossipInputs(templates), async (bytes) => {
        // Message ids are the bytes' hash: the same bytes again would be a duplicate, never judged.
        const key = Buffer.from(bytes).toString('base64')
        fc.pre(!sent.has(key))
        sent.add(key)
        if (stranger === undefined || published === MESSAGES_PER_STRANGER) {
          await stranger?.stop()
          stranger = undefined
          stranger = await connectedStranger(host, topic)
          published = 0
        }
        published++
        const before = await drops(kind)
        const at = seen.length
        await stranger.services.pubsub.publish(topic, bytes)
        const outcome = await waitUntil(`the relay to judge a ${bytes.length}-byte message on ${topic}`, async () => {
          const now = await drops(kind)
          if (now.reject + now.ignore > before.reject + before.ignore) return 'dropped'
          return seen.slice(at).some((data) => sameBytes(data, bytes)) ? 'forwarded' : undefined
        }, 10_000)
        outcomes[outcome]++
        if (outcome === 'forwarded') expect(validate(bytes)).toBe(TopicValidatorResult.Accept)
        expect(target.alive()).toBe(true)
      }), { numRuns: FUZZ_RUNS })
    } finally {
      await stranger?.stop()
    }
    return outcomes
  }

  it(`judges ${FUZZ_RUNS} random and almost-valid messages on the directory topic, and forwards only valid ones`, async () => {
    const templateKey = generateStationKey()
    const outcomes = await fuzz('directory', TOPIC.directory, 42, [announcementOf(templateKey, 1), listenerReport(templateKey.id)], (data) => validateDirectoryData(data, Date.now()))
    expect(outcomes.dropped).toBeGreaterThan(FUZZ_RUNS / 2)
    expect((await target.health()).status).toBe('ok')
    expect((await target.health()).memory.rssBytes - idleRss).toBeLessThan(MEMORY_CEILING_BYTES)
  })

  it(`judges ${FUZZ_RUNS} random and almost-valid messages on the served station's room topic, and forwards only valid ones`, async () => {
    const outcomes = await fuzz('room', room, 43, [listenerReport(target.station.id), announcementOf(generateStationKey(), 1)], (data) => validateRoomData(data, target.station.id, Date.now()))
    expect(outcomes.dropped).toBeGreaterThan(FUZZ_RUNS / 2)
    await stillServes(target, idleRss)
  })
})

/** Random bytes, a huge declared length, or a valid message with bytes changed or cut short. */
function gossipInputs (templates: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    fc.uint8Array({ maxLength: 4096 }),
    fc.constant(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3)),
    fc.tuple(fc.constantFrom(...templates), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat())
      .map(([template, flips, cut]) => {
        const out = Uint8Array.from(template)
        for (const [at, value] of flips) out[at % out.length] = value
        return flips.length === 0 ? out.subarray(0, 1 + cut % out.length) : out
      })
  )
}
