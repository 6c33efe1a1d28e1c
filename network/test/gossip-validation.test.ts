import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { peerIdFromString } from '@libp2p/peer-id'
import { TopicValidatorResult, type Message, type TopicValidatorFn } from '@libp2p/gossipsub'
import {
  buildManifest, decodeRoomMessage, encodeAnnouncement, encodeRoomMessage, signListenerReport, signManifest, stationKeyFromSeed, TOPIC,
  verifyAnnouncement, type StationKey
} from '@openstudio/protocol'
import { GOSSIP_SCORE } from '../src/libp2p/constants.ts'
import {
  DIRECTORY_MESSAGE_MAX_BYTES, directoryValidator, gossipScoreParams, releaseRoomTopic, roomValidator, RoomRejections, ROOM_TOPIC_MESSAGE_MAX_BYTES,
  validateDirectoryData, validateGossip, validateRoomData, validateRoomTopic
} from '../src/libp2p/gossip-validation.ts'
import { DRAFT, HOUR, seed, T0 } from '../../protocol/test/fixtures/draft.ts'

const { Accept, Ignore, Reject } = TopicValidatorResult
const station = stationKeyFromSeed(seed(1))
const other = stationKeyFromSeed(seed(2))
const relay = stationKeyFromSeed(seed(3))
const caller = stationKeyFromSeed(seed(4))
const NOW = T0 + 1000

const stationAnnouncement = (key: StationKey = station, now = T0): Uint8Array =>
  encodeAnnouncement({ type: 'station', record: signManifest(buildManifest(key.id, DRAFT, { seq: 1, now }), key).record })
const listenerAnnouncement = (about: string = station.id, at = T0): Uint8Array =>
  encodeAnnouncement({ type: 'listeners', report: signListenerReport({ station: about, relay: relay.id, mount: '/live.ogg', listeners: 7, at }, relay) })
/** A command the station signed for `room` (or, with `signer`, the same bytes signed by someone else). */
const roomEnvelope = (room: string = station.id, signer: StationKey = station): Uint8Array =>
  encodeRoomMessage(signer, { room, epoch: T0, n: 1, message: { type: 'present', peer: caller.id, name: 'Ada' } })

/** `bytes` with one byte changed (never to itself). */
const flipped = (bytes: Uint8Array, i: number, delta = 1): Uint8Array => {
  const copy = Uint8Array.from(bytes)
  copy[i] = ((copy[i] as number) + delta) & 0xff
  return copy
}

const message = (topic: string, data: Uint8Array): Message => ({ type: 'unsigned', topic, data })
const from = peerIdFromString(caller.id)
const run = async (validator: TopicValidatorFn, topic: string, data: Uint8Array): Promise<TopicValidatorResult> => validator(from, message(topic, data))

describe('directory topic validation', () => {
  it('accepts a signed station record and a relay-signed listener report', () => {
    expect(validateDirectoryData(stationAnnouncement(), NOW)).toBe(Accept)
    expect(validateDirectoryData(listenerAnnouncement(), NOW)).toBe(Accept)
  })

  it('rejects garbage, oversize messages, a flipped signature byte and room envelopes', () => {
    expect(validateDirectoryData(new Uint8Array(), NOW)).toBe(Reject)
    expect(validateDirectoryData(new Uint8Array([1, 2, 3]), NOW)).toBe(Reject)
    expect(validateDirectoryData(new Uint8Array(50 * 1024), NOW)).toBe(Reject)
    const valid = stationAnnouncement()
    const padded = new Uint8Array(DIRECTORY_MESSAGE_MAX_BYTES + 1)
    padded.set(valid)
    expect(validateDirectoryData(padded, NOW)).toBe(Reject)
    // The last bytes of the record are its signature.
    expect(validateDirectoryData(flipped(valid, valid.length - 1), NOW)).toBe(Reject)
    expect(validateDirectoryData(flipped(listenerAnnouncement(), listenerAnnouncement().length - 1), NOW)).toBe(Reject)
    expect(validateDirectoryData(roomEnvelope(), NOW)).toBe(Reject)
  })

  it('ignores what is only stale: an expired manifest, an old listener report', () => {
    expect(validateDirectoryData(stationAnnouncement(station, T0 - 30 * 24 * HOUR), NOW)).toBe(Ignore)
    expect(validateDirectoryData(listenerAnnouncement(station.id, T0 - HOUR), NOW)).toBe(Ignore)
  })

  it('is what the registered validator answers', async () => {
    const validator = directoryValidator({ now: () => NOW })
    expect(await run(validator, TOPIC.directory, stationAnnouncement())).toBe(Accept)
    expect(await run(validator, TOPIC.directory, new Uint8Array(50 * 1024).fill(7))).toBe(Reject)
  })
})

