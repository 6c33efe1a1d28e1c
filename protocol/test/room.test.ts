import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  createRoomState, decodeRoomMessage, encodeRoomMessage, hasGap, isProducer, participantsOf, reduceRoom, ROOM_LIMITS, snapshotOf,
  stationKeyFromSeed, type RoomEvent, type RoomMessage, type RoomState
} from '../src/index.ts'
import vectors from './fixtures/vectors.json'
import { seed, T0 } from './fixtures/draft.ts'

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
const unhex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16))

const station = stationKeyFromSeed(seed(1))
const [alice, bob, carol, dan] = [2, 3, 4, 5].map((n) => stationKeyFromSeed(seed(n))) as [typeof station, typeof station, typeof station, typeof station]
const room = station.id
const EPOCH = T0

const ev = (from: string, n: number, message: RoomMessage, epoch = EPOCH): RoomEvent => ({ room, from, epoch, n, message })
/** The station's commands, numbered from `first`. */
const commands = (messages: RoomMessage[], first = 1, epoch = EPOCH): RoomEvent[] => messages.map((m, i) => ev(room, first + i, m, epoch))
const apply = (events: RoomEvent[], state: RoomState = createRoomState(room)): RoomState => events.reduce(reduceRoom, state)
const view = (state: RoomState, id: string) => participantsOf(state, T0).find((p) => p.id === id)

describe('room messages', () => {
  it('encodes to the known-answer bytes and verifies', () => {
    const bytes = encodeRoomMessage(alice, { room, epoch: vectors.room.epoch, n: vectors.room.n, message: { type: 'self-mute', muted: true } })
    expect(hex(bytes)).toBe(vectors.room.bytes)
    expect(decodeRoomMessage(unhex(vectors.room.bytes), room)).toEqual({
      ok: true, value: { room, from: alice.id, epoch: vectors.room.epoch, n: vectors.room.n, message: { type: 'self-mute', muted: true } }
    })
  })

  it('round-trips every message type', () => {
    const messages: RoomMessage[] = [
      { type: 'present', peer: alice.id, name: 'Alice' }, { type: 'absent', peer: alice.id }, { type: 'forget', peer: alice.id },
      { type: 'kick', peer: alice.id }, { type: 'self-muted', peer: alice.id, muted: true }, { type: 'on-air' }, { type: 'off-air' },
      { type: 'grant', peer: bob.id, expiresAt: T0 + 1000 }, { type: 'revoke', peer: bob.id },
      { type: 'admit', peer: alice.id }, { type: 'hold', peer: alice.id }, { type: 'mute', peer: alice.id },
      { type: 'unmute', peer: alice.id }, { type: 'gain', peer: alice.id, db: -6.5 },
      { type: 'leave' }, { type: 'self-mute', muted: false }, { type: 'snapshot-request' },
      { type: 'snapshot', state: snapshotOf(apply(commands([{ type: 'present', peer: alice.id, name: 'Alice' }]))) }
    ]
    for (const message of messages) {
      const decoded = decodeRoomMessage(encodeRoomMessage(station, { room, epoch: EPOCH, n: 9, message }), room)
      expect(decoded.ok && decoded.value.message).toEqual(message)
    }
  })

  it('rejects tampering, another room, invalid fields, a zero count and an older version', () => {
    const bytes = encodeRoomMessage(alice, { room, epoch: EPOCH, n: 1, message: { type: 'leave' } })
    fc.assert(fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, delta) => {
      const tampered = Uint8Array.from(bytes)
      tampered[i] = ((tampered[i] as number) + delta) & 0xff
      expect(decodeRoomMessage(tampered, room).ok).toBe(false)
    }), { numRuns: 300 })
    const other = decodeRoomMessage(bytes, bob.id)
    expect(other.ok || other.error.name).toBe('WrongStationError')
    expect(() => encodeRoomMessage(alice, { room, epoch: EPOCH, n: 1, message: { type: 'gain', peer: bob.id, db: 40 } })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(() => encodeRoomMessage(alice, { room, epoch: EPOCH, n: 0, message: { type: 'leave' } })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    const big = decodeRoomMessage(new Uint8Array(100_000), room)
    expect(big.ok || big.error.name).toBe('TooLargeError')
    expect(decodeRoomMessage(new Uint8Array([1, 2, 3]), room).ok).toBe(false)
    // A version 1 envelope (room protocol 1, Lamport clocks) is refused by its version.
    const v1 = unhex('a3616240617340617601')
    const old = decodeRoomMessage(v1, room)
    expect(old.ok || old.error.name).toBe('UnsupportedVersionError')
  })
})

