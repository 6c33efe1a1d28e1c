import { TypedEventEmitter, type PeerId } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair } from '@openstudio/node'
import { generateStationKey, TOPIC } from '@openstudio/protocol'
import { describe, expect, it } from 'vitest'
import { RoomRouter, type RoomRouterComponents } from '../src/rooms.ts'
import { servedStations } from '../src/stations.ts'

async function peer (): Promise<PeerId> {
  return peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
}

/** A router over an in-memory pubsub that records its subscriptions. */
function harness (init: { maxRooms?: number, perPeer?: number, perHost?: number, reserved?: number, stations?: string[] }, hosts = new Map<string, string>()) {
  const subscribed = new Set<string>()
  const subscribers = new Map<string, PeerId[]>()
  const refusals: string[] = []
  const pubsub = Object.assign(new TypedEventEmitter(), {
    subscribe: (topic: string) => { subscribed.add(topic) },
    unsubscribe: (topic: string) => { subscribed.delete(topic) },
    getSubscribers: (topic: string) => subscribers.get(topic) ?? []
  }) as unknown as RoomRouterComponents['pubsub']
  const router = new RoomRouter({
    pubsub,
    events: new TypedEventEmitter(),
    hostOf: (p) => hosts.get(p.toString()),
    stations: servedStations(init.stations),
    refusals: { refuse: (resource, reason) => { refusals.push(`${resource}/${reason}`) } }
  }, { maxRooms: init.maxRooms, roomsPerPeer: init.perPeer, roomsPerHost: init.perHost, reservedForStations: init.reserved })
  const subscribe = (p: PeerId, room: string): void => {
    subscribers.set(TOPIC.room(room), [...subscribers.get(TOPIC.room(room)) ?? [], p])
    router.handleSubscriptionChange(p, [{ topic: TOPIC.room(room), subscribe: true }])
  }
  const unsubscribe = (p: PeerId, room: string): void => {
    subscribers.set(TOPIC.room(room), (subscribers.get(TOPIC.room(room)) ?? []).filter((s) => !s.equals(p)))
    router.handleSubscriptionChange(p, [{ topic: TOPIC.room(room), subscribe: false }])
  }
  return { router, subscribed, refusals, subscribe, unsubscribe }
}

const room = (): string => generateStationKey().id

describe('RoomRouter limits', () => {
  it('lets one peer open only its share of made-up rooms', async () => {
    const { router, refusals, subscribe } = harness({ perPeer: 2 })
    const stranger = await peer()
    for (let i = 0; i < 5; i++) subscribe(stranger, room())
    expect(router.rooms.size).toBe(2)
    expect(refusals).toEqual(['room/per-peer', 'room/per-peer', 'room/per-peer'])
  })

  it('counts the rooms of every peer id of one host together', async () => {
    const hosts = new Map<string, string>()
    const { router, refusals, subscribe } = harness({ perPeer: 10, perHost: 3 }, hosts)
    for (let i = 0; i < 6; i++) {
      const p = await peer()
      hosts.set(p.toString(), 'ip4:203.0.113.9')
      subscribe(p, room())
    }
    expect(router.rooms.size).toBe(3)
    expect(refusals.filter((r) => r === 'room/per-host')).toHaveLength(3)
    const other = await peer()
    hosts.set(other.toString(), 'ip4:203.0.113.10')
    subscribe(other, room())
    expect(router.rooms.size).toBe(4)
  })

  it("keeps slots for the served stations' rooms that strangers cannot fill", async () => {
    const served = room()
    const { router, refusals, subscribe } = harness({ maxRooms: 4, reserved: 1, perPeer: 100, perHost: 100, stations: [served] })
    const stranger = await peer()
    for (let i = 0; i < 5; i++) subscribe(stranger, room())
    expect(router.rooms.size).toBe(3)
    expect(refusals).toEqual(['room/full', 'room/full'])
    subscribe(await peer(), served)
    expect(router.rooms.has(served)).toBe(true)
  })

  it("frees a peer's share when the rooms it opened close", async () => {
    const { router, subscribe, unsubscribe } = harness({ perPeer: 1 })
    const p = await peer()
    const [first, second] = [room(), room()]
    subscribe(p, first)
    subscribe(p, second)
    expect([...router.rooms]).toEqual([first])
    unsubscribe(p, first)
    expect(router.rooms.size).toBe(0)
    subscribe(p, second)
    expect([...router.rooms]).toEqual([second])
  })
})