describe('room topic validation', () => {
  it('accepts a signed envelope for this room and a listener report about this station', () => {
    expect(validateRoomData(roomEnvelope(), station.id, NOW)).toBe(Accept)
    expect(validateRoomData(listenerAnnouncement(), station.id, NOW)).toBe(Accept)
  })

  it('rejects messages about another station, anyone else\'s room messages, station records, forgeries, garbage and oversize', () => {
    expect(validateRoomData(roomEnvelope(other.id), station.id, NOW)).toBe(Reject)
    expect(validateRoomData(roomEnvelope(station.id, caller), station.id, NOW)).toBe(Reject)
    expect(validateRoomData(encodeRoomMessage(caller, { room: station.id, epoch: T0, n: 1, message: { type: 'leave' } }), station.id, NOW)).toBe(Reject)
    expect(validateRoomData(listenerAnnouncement(other.id), station.id, NOW)).toBe(Reject)
    expect(validateRoomData(stationAnnouncement(), station.id, NOW)).toBe(Reject)
    const envelope = roomEnvelope()
    expect(validateRoomData(flipped(envelope, envelope.length - 1), station.id, NOW)).toBe(Reject)
    expect(validateRoomData(new Uint8Array([0xa0]), station.id, NOW)).toBe(Reject)
    expect(validateRoomData(new Uint8Array(ROOM_TOPIC_MESSAGE_MAX_BYTES + 1), station.id, NOW)).toBe(Reject)
  })

  it('ignores a stale listener report', () => {
    expect(validateRoomData(listenerAnnouncement(station.id, T0 - HOUR), station.id, NOW)).toBe(Ignore)
  })

  it('charges the sender of a rejected message, and only of a rejected one', async () => {
    const rejections = new RoomRejections({ now: () => NOW })
    const validator = roomValidator(station.id, { rejections, now: () => NOW })
    expect(await run(validator, TOPIC.room(station.id), roomEnvelope())).toBe(Accept)
    expect(await run(validator, TOPIC.room(station.id), listenerAnnouncement(station.id, T0 - HOUR))).toBe(Ignore)
    expect(rejections.score(from.toString())).toBe(0)
    expect(await run(validator, TOPIC.room(station.id), roomEnvelope(other.id))).toBe(Reject)
    expect(rejections.score(from.toString())).toBe(GOSSIP_SCORE.invalidMessages.weight)
  })
})

