/**
 * An in-memory room topic for unit tests: every publish reaches every other
 * subscriber at once, in order. It has no validator table, so the channels on
 * it check everything themselves (see validateRoomTopic).
 */
import { TypedEventEmitter } from 'main-event'
import { RoomChannel, type RoomChannelComponents, type RoomChannelInit } from '../src/room/channel.ts'
import type { Message } from '@libp2p/gossipsub'
import type { StationKey } from '@openstudio/protocol'

/** An in-memory topic: every publish reaches every other subscriber. */
export class Bus {
  readonly members = new Set<Member>()
}

/** One node on a Bus. */
export class Member extends TypedEventEmitter<{ message: CustomEvent<Message> }> implements Pick<RoomChannelComponents['pubsub'], 'subscribe' | 'unsubscribe' | 'publish'> {
  constructor (private readonly bus: Bus) { super() }
  subscribe (): void { this.bus.members.add(this) }
  unsubscribe (): void { this.bus.members.delete(this) }
  async publish (topic: string, data: Uint8Array): Promise<never> {
    for (const m of this.bus.members) if (m !== this) m.safeDispatchEvent('message', { detail: { type: 'unsigned', topic, data } as Message })
    return undefined as never
  }
}

/** A started RoomChannel of `room` on `bus`, signed with `key`. */
export function join (bus: Bus, room: string, key: StationKey, init: RoomChannelInit = {}): RoomChannel {
  const channel = new RoomChannel({ pubsub: new Member(bus) as unknown as RoomChannelComponents['pubsub'] }, room, { id: key.id, secretKey: key.secretKey }, init)
  channel.start()
  return channel
}
