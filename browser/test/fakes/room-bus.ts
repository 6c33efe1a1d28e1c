/**
 * An in-memory gossip topic for the room: every publish reaches every other
 * subscribed member at once, in order. It has no validator table, so the
 * RoomChannels on it check everything themselves.
 */
import { TypedEventEmitter } from 'main-event'
import type { RoomChannelComponents } from '@openstudio/network'
import type { Message } from '@libp2p/gossipsub'

export class MemoryBus {
  /** Members subscribed to some topic, with their topics. */
  readonly subscribed = new Map<BusMember, Set<string>>()

  /** A new node on the bus, as a RoomChannel's pubsub. */
  member (): RoomChannelComponents['pubsub'] & BusMember {
    return new BusMember(this) as unknown as RoomChannelComponents['pubsub'] & BusMember
  }

  /** How many members listen on `topic`. */
  listeners (topic: string): number {
    return [...this.subscribed.values()].filter((topics) => topics.has(topic)).length
  }
}

export class BusMember extends TypedEventEmitter<{ message: CustomEvent<Message> }> {
  constructor (private readonly bus: MemoryBus) {
    super()
  }

  subscribe (topic: string): void {
    const topics = this.bus.subscribed.get(this) ?? new Set()
    topics.add(topic)
    this.bus.subscribed.set(this, topics)
  }

  unsubscribe (topic: string): void {
    const topics = this.bus.subscribed.get(this)
    topics?.delete(topic)
    if (topics?.size === 0) this.bus.subscribed.delete(this)
  }

  async publish (topic: string, data: Uint8Array): Promise<void> {
    for (const [member, topics] of this.bus.subscribed) {
      if (member !== this && topics.has(topic)) member.safeDispatchEvent('message', { detail: { type: 'unsigned', topic, data } as Message })
    }
  }
}