describe('validator registration', () => {
  const fakePubsub = (): { topicValidators: Map<string, TopicValidatorFn> } => ({ topicValidators: new Map() })

  it('validateGossip registers the directory validator, and room validators charge its ledger', async () => {
    const pubsub = fakePubsub()
    const rejections = new RoomRejections()
    validateGossip(pubsub, rejections)
    const directory = pubsub.topicValidators.get(TOPIC.directory)
    expect(directory).toBeDefined()
    expect(await run(directory as TopicValidatorFn, TOPIC.directory, new Uint8Array([1]))).toBe(Reject)
    validateRoomTopic(pubsub, station.id)
    const room = pubsub.topicValidators.get(TOPIC.room(station.id)) as TopicValidatorFn
    expect(await run(room, TOPIC.room(station.id), new Uint8Array([1]))).toBe(Reject)
    expect(rejections.score(from.toString())).toBeLessThan(0)
  })

  it('tells the drop listener of every message dropped, by topic kind and verdict, and of nothing accepted', async () => {
    const pubsub = fakePubsub()
    const dropped: string[] = []
    validateGossip(pubsub, new RoomRejections(), { now: () => NOW, onDrop: (kind, verdict) => { dropped.push(`${kind}-${verdict}`) } })
    validateRoomTopic(pubsub, station.id)
    const directory = pubsub.topicValidators.get(TOPIC.directory) as TopicValidatorFn
    const room = pubsub.topicValidators.get(TOPIC.room(station.id)) as TopicValidatorFn
    await run(directory, TOPIC.directory, stationAnnouncement())
    await run(directory, TOPIC.directory, new Uint8Array([1]))
    await run(room, TOPIC.room(station.id), roomEnvelope())
    await run(room, TOPIC.room(station.id), new Uint8Array([1]))
    expect(dropped).toEqual(['directory-reject', 'room-reject'])
  })

  it('counts holders: the validator goes with the last release, and a remover runs once', () => {
    const pubsub = fakePubsub()
    const topic = TOPIC.room(station.id)
    const first = validateRoomTopic(pubsub, station.id)
    const second = validateRoomTopic(pubsub, station.id)
    first()
    first()
    expect(pubsub.topicValidators.has(topic)).toBe(true)
    second()
    expect(pubsub.topicValidators.has(topic)).toBe(false)
    validateRoomTopic(pubsub, station.id)
    releaseRoomTopic(pubsub, station.id)
    releaseRoomTopic(pubsub, station.id)
    expect(pubsub.topicValidators.size).toBe(0)
  })

  it('leaves a pubsub without a validator table alone', () => {
    const release = validateRoomTopic({ subscribe: () => {} }, station.id)
    expect(() => { release() }).not.toThrow()
  })
})

describe('room rejection ledger', () => {
  it('decays by GOSSIP_SCORE.invalidMessages.decay per interval and forgets a count near zero', () => {
    let now = T0
    const rejections = new RoomRejections({ now: () => now })
    for (let i = 0; i < 3; i++) rejections.reject('junk')
    expect(rejections.score('junk')).toBeCloseTo(9 * GOSSIP_SCORE.invalidMessages.weight)
    expect(rejections.score('junk')).toBeLessThan(GOSSIP_SCORE.thresholds.graylistThreshold)
    now += 120 * GOSSIP_SCORE.decayIntervalMs
    expect(rejections.score('junk')).toBeCloseTo(GOSSIP_SCORE.invalidMessages.weight * 1.5 * 1.5)
    now += 3600 * GOSSIP_SCORE.decayIntervalMs
    expect(rejections.score('junk')).toBe(0)
    expect(rejections.size).toBe(0)
  })

  it('remembers at most maxPeers, the least recently charged forgotten first', () => {
    const rejections = new RoomRejections({ maxPeers: 2, now: () => T0 })
    rejections.reject('a')
    rejections.reject('b')
    rejections.reject('a')
    rejections.reject('c')
    expect(rejections.size).toBe(2)
    expect(rejections.score('b')).toBe(0)
    expect(rejections.score('a')).toBeLessThan(0)
  })
})

