import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  createRoomState, decodeRoomMessage, encodeRoomMessage, nextClock, participantsOf, reduceRoom, snapshotOf,
  stationKeyFromSeed, type RoomEvent, type RoomMessage, type RoomState
} from '../src/index.ts'
import vectors from './fixtures/vectors.json'
import { seed } from './fixtures/draft.ts'

const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
const unhex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (x) => parseInt(x, 16))

const station = stationKeyFromSeed(seed(1))
const [alice, bob, carol, dan] = [2, 3, 4, 5].map((n) => stationKeyFromSeed(seed(n))) as [typeof station, typeof station, typeof station, typeof station]
const room = station.id

const ev = (from: string, clock: number, message: RoomMessage): RoomEvent => ({ room, from, clock, message })
const apply = (events: RoomEvent[], state: RoomState = createRoomState(room)): RoomState => events.reduce(reduceRoom, state)
const view = (state: RoomState, id: string) => participantsOf(state).find((p) => p.id === id)

describe('room messages', () => {
  it('encodes to the known-answer bytes and verifies', () => {
    const bytes = encodeRoomMessage(alice, { room, clock: 3, message: { type: 'self-mute', muted: true } })
    expect(hex(bytes)).toBe(vectors.room.bytes)
    expect(decodeRoomMessage(unhex(vectors.room.bytes), room)).toEqual({
      ok: true, value: { room, from: alice.id, clock: 3, message: { type: 'self-mute', muted: true } }
    })
  })

  it('round-trips every message type', () => {
    const messages: RoomMessage[] = [
      { type: 'join', name: 'Alice' }, { type: 'leave' }, { type: 'self-mute', muted: false }, { type: 'snapshot-request' },
      { type: 'admit', peer: alice.id }, { type: 'hold', peer: alice.id }, { type: 'mute', peer: alice.id },
      { type: 'unmute', peer: alice.id }, { type: 'gain', peer: alice.id, db: -6.5 }, { type: 'kick', peer: alice.id },
      { type: 'on-air' }, { type: 'off-air' }, { type: 'grant', peer: bob.id, producer: true },
      { type: 'snapshot', state: snapshotOf(apply([ev(alice.id, 1, { type: 'join', name: 'Alice' })])) }
    ]
    for (const message of messages) {
      const decoded = decodeRoomMessage(encodeRoomMessage(station, { room, clock: 9, message }), room)
      expect(decoded.ok && decoded.value.message).toEqual(message)
    }
  })

  it('rejects tampering, another room, and invalid fields', () => {
    const bytes = encodeRoomMessage(alice, { room, clock: 1, message: { type: 'join', name: 'Alice' } })
    fc.assert(fc.property(fc.nat({ max: bytes.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, delta) => {
      const tampered = Uint8Array.from(bytes)
      tampered[i] = ((tampered[i] as number) + delta) & 0xff
      expect(decodeRoomMessage(tampered, room).ok).toBe(false)
    }), { numRuns: 300 })
    const other = decodeRoomMessage(bytes, bob.id)
    expect(other.ok || other.error.name).toBe('WrongStationError')
    expect(() => encodeRoomMessage(alice, { room, clock: 1, message: { type: 'gain', peer: bob.id, db: 40 } })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    const big = decodeRoomMessage(new Uint8Array(100_000), room)
    expect(big.ok || big.error.name).toBe('TooLargeError')
    expect(decodeRoomMessage(new Uint8Array([1, 2, 3]), room).ok).toBe(false)
  })
})

describe('room reducer', () => {
  const joined = apply([
    ev(alice.id, 1, { type: 'join', name: 'Alice' }),
    ev(bob.id, 1, { type: 'join', name: 'Bob' })
  ])

  it('puts joiners in the green room and lets the producer take them to air', () => {
    expect(view(joined, alice.id)).toMatchObject({ name: 'Alice', stage: 'green-room', muted: false })
    const onAir = apply([ev(room, 2, { type: 'admit', peer: alice.id })], joined)
    expect(view(onAir, alice.id)?.stage).toBe('on-air')
    expect(view(apply([ev(room, 3, { type: 'hold', peer: alice.id })], onAir), alice.id)?.stage).toBe('green-room')
  })

  it('keeps a returning participant\'s place, whatever its clock; leaving gives the place up', () => {
    const onAir = apply([ev(room, 2, { type: 'admit', peer: alice.id })], joined)
    expect(view(apply([ev(alice.id, 9, { type: 'join', name: 'Alice' })], onAir), alice.id)?.stage).toBe('on-air')
    const left = apply([ev(alice.id, 9, { type: 'leave' })], onAir)
    expect(view(left, alice.id)?.stage).toBe('left')
    expect(view(apply([ev(alice.id, 10, { type: 'join', name: 'Alice' })], left), alice.id)?.stage).toBe('green-room')
  })

  it('ignores control messages from anyone but the producer', () => {
    const forged = [
      ev(bob.id, 5, { type: 'mute', peer: alice.id }),
      ev(bob.id, 5, { type: 'admit', peer: bob.id }),
      ev(bob.id, 5, { type: 'kick', peer: alice.id }),
      ev(bob.id, 5, { type: 'on-air' }),
      ev(bob.id, 5, { type: 'grant', peer: bob.id, producer: true })
    ]
    const state = apply(forged, joined)
    expect(participantsOf(state)).toEqual(participantsOf(joined))
    expect(state.onAir).toBeUndefined()
  })

  it('lets self-mute be reported, but the producer mute wins', () => {
    const s1 = apply([ev(room, 2, { type: 'mute', peer: alice.id }), ev(alice.id, 3, { type: 'self-mute', muted: false })], joined)
    expect(view(s1, alice.id)).toMatchObject({ muted: true, producerMuted: true, selfMuted: false })
    const s2 = apply([ev(alice.id, 4, { type: 'self-mute', muted: true }), ev(room, 5, { type: 'unmute', peer: alice.id })], s1)
    expect(view(s2, alice.id)).toMatchObject({ muted: true, producerMuted: false, selfMuted: true })
    // Nobody else can set Alice's self-mute: a self-mute always applies to its sender.
    const s3 = apply([ev(bob.id, 9, { type: 'self-mute', muted: false })], s2)
    expect(view(s3, alice.id)?.selfMuted).toBe(true)
  })

  it('is last-write-wins by Lamport clock, not by arrival', () => {
    const late = apply([ev(room, 7, { type: 'gain', peer: alice.id, db: -3 }), ev(room, 4, { type: 'gain', peer: alice.id, db: 6 })], joined)
    expect(view(late, alice.id)?.gainDb).toBe(-3)
    expect(late.clock).toBe(7)
    expect(nextClock(late)).toBe(8)
  })

  it('honours granted producers, even when the grant arrives after their message', () => {
    const bobMutes = ev(bob.id, 6, { type: 'mute', peer: alice.id })
    const grant = ev(room, 5, { type: 'grant', peer: bob.id, producer: true })
    const before = apply([bobMutes], joined)
    expect(view(before, alice.id)?.producerMuted).toBe(false)
    expect(view(apply([grant], before), alice.id)?.producerMuted).toBe(true)
    expect(view(apply([grant, bobMutes], joined), alice.id)?.producerMuted).toBe(true)
    expect(view(apply([grant], joined), bob.id)?.producer).toBe(true)
  })

  it('keeps kicked participants out until the producer admits them again', () => {
    const kicked = apply([ev(room, 2, { type: 'kick', peer: alice.id }), ev(alice.id, 3, { type: 'join', name: 'Alice again' })], joined)
    expect(view(kicked, alice.id)?.stage).toBe('kicked')
    expect(view(apply([ev(room, 4, { type: 'admit', peer: alice.id })], kicked), alice.id)?.stage).toBe('on-air')
  })

  it('brings a late joiner to the same state through a snapshot', () => {
    const history = [
      ev(alice.id, 1, { type: 'join', name: 'Alice' }), ev(room, 2, { type: 'admit', peer: alice.id }),
      ev(room, 3, { type: 'mute', peer: alice.id }), ev(room, 4, { type: 'on-air' })
    ]
    const producer = apply(history)
    const late = apply([ev(room, 5, { type: 'snapshot', state: snapshotOf(producer) })])
    expect(participantsOf(late)).toEqual(participantsOf(producer))
    expect(late.onAir).toEqual(producer.onAir)
    // A forged snapshot changes nothing.
    const forged = apply([ev(carol.id, 6, { type: 'snapshot', state: { participants: [{ id: alice.id, kicked: { v: true, t: { c: 99, p: carol.id } } }] } })], late)
    expect(participantsOf(forged)).toEqual(participantsOf(late))
  })

  it('caps the number of participants', () => {
    const joins = Array.from({ length: 80 }, (_, i) => ev(stationKeyFromSeed(seed(100 + i)).id, 1, { type: 'join', name: `P${i}` }))
    expect(participantsOf(apply(joins)).length).toBe(64)
  })

  it('converges whatever the order of delivery', () => {
    const peers = [room, alice.id, bob.id, carol.id, dan.id]
    const target = fc.constantFrom(alice.id, bob.id, carol.id, dan.id)
    const message: fc.Arbitrary<RoomMessage> = fc.oneof(
      fc.record({ type: fc.constant('join' as const), name: fc.constantFrom('A', 'B', 'C') }),
      fc.constant({ type: 'leave' as const }),
      fc.record({ type: fc.constant('self-mute' as const), muted: fc.boolean() }),
      fc.record({ type: fc.constantFrom('admit' as const, 'hold' as const, 'mute' as const, 'unmute' as const, 'kick' as const), peer: target }),
      fc.record({ type: fc.constant('gain' as const), peer: target, db: fc.integer({ min: -60, max: 12 }) }),
      fc.constantFrom({ type: 'on-air' as const }, { type: 'off-air' as const }),
      fc.record({ type: fc.constant('grant' as const), peer: target, producer: fc.constant(true) })
    )
    const event = fc.record({ from: fc.constantFrom(...peers), clock: fc.integer({ min: 1, max: 20 }), message })
      .map(({ from, clock, message }) => ev(from, clock, message))
    fc.assert(fc.property(fc.array(event, { maxLength: 40 }).chain((events) =>
      fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }))
    ), ([inOrder, shuffled]) => {
      const a = apply(inOrder)
      const b = apply(shuffled)
      expect(participantsOf(b)).toEqual(participantsOf(a))
      expect(b.onAir).toEqual(a.onAir)
      expect(b.clock).toBe(a.clock)
    }), { numRuns: 300 })
  })

  it('ignores messages for another room', () => {
    const state = createRoomState(room)
    expect(reduceRoom(state, { ...ev(room, 1, { type: 'on-air' }), room: alice.id })).toBe(state)
  })
})