describe('room reducer', () => {
  const joined = apply(commands([
    { type: 'present', peer: alice.id, name: 'Alice' },
    { type: 'present', peer: bob.id, name: 'Bob' }
  ]))

  it('puts callers the studio let in in the green room, and lets the producer take them to air', () => {
    expect(view(joined, alice.id)).toMatchObject({ name: 'Alice', stage: 'green-room', muted: false })
    const admitted = apply(commands([{ type: 'admit', peer: alice.id }], 3), joined)
    expect(view(admitted, alice.id)?.stage).toBe('on-air')
    expect(view(admitted, bob.id)?.stage).toBe('green-room')
  })

  it('keeps a dropped caller\'s place while its record lasts; a hold, a kick or a forget takes it away', () => {
    const onAir = apply(commands([{ type: 'admit', peer: alice.id }, { type: 'absent', peer: alice.id }], 3), joined)
    expect(view(onAir, alice.id)?.stage).toBe('left')
    const back = apply(commands([{ type: 'present', peer: alice.id, name: 'Alice' }], 5), onAir)
    expect(view(back, alice.id)?.stage).toBe('on-air')
    // Leaving: the studio holds, then marks absent; coming back starts in the green room.
    const left = apply(commands([{ type: 'hold', peer: alice.id }, { type: 'absent', peer: alice.id }, { type: 'present', peer: alice.id, name: 'Alice' }], 6), back)
    expect(view(left, alice.id)?.stage).toBe('green-room')
    const forgotten = apply(commands([{ type: 'forget', peer: alice.id }], 9), left)
    expect(view(forgotten, alice.id)).toBeUndefined()
  })

  it('changes nothing, not even its count, for a message from anyone but the station', () => {
    const strangers = [alice, bob, carol].flatMap((k) => [
      ev(k.id, 1, { type: 'present', peer: k.id, name: 'Me' }), ev(k.id, Number.MAX_SAFE_INTEGER, { type: 'on-air' }, Number.MAX_SAFE_INTEGER),
      ev(k.id, 2, { type: 'grant', peer: k.id, expiresAt: T0 * 2 }), ev(k.id, 3, { type: 'admit', peer: alice.id })
    ])
    expect(apply(strangers, joined)).toBe(joined)
    const next = apply(commands([{ type: 'mute', peer: alice.id }], 3), apply(strangers, joined))
    expect(view(next, alice.id)?.producerMuted).toBe(true)
  })

  it('records a caller\'s own mute beside the producer\'s, and either one silences', () => {
    const s = apply(commands([{ type: 'self-muted', peer: alice.id, muted: true }, { type: 'mute', peer: alice.id }, { type: 'self-muted', peer: alice.id, muted: false }], 3), joined)
    expect(view(s, alice.id)).toMatchObject({ selfMuted: false, producerMuted: true, muted: true })
  })

  it('applies commands in count order, whatever the order they arrive in, and each once', () => {
    const [c3, c4, c5] = commands([{ type: 'gain', peer: alice.id, db: 6 }, { type: 'gain', peer: alice.id, db: -3 }, { type: 'mute', peer: bob.id }], 3) as [RoomEvent, RoomEvent, RoomEvent]
    const early = apply([c5, c4], joined)
    expect(hasGap(early)).toBe(true)
    expect(view(early, alice.id)?.gainDb).toBe(0)
    const done = apply([c3], early)
    expect(hasGap(done)).toBe(false)
    expect(done.n).toBe(5)
    expect(view(done, alice.id)?.gainDb).toBe(-3)
    expect(view(done, bob.id)?.producerMuted).toBe(true)
    // Replays of applied commands change nothing.
    expect(apply([c3, c4, c5, c3], done)).toBe(done)
  })

  it('grants co-host authority until it expires or is revoked, and a kick revokes it', () => {
    const granted = apply(commands([{ type: 'grant', peer: bob.id, expiresAt: T0 + 1000 }], 3), joined)
    expect(isProducer(granted, bob.id, T0)).toBe(true)
    expect(view(granted, bob.id)?.producer).toBe(true)
    expect(isProducer(granted, bob.id, T0 + 1000)).toBe(false)
    expect(isProducer(apply(commands([{ type: 'revoke', peer: bob.id }], 4), granted), bob.id, T0)).toBe(false)
    const kicked = apply(commands([{ type: 'kick', peer: bob.id }], 4), granted)
    expect(isProducer(kicked, bob.id, T0)).toBe(false)
    expect(view(kicked, bob.id)?.stage).toBe('kicked')
    // Admitting a kicked caller again does not give its grant back.
    expect(isProducer(apply(commands([{ type: 'admit', peer: bob.id }], 5), kicked), bob.id, T0)).toBe(false)
    expect(isProducer(joined, room, T0)).toBe(true)
  })

  it('brings a late joiner to the station\'s state through a snapshot, and then follows on', () => {
    const producer = apply(commands([{ type: 'admit', peer: alice.id }, { type: 'mute', peer: alice.id }, { type: 'on-air' }], 3), joined)
    // A snapshot carries the count of the last command it covers, so it takes no count of its own.
    const snapshot = ev(room, producer.n, { type: 'snapshot', state: snapshotOf(producer) })
    const next = ev(room, producer.n + 1, { type: 'hold', peer: alice.id })
    // The next command comes first: it waits for the snapshot.
    const late = apply([next, snapshot])
    expect(late.n).toBe(6)
    expect(participantsOf(late, T0)).toEqual(participantsOf(reduceRoom(producer, next), T0))
    // The same snapshot again, or one older than the state, changes nothing.
    expect(reduceRoom(late, snapshot)).toBe(late)
    expect(late.onAir).toBe(true)
    // A snapshot from anyone else changes nothing.
    const forged = reduceRoom(late, ev(carol.id, 8, { type: 'snapshot', state: { onAir: false, participants: [] } }))
    expect(forged).toBe(late)
  })

  it('starts a newer station session from an empty room, and ignores an older one', () => {
    const later = EPOCH + 60_000
    const fresh = apply(commands([{ type: 'present', peer: carol.id, name: 'Carol' }], 1, later), joined)
    expect(fresh.epoch).toBe(later)
    expect(participantsOf(fresh, T0).map((p) => p.id)).toEqual([carol.id])
    expect(apply(commands([{ type: 'present', peer: dan.id, name: 'Dan' }], 2, EPOCH), fresh)).toBe(fresh)
  })

  it('bounds what it holds: participants, and commands waiting for earlier ones', () => {
    const many = apply(commands(Array.from({ length: 80 }, (_, i) => ({ type: 'present' as const, peer: stationKeyFromSeed(seed(100 + i)).id, name: `P${i}` }))))
    expect(participantsOf(many, T0).length).toBe(ROOM_LIMITS.participantsMax)
    const ahead = apply(commands(Array.from({ length: 200 }, () => ({ type: 'on-air' as const })), 10), joined)
    expect(ahead.pending.length).toBe(ROOM_LIMITS.pendingMax)
    expect(ahead.pending[0]?.n).toBe(10)
  })

  it('ignores messages for another room', () => {
    const state = createRoomState(room)
    expect(reduceRoom(state, { ...ev(room, 1, { type: 'on-air' }), room: alice.id })).toBe(state)
  })
})