describe('peer scoring', () => {
  const params = gossipScoreParams(new RoomRejections())
  const directory = params.topics?.[TOPIC.directory]
  /** The most a peer can earn on the directory topic: P1 and P2 at their caps. */
  const maxReward = GOSSIP_SCORE.timeInMesh.weight * GOSSIP_SCORE.timeInMesh.cap + GOSSIP_SCORE.firstDeliveries.weight * GOSSIP_SCORE.firstDeliveries.cap
  const junk = (n: number): number => GOSSIP_SCORE.topicWeight * GOSSIP_SCORE.invalidMessages.weight * n * n

  it('scores the directory topic within what gossipsub accepts, with no IP-colocation penalty', () => {
    expect(params.IPColocationFactorWeight).toBe(0)
    expect(params.appSpecificWeight).toBeGreaterThan(0)
    expect(directory).toBeDefined()
    if (directory === undefined) return
    expect(directory.invalidMessageDeliveriesWeight).toBeLessThan(0)
    for (const decay of [directory.invalidMessageDeliveriesDecay, directory.firstMessageDeliveriesDecay]) {
      expect(decay).toBeGreaterThan(0)
      expect(decay).toBeLessThan(1)
    }
    expect(directory.meshMessageDeliveriesWeight).toBe(0)
    expect(directory.meshFailurePenaltyWeight).toBe(0)
    const { gossipThreshold, publishThreshold, graylistThreshold } = GOSSIP_SCORE.thresholds
    expect(gossipThreshold).toBeLessThanOrEqual(0)
    expect(publishThreshold).toBeLessThanOrEqual(gossipThreshold)
    expect(graylistThreshold).toBeLessThanOrEqual(publishThreshold)
  })

  it('lets one mistake pass, and graylists three pieces of junk whatever the reward', () => {
    expect(junk(1)).toBeGreaterThanOrEqual(GOSSIP_SCORE.thresholds.gossipThreshold)
    expect(junk(3) + maxReward).toBeLessThan(GOSSIP_SCORE.thresholds.graylistThreshold)
  })
})

describe('validation properties', () => {
  const valid = { station: stationAnnouncement(), listeners: listenerAnnouncement(), room: roomEnvelope() }
  const verifiesOnDirectory = (data: Uint8Array): boolean => verifyAnnouncement(data, NOW).ok
  const verifiesInRoom = (data: Uint8Array): boolean => {
    const envelope = decodeRoomMessage(data, station.id)
    if (envelope.ok) return envelope.value.from === station.id
    const announcement = verifyAnnouncement(data, NOW)
    return announcement.ok && announcement.value.type === 'listeners' && announcement.value.report.station === station.id
  }
  const verdicts = (data: Uint8Array): { directory: TopicValidatorResult, room: TopicValidatorResult } =>
    ({ directory: validateDirectoryData(data, NOW), room: validateRoomData(data, station.id, NOW) })

  it('never accepts or throws on random bytes', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 2048 }), (data) => {
      const { directory, room } = verdicts(data)
      expect(directory === Accept ? verifiesOnDirectory(data) : true).toBe(true)
      expect(room === Accept ? verifiesInRoom(data) : true).toBe(true)
    }), { numRuns: 500 })
  })

  it('accepts a mutated valid message only when it still verifies, and never throws', () => {
    const mutation = fc.constantFrom(...Object.values(valid)).chain((bytes) => fc.oneof(
      // One byte changed.
      fc.tuple(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 })).map(([i, delta]) => flipped(bytes, i, delta)),
      // Cut short.
      fc.nat({ max: bytes.length - 1 }).map((n) => bytes.subarray(0, n)),
      // Bytes inserted.
      fc.tuple(fc.nat({ max: bytes.length }), fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([i, extra]) => {
        const out = new Uint8Array(bytes.length + extra.length)
        out.set(bytes.subarray(0, i))
        out.set(extra, i)
        out.set(bytes.subarray(i), i + extra.length)
        return out
      })
    ))
    fc.assert(fc.property(mutation, (data) => {
      const { directory, room } = verdicts(data)
      expect(directory === Accept ? verifiesOnDirectory(data) : true).toBe(true)
      expect(room === Accept ? verifiesInRoom(data) : true).toBe(true)
    }), { numRuns: 500 })
  })
})
