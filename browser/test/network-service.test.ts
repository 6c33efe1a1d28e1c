import { afterEach, describe, expect, it } from 'vitest'
import { NoRelayError, StationNotFoundError, TimeoutError } from '@openstudio/network'
import { encodeAnnouncement, generateStationKey, TOPIC } from '@openstudio/protocol'
import { ConfigError } from '../src/services/config.ts'
import { NETWORK_DEFAULTS, NetworkService, type NetworkStatus, type NetworkStatusChange } from '../src/services/network.ts'
import { fakeNetworkParts, resolvedStation, type FakeNetworkNode, type FakeNetworkParts } from './fakes/network-parts.ts'
import { Gate } from './fakes/studio-parts.ts'
import { settle, until } from './fakes/wait.ts'

const me = generateStationKey()
const relays = [generateStationKey(), generateStationKey()]
const station = generateStationKey()

const services: Array<NetworkService<FakeNetworkNode>> = []
afterEach(async () => {
  await Promise.all(services.splice(0).map(async (s) => s.stop()))
})

/** A network service on in-memory parts, with its status changes kept. */
function rig (): { network: NetworkService<FakeNetworkNode>, parts: FakeNetworkParts, changes: NetworkStatusChange[], statuses: () => NetworkStatus[] } {
  const parts = fakeNetworkParts(relays)
  const network = new NetworkService(parts.components, { identity: me })
  services.push(network)
  const changes: NetworkStatusChange[] = []
  network.addEventListener('status:change', (e) => { changes.push(e.detail) })
  return { network, parts, changes, statuses: () => changes.map((c) => c.status) }
}

/** Nothing of a run is left: no node runs, the directory topic is left, the status is idle. */
function idle (network: NetworkService<FakeNetworkNode>, parts: FakeNetworkParts): boolean {
  return network.status === 'idle' && network.libp2p === undefined && parts.nodes.every((n) => n.stops === 1) &&
    parts.bus.listeners(TOPIC.directory) === 0 && parts.pauses.waiting.length === 0
}