describe('room convergence', () => {
  const target = fc.constantFrom(alice.id, bob.id, carol.id, dan.id)
  const command: fc.Arbitrary<RoomMessage> = fc.oneof(
    fc.record({ type: fc.constant('present' as const), peer: target, name: fc.constantFrom('A', 'B', 'C') }),
    fc.record({ type: fc.constantFrom('absent' as const, 'admit' as const, 'hold' as const, 'mute' as const, 'unmute' as const, 'kick' as const, 'revoke' as const), peer: target }),
    fc.record({ type: fc.constant('gain' as const), peer: target, db: fc.integer({ min: -60, max: 12 }) }),
    fc.record({ type: fc.constant('self-muted' as const), peer: target, muted: fc.boolean() }),
    fc.record({ type: fc.constant('grant' as const), peer: target, expiresAt: fc.constant(T0 + 1000) }),
    fc.constantFrom({ type: 'on-air' as const }, { type: 'off-air' as const })
  )
  /** Anything a non-producer might send: any type, any session and count, any claim. */
  const noise: fc.Arbitrary<RoomEvent> = fc.record({
    from: fc.constantFrom(alice.id, bob.id, carol.id, dan.id),
    epoch: fc.oneof(fc.constant(EPOCH), fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
    n: fc.oneof(fc.integer({ min: 1, max: 50 }), fc.constant(Number.MAX_SAFE_INTEGER)),
    message: fc.oneof(command, fc.constantFrom<RoomMessage>({ type: 'leave' }, { type: 'self-mute', muted: true }, { type: 'snapshot-request' }, { type: 'snapshot', state: { onAir: true, participants: [] } }))
  }).map((e) => ({ room, ...e }))

  it('for any interleaving of non-producers\' messages and replays, the station\'s commands take effect and every replica converges', () => {
    fc.assert(fc.property(
      fc.array(command, { minLength: 1, maxLength: 40 }),
      fc.array(noise, { maxLength: 40 }),
      fc.array(fc.nat(), { maxLength: 20 }),
      fc.nat(),
      (messages, junk, replays, seedOf) => {
        const station = commands(messages)
        const truth = apply(station)
        // Every station command arrives at least once; some again; in any order, mixed with the junk.
        const delivered = [...station, ...junk, ...replays.map((i) => station[i % station.length] as RoomEvent)]
        const shuffled = fc.sample(fc.shuffledSubarray(delivered, { minLength: delivered.length, maxLength: delivered.length }), { seed: seedOf, numRuns: 1 })[0] as RoomEvent[]
        const replica = apply(shuffled)
        expect(replica.n).toBe(station.length)
        expect(participantsOf(replica, T0)).toEqual(participantsOf(truth, T0))
        expect(replica.onAir).toBe(truth.onAir)
        // The station's next command takes effect at once.
        const next = ev(room, station.length + 1, { type: 'on-air' })
        expect(reduceRoom(replica, next).onAir).toBe(true)
      }), { numRuns: 300 })
  })
})
