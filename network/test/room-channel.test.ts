import { describe, expect, it } from 'vitest'
import { encodeAnnouncement, encodeRoomMessage, generateStationKey, participantsOf, signListenerReport, TOPIC, type ListenerReport, type RoomEvent } from '@openstudio/protocol'
import { Bus, join, Member } from './room-bus.ts'

describe('room channel', () => {
  const station = generateStationKey()
  const alice = generateStationKey()
  const bob = generateStationKey()

  it('applies the station\'s commands everywhere, and nobody else\'s', async () => {
    const bus = new Bus()
    const producer = join(bus, station.id, station)
    const a = join(bus, station.id, alice)
    const b = join(bus, station.id, bob)
    expect(producer.topic).toBe(TOPIC.room(station.id))
    await producer.command({ type: 'present', peer: alice.id, name: 'Alice' })
    await producer.command({ type: 'admit', peer: alice.id })
    // Bob's signed command, published on the topic and handed in directly: nobody applies it.
    const forged = encodeRoomMessage(bob, { room: station.id, epoch: producer.epoch, n: producer.state.n + 1, message: { type: 'mute', peer: alice.id } })
    await new Member(bus).publish(producer.topic, forged)
    expect(a.receive(forged)).toBeUndefined()
    for (const view of [producer, a, b]) {
      expect(participantsOf(view.state).find((p) => p.id === alice.id)).toMatchObject({ name: 'Alice', stage: 'on-air', muted: false })
      expect(view.state.n).toBe(2)
    }
    expect(a.rejections['not-from-station']).toBeGreaterThanOrEqual(2)
    await producer.command({ type: 'mute', peer: alice.id })
    expect(participantsOf(a.state).find((p) => p.id === alice.id)?.producerMuted).toBe(true)
  })

  it('signs requests that are not published, and only the station signs commands and snapshots', async () => {
    const bus = new Bus()
    const producer = join(bus, station.id, station)
    const a = join(bus, station.id, alice)
    const heard: RoomEvent[] = []
    producer.addEventListener('message:receive', (e) => { heard.push(e.detail) })
    const first = a.request({ type: 'self-mute', muted: true })
    const second = a.request({ type: 'leave' })
    expect(heard).toEqual([])
    expect(producer.verify(first, alice.id)).toMatchObject({ from: alice.id, epoch: a.epoch, n: 1 })
    expect(producer.verify(second, alice.id)?.n).toBe(2)
    await expect(a.command({ type: 'on-air' })).rejects.toThrow()
    expect(() => a.snapshot()).toThrow()
    // Before its first command, the station has nothing to snapshot.
    expect(() => producer.snapshot()).toThrow()
  })

  it('asks for a snapshot when commands come before the ones they follow, and a snapshot fills the gap', async () => {
    const producer = join(new Bus(), station.id, station)
    const late = join(new Bus(), station.id, alice)
    const gaps: number[] = []
    late.addEventListener('state:gap', (e) => { gaps.push(e.detail.pending.length) })
    await producer.command({ type: 'present', peer: alice.id, name: 'Alice' })
    await producer.command({ type: 'on-air' })
    const third = await producer.command({ type: 'admit', peer: alice.id })
    late.receive(third)
    expect(gaps).toEqual([1])
    expect(late.state.onAir).toBe(false)
    late.receive(producer.snapshot())
    expect(late.state.n).toBe(3)
    expect(late.state.onAir).toBe(true)
    expect(participantsOf(late.state).find((p) => p.id === alice.id)?.stage).toBe('on-air')
  })

  it('at the station, follows only its own session: a second studio with the same key changes nothing there', async () => {
    const bus = new Bus()
    const first = join(bus, station.id, station, { now: () => 1000 })
    const listener = join(bus, station.id, alice)
    await first.command({ type: 'on-air' })
    const second = join(bus, station.id, station, { now: () => 2000 })
    await second.command({ type: 'present', peer: bob.id, name: 'Bob' })
    expect(first.state.epoch).toBe(1000)
    expect(first.state.onAir).toBe(true)
    expect(first.rejections['other-session']).toBe(1)
    // Everyone else follows the newest session.
    expect(listener.state.epoch).toBe(2000)
  })

  it('drops forged, foreign and wrongly carried envelopes, and counts them by reason', async () => {
    const producer = join(new Bus(), station.id, station)
    const other = join(new Bus(), generateStationKey().id, alice)
    const rejected: string[] = []
    producer.addEventListener('message:reject', (e) => { rejected.push(e.detail.reason) })
    expect(producer.verify(other.request({ type: 'leave' }))).toBeUndefined()
    const tampered = join(new Bus(), station.id, alice).request({ type: 'leave' }).slice()
    // The envelope ends with the signature, then `v` (3 bytes).
    tampered[tampered.length - 4] = (tampered[tampered.length - 4] as number) ^ 1
    expect(producer.verify(tampered)).toBeUndefined()
    const genuine = join(new Bus(), station.id, alice).request({ type: 'leave' })
    expect(producer.verify(genuine, bob.id)).toBeUndefined()
    expect(producer.verify(new Uint8Array(100_000))).toBeUndefined()
    expect(rejected).toEqual(['WrongStationError', 'BadSignatureError', 'wrong-carrier', 'TooLargeError'])
    expect(producer.rejections).toMatchObject({ WrongStationError: 1, BadSignatureError: 1, 'wrong-carrier': 1, TooLargeError: 1 })
    expect(producer.verify(genuine, alice.id)?.message).toEqual({ type: 'leave' })
  })

  it('hands on a relay\'s listener report for its own station, not for another, and does not count it as a bad room message', async () => {
    const bus = new Bus()
    const caller = join(bus, station.id, alice)
    const relay = generateStationKey()
    const relayNode = new Member(bus)
    relayNode.subscribe()
    const reports: ListenerReport[] = []
    const rejected: string[] = []
    caller.addEventListener('listeners:report', (e) => reports.push(e.detail))
    caller.addEventListener('message:reject', (e) => rejected.push(e.detail.reason))
    const report = (room: string): Uint8Array => encodeAnnouncement({ type: 'listeners', report: signListenerReport({ station: room, relay: relay.id, mount: '/live.ogg', listeners: 12, at: Date.now() }, relay) })
    await relayNode.publish(TOPIC.room(station.id), report(station.id))
    await relayNode.publish(TOPIC.room(station.id), report(bob.id))
    expect(reports.map((r) => r.listeners)).toEqual([12])
    expect(rejected).toEqual([])
  })
})