describe('NetworkService', () => {
  it('starts once however often asked: the configuration, a node on its identity, the relays, then online', async () => {
    const { network, parts, statuses, changes } = rig()
    const [a, b] = await Promise.all([network.start(), network.start()])
    expect(await network.start()).toBe(a)
    expect(b).toBe(a)
    expect(parts.configLoads).toBe(1)
    expect(parts.nodes).toEqual([a])
    expect(parts.identities).toEqual([me])
    expect(parts.joins.map((j) => j.relays)).toEqual([parts.config.relays])
    expect(network.libp2p).toBe(a)
    expect(network.config).toEqual(parts.config)
    expect(network.relayCount).toBe(2)
    expect(network.identity).toBe(me)
    expect(statuses()).toEqual(['loading-config', 'connecting', 'online'])
    expect(changes.at(-1)).toEqual({ status: 'online', error: undefined, relays: 2 })
    expect(parts.bus.listeners(TOPIC.directory)).toBe(1)
  })

  it('stops once however often asked, and leaves nothing running; a later start is a new one', async () => {
    const { network, parts, statuses } = rig()
    await network.start()
    await Promise.all([network.stop(), network.stop()])
    await network.stop()
    expect(idle(network, parts)).toBe(true)
    expect(statuses().at(-1)).toBe('idle')
    expect(network.relayCount).toBe(0)

    const again = await network.start()
    expect(parts.nodes).toHaveLength(2)
    expect(again).toBe(parts.nodes[1])
    expect(network.status).toBe('online')
  })

  it('a stop while the node starts leaves nothing running: the node that comes up late is stopped', async () => {
    const { network, parts } = rig()
    parts.nodeGate = new Gate()
    const starting = network.start()
    await until('the node to be starting', () => network.status === 'connecting')
    const stopping = network.stop()
    parts.nodeGate.open()
    await expect(starting).rejects.toMatchObject({ name: 'NetworkStoppedError' })
    await stopping
    expect(parts.nodes).toHaveLength(1)
    expect(parts.joins).toHaveLength(0)
    expect(idle(network, parts)).toBe(true)
  })

  it('a stop while it joins the relays aborts the join and stops the node', async () => {
    const { network, parts } = rig()
    parts.joinGate = new Gate()
    const starting = network.start()
    await until('the relay join', () => parts.joins[0])
    const stopping = network.stop()
    expect(parts.joins[0]?.signal?.aborted).toBe(true)
    parts.joinGate.open()
    await expect(starting).rejects.toMatchObject({ name: 'NetworkStoppedError' })
    await stopping
    expect(idle(network, parts)).toBe(true)
    // Its relay connections came up late, on a stopped node: nobody listens to them.
    expect(parts.nodes[0]?.listenerCount('peer:connect')).toBe(0)
  })

  it('a stop while the configuration loads: no node is started', async () => {
    const { network, parts } = rig()
    parts.configGate = new Gate()
    const starting = network.start()
    const stopping = network.stop()
    parts.configGate.open()
    await expect(starting).rejects.toMatchObject({ name: 'NetworkStoppedError' })
    await stopping
    expect(parts.nodes).toHaveLength(0)
    expect(network.status).toBe('idle')
  })

  it('a start during a stop waits for it and starts anew, unless another stop comes meanwhile', async () => {
    const { network, parts } = rig()
    await network.start()
    const stopping = network.stop()
    const restart = network.start()
    await stopping
    expect(await restart).toBe(parts.nodes[1])
    expect(parts.nodes).toHaveLength(2)
    expect(parts.nodes[0]?.stops).toBe(1)

    const stoppingAgain = network.stop()
    const cancelled = network.start()
    const stoppedLast = network.stop()
    await expect(cancelled).rejects.toMatchObject({ name: 'NetworkStoppedError' })
    await Promise.all([stoppingAgain, stoppedLast])
    expect(parts.nodes).toHaveLength(2)
    expect(idle(network, parts)).toBe(true)
  })

  it('a failed start rolls back, rejects with the typed error, says why for people, and the next start tries again', async () => {
    const { network, parts, changes } = rig()
    parts.joinErrors.push(new NoRelayError('no relay could be reached'))
    await expect(network.start()).rejects.toMatchObject({ name: 'NoRelayError' })
    expect(parts.nodes[0]?.stops).toBe(1)
    expect(network.status).toBe('error')
    expect(changes.at(-1)?.error).toMatch(/^No relay could be reached/)
    expect(parts.bus.listeners(TOPIC.directory)).toBe(0)

    await network.start()
    expect(parts.nodes).toHaveLength(2)
    expect(network.status).toBe('online')
    expect(network.error).toBeUndefined()
  })

  it('a configuration without relays fails the start with ConfigError', async () => {
    const { network, parts } = rig()
    parts.configError = new ConfigError('no relay is known: add one in Settings')
    await expect(network.start()).rejects.toMatchObject({ name: 'ConfigError' })
    expect(parts.nodes).toHaveLength(0)
    expect(network.error).toBe('no relay is known: add one in Settings')
  })

  it('a caller\'s signal abandons its own wait, not the start the others wait for', async () => {
    const { network, parts } = rig()
    parts.joinGate = new Gate()
    const abort = new AbortController()
    const mine = network.start({ signal: abort.signal })
    const theirs = network.start()
    await until('the relay join', () => parts.joins[0])
    abort.abort(new DOMException('the page was left', 'AbortError'))
    await expect(mine).rejects.toMatchObject({ name: 'AbortError' })
    expect(parts.joins[0]?.signal?.aborted).toBe(false)
    parts.joinGate.open()
    await expect(theirs).resolves.toBe(parts.nodes[0])
    expect(network.status).toBe('online')
  })

  it('resolves and dials on its node (starting it first), with the caller\'s signal', async () => {
    const { network, parts } = rig()
    const resolving = network.resolve(station.id)
    const resolve = await until('the resolve', () => parts.resolves[0])
    expect(resolve.args).toBe(station.id)
    expect(resolve.node).toBe(parts.nodes[0])
    const found = resolvedStation(station, 'Radio Kestrel')
    resolve.resolve(found)
    await expect(resolving).resolves.toBe(found)

    const abort = new AbortController()
    const dialling = network.dial(found.manifest, { signal: abort.signal, webrtcAttemptsMs: [3_000] })
    const dial = await until('the dial', () => parts.dials[0])
    expect(dial.args.manifest).toBe(found.manifest)
    expect(dial.args.init.webrtcAttemptsMs).toEqual([3_000])
    abort.abort(new DOMException('the caller hung up', 'AbortError'))
    await expect(dialling).rejects.toMatchObject({ name: 'AbortError' })
    expect(parts.nodes).toHaveLength(1)
  })

  it('passes the network layer\'s typed errors through', async () => {
    const { network, parts } = rig()
    const resolving = network.resolve(station.id)
    ;(await until('the resolve', () => parts.resolves[0])).reject(new StationNotFoundError('no record'))
    await expect(resolving).rejects.toMatchObject({ name: 'StationNotFoundError' })
    const listing = network.list()
    ;(await until('the list', () => parts.lists[0])).reject(new TimeoutError('the DHT did not answer'))
    await expect(listing).rejects.toMatchObject({ name: 'TimeoutError' })
  })

  it('a stop aborts every resolve, dial and list in flight', async () => {
    const { network, parts } = rig()
    const resolving = network.resolve(station.id)
    const listing = network.list()
    const resolve = await until('the resolve', () => parts.resolves[0])
    await until('the list', () => parts.lists[0])
    await network.stop()
    expect(resolve.signal?.aborted).toBe(true)
    await expect(resolving).rejects.toMatchObject({ name: 'NetworkStoppedError' })
    await expect(listing).rejects.toMatchObject({ name: 'NetworkStoppedError' })
    expect(idle(network, parts)).toBe(true)
  })

  it('forwards the stations and listener reports heard on the directory topic, and lists with them', async () => {
    const { network, parts } = rig()
    await network.start()
    const announced: string[] = []
    network.addEventListener('station:announce', (e) => { announced.push(e.detail.manifest.name) })
    const heard = resolvedStation(station, 'Radio Kestrel')
    await parts.bus.member().publish(TOPIC.directory, encodeAnnouncement({ type: 'station', record: heard.record }))
    expect(announced).toEqual(['Radio Kestrel'])
    expect(network.heard.map((s) => s.manifest.id)).toEqual([station.id])

    const listing = network.list({ tag: 'talk' })
    const list = await until('the list', () => parts.lists[0])
    expect([...list.args.known ?? []].map((s) => s.manifest.id)).toEqual([station.id])
    expect([...list.args.snapshotServers ?? []].map(String)).toEqual(parts.relayIds.map(String))
    expect(list.args.tag).toBe('talk')
    list.resolve([heard])
    await expect(listing).resolves.toEqual([heard])

    await network.stop()
    await parts.bus.member().publish(TOPIC.directory, encodeAnnouncement({ type: 'station', record: resolvedStation(generateStationKey(), 'Late').record }))
    expect(announced).toEqual(['Radio Kestrel'])
  })

  it('counts the relays; when the last drops it says connecting and redials with a doubling backoff until one is back', async () => {
    const { network, parts, changes } = rig()
    const node = await network.start()
    const [a, b] = parts.relayIds as [typeof parts.relayIds[0], typeof parts.relayIds[0]]
    node.disconnect(a)
    expect(changes.at(-1)).toEqual({ status: 'online', error: undefined, relays: 1 })
    expect(parts.pauses.waiting).toHaveLength(0)
    node.disconnect(b)
    expect(changes.at(-1)).toEqual({ status: 'connecting', error: undefined, relays: 0 })

    parts.joinErrors.push(new NoRelayError('no relay could be reached'))
    expect(await until('the first redial wait', () => parts.pauses.waiting[0]?.ms)).toBe(NETWORK_DEFAULTS.redialFirstMs)
    parts.pauses.elapse()
    await until('the first redial', () => parts.joins[1])
    expect(await until('the second redial wait', () => parts.pauses.waiting[0]?.ms)).toBe(NETWORK_DEFAULTS.redialFirstMs * 2)
    parts.pauses.elapse()
    await until('the second redial', () => parts.joins[2])
    await until('online again', () => network.status === 'online')
    expect(network.relayCount).toBe(2)
    await settle()
    expect(parts.pauses.waiting).toHaveLength(0)
    expect(parts.joins).toHaveLength(3)
  })

  it('a relay that comes back by itself ends the redial; a stop during a redial wait ends it too', async () => {
    const { network, parts } = rig()
    const node = await network.start()
    const [a, b] = parts.relayIds as [typeof parts.relayIds[0], typeof parts.relayIds[0]]
    node.disconnect(a)
    node.disconnect(b)
    await until('the redial wait', () => parts.pauses.waiting[0])
    node.connect(a)
    expect(network.status).toBe('online')
    parts.pauses.elapse()
    await settle()
    expect(parts.joins).toHaveLength(1)
    expect(parts.pauses.waiting).toHaveLength(0)

    node.disconnect(a)
    await until('the redial wait', () => parts.pauses.waiting[0])
    await network.stop()
    expect(idle(network, parts)).toBe(true)
    expect(parts.joins).toHaveLength(1)
  })
})
