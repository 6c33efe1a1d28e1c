import { describe, expect, it } from 'vitest'
import { encodeAnnouncement, generateStationKey, participantsOf, signListenerReport, TOPIC, type ListenerReport, type StationKey } from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import { RoomChannel, type RoomChannelComponents } from '../src/room/channel.ts'
import type { Message } from '@libp2p/gossipsub'

/** An in-memory topic: every publish reaches every other subscriber. */
class Bus {
  readonly members = new Set<Member>()
}

class Member extends TypedEventEmitter<{ message: CustomEvent<Message> }> implements Pick<RoomChannelComponents['pubsub'], 'subscribe' | 'unsubscribe' | 'publish'> {
  constructor (private readonly bus: Bus) { super() }
  subscribe (): void { this.bus.members.add(this) }
  unsubscribe (): void { this.bus.members.delete(this) }
  async publish (topic: string, data: Uint8Array): Promise<never> {
    for (const m of this.bus.members) if (m !== this) m.safeDispatchEvent('message', { detail: { type: 'unsigned', topic, data } as Message })
    return undefined as never
  }
}

function join (bus: Bus, room: string, key: StationKey): RoomChannel {
  const channel = new RoomChannel({ pubsub: new Member(bus) as unknown as RoomChannelComponents['pubsub'] }, room, { id: key.id, secretKey: key.secretKey })
  channel.start()
  return channel
}

describe('room channel', () => {
  const station = generateStationKey()
  const alice = generateStationKey()
  const bob = generateStationKey()

  it('applies the producer\'s control messages everywhere, and nobody else\'s', async () => {
    const bus = new Bus()
    const producer = join(bus, station.id, station)
    const a = join(bus, station.id, alice)
    const b = join(bus, station.id, bob)
    expect(producer.topic).toBe(TOPIC.room(station.id))
    await a.send({ type: 'join', name: 'Alice' })
    await b.send({ type: 'join', name: 'Bob' })
    await producer.send({ type: 'admit', peer: alice.id })
    await b.send({ type: 'mute', peer: alice.id })
    for (const view of [producer, a, b]) {
      const me = participantsOf(view.state).find((p) => p.id === alice.id)
      expect(me).toMatchObject({ name: 'Alice', stage: 'on-air', muted: false })
    }
    await producer.send({ type: 'mute', peer: alice.id })
    expect(participantsOf(a.state).find((p) => p.id === alice.id)?.producerMuted).toBe(true)
  })

  it('drops forged, foreign and wrongly carried envelopes', async () => {
    const bus = new Bus()
    const producer = join(bus, station.id, station)
    const other = join(new Bus(), generateStationKey().id, alice)
    const rejected: string[] = []
    producer.addEventListener('message:reject', (e) => { rejected.push(e.detail.reason) })
    const foreign = await other.send({ type: 'join', name: 'Elsewhere' })
    expect(producer.receive(foreign)).toBeUndefined()
    const tampered = (await join(new Bus(), station.id, alice).send({ type: 'join', name: 'Alice' })).slice()
    tampered[tampered.length - 1] = (tampered[tampered.length - 1] as number) ^ 1
    expect(producer.receive(tampered)).toBeUndefined()
    const genuine = await join(new Bus(), station.id, alice).send({ type: 'join', name: 'Alice' })
    expect(producer.receive(genuine, bob.id)).toBeUndefined()
    expect(producer.receive(new Uint8Array(100_000))).toBeUndefined()
    expect(rejected).toHaveLength(4)
    expect(producer.receive(genuine, alice.id)?.message).toEqual({ type: 'join', name: 'Alice' })
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
