/**
 * Real relays on loopback for the integration tests and benchmarks.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { openClient, publishStation, type OpenStudioNode, type PublishResult } from '@openstudio/node'
import {
  buildManifest, generateStationKey, signManifest, TOPIC, verifyAnnouncement, type ManifestDraftInput, type ProgramStart, type StationKey, type VerifiedAnnouncement
} from '@openstudio/protocol'
import { Relay, type RelayInit } from '@openstudio/relay'
import { waitUntil } from './wait.ts'

export const LOOPBACK_LISTEN = ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']

/** A temporary directory removed by `cleanup`. */
export async function tempDir (prefix = 'openstudio-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix))
}

export async function removeDir (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

/** What a test needs to reach a relay, whether it runs in this thread or in another. */
export type RelayAddresses = Pick<Relay, 'peerId' | 'multiaddrs'>

/** The TCP multiaddr (with /p2p/) of a relay. */
export function tcpAddr (relay: RelayAddresses): string {
  const addr = relay.multiaddrs.find((a) => a.includes('/tcp/') && !a.includes('/ws'))
  if (addr === undefined) throw new Error(`relay ${relay.peerId} has no TCP address`)
  return addr
}

/**
 * Every test node connects from 127.0.0.1, one host: the relay's directory
 * lets that host add stations as fast as a test publishes them (the flood
 * tests use hosts and limits of their own, tests/adversarial/directory.test.ts).
 */
const TEST_HOST_DIRECTORY = { newPerSource: { burst: 10_000, perMinute: 60_000 } }

export async function startRelay (init: RelayInit = {}): Promise<Relay> {
  return Relay.create({ listen: LOOPBACK_LISTEN, allowPrivate: true, directory: TEST_HOST_DIRECTORY, ...init })
}

/**
 * Starts `n` relays, each bootstrapped to the one before, and settles their
 * routing tables (see settle).
 */
export async function startRelayChain (n: number, init: RelayInit = {}): Promise<Relay[]> {
  const relays: Relay[] = []
  for (let i = 0; i < n; i++) {
    const previous = relays[i - 1]
    relays.push(await startRelay({ ...init, bootstrap: previous === undefined ? [] : [tcpAddr(previous)] }))
  }
  await settle(relays.map((relay) => ({ dhtSize: () => dhtSize(relay.node), selfWalk: async () => selfWalk(relay.node) })))
  return relays
}

/** A DHT server that `settle` drives, in this thread or in another. */
export interface SettlingServer {
  dhtSize: () => number | Promise<number>
  selfWalk: () => Promise<void>
}

/**
 * Brings a fresh chain's routing tables to where a network that has run for
 * a while has them: every relay knows the others. Just after start a relay
 * knows only its neighbours, so a put reaches a few servers instead of the K
 * closest (measured on 20 relays: tables of 2–13 peers, records stored on
 * 1–20 servers). kad-dht walks towards its own id and refreshes its table
 * every 5 minutes; once each server has a peer, this runs those self-walks
 * now, a few rounds, and returns the table sizes.
 */
export async function settle (servers: SettlingServer[], rounds = 3): Promise<number[]> {
  const sizes = async (): Promise<number[]> => Promise.all(servers.map(async (s) => s.dhtSize()))
  await waitUntil('every relay to have a DHT peer', async () => (await sizes()).every((n) => n > 0))
  for (let round = 0; round < rounds && (await sizes()).some((n) => n < servers.length - 1); round++) {
    await Promise.all(servers.map(async (s) => s.selfWalk()))
  }
  return sizes()
}

/** One walk towards the node's own id: what fills a kad-dht routing table. */
export async function selfWalk (node: OpenStudioNode): Promise<void> {
  for await (const _ of node.services.dht.getClosestPeers(node.peerId.toMultihash().bytes)) { /* the walk fills the table */ }
}

export function dhtSize (node: OpenStudioNode): number {
  return (node.services.dht as unknown as { routingTable: { size: number } }).routingTable.size
}

export async function stopAll (relays: Array<{ stop: () => Promise<void> }>): Promise<void> {
  await Promise.all(relays.map(async (r) => r.stop()))
}

/** A valid draft for test station `n`. */
export function draftFor (n: number, tags: string[] = ['talk']): ManifestDraftInput {
  return {
    name: `Test Station ${String(n).padStart(3, '0')}`,
    description: `Station number ${n}`,
    tags,
    language: 'en',
    country: 'GB',
    homepage: `https://station${n}.example/`,
    streams: [{ url: `http://127.0.0.1:8000/s${n}.ogg`, codec: 'opus', bitrate: 96, mount: `/s${n}.ogg` }],
    access: 'open'
  }
}

/** Publishes a station through a relay from the station's own short-lived node. */
export async function publishThrough (relay: RelayAddresses, draft: ManifestDraftInput, key: StationKey = generateStationKey()): Promise<PublishResult & { key: StationKey }> {
  const node = await openClient({ bootstrap: [tcpAddr(relay)], stationKey: key, allowPrivate: true })
  try {
    const result = await publishStation({ ...node.services, peerId: node.peerId }, { key, draft, relays: [tcpAddr(relay)] })
    return { ...result, key }
  } finally {
    await node.stop()
  }
}

/** A client node joined through `relay`. */
export async function clientOf (relay: RelayAddresses): Promise<OpenStudioNode> {
  return openClient({ bootstrap: [tcpAddr(relay)], allowPrivate: true })
}

/** A program stream's `start` for station `key`: its signed manifest (draftFor(1)), Ogg Opus 64 kb/s stereo. */
export function programStartOf (key: StationKey): ProgramStart {
  return {
    type: 'start',
    record: signManifest(buildManifest(key.id, draftFor(1), { seq: 1, now: Date.now() }), key).record,
    format: 'ogg-opus',
    bitrate: 64,
    channels: 2,
    sampleRate: 48_000
  }
}

/**
 * Someone in `station`'s room, joined through `relay`: every announcement
 * that verifies on the room topic goes into the returned list. The client
 * goes into `nodes`, for the caller to stop.
 */
export async function roomListener (relay: Relay, station: string, nodes: OpenStudioNode[]): Promise<VerifiedAnnouncement[]> {
  const client = await clientOf(relay)
  nodes.push(client)
  await subscribeVia(client, relay, TOPIC.room(station))
  const heard: VerifiedAnnouncement[] = []
  client.services.pubsub.addEventListener('message', (e) => {
    const verified = e.detail.topic === TOPIC.room(station) ? verifyAnnouncement(e.detail.data, Date.now()) : undefined
    if (verified?.ok === true) heard.push(verified.value)
  })
  return heard
}

/** Subscribes `client` to `topic` and waits until `relay`'s gossipsub sees the subscription. */
export async function subscribeVia (client: OpenStudioNode, relay: Relay, topic: string): Promise<void> {
  client.services.pubsub.subscribe(topic)
  await waitUntil(`${relay.peerId} to see ${client.peerId.toString()} subscribed to ${topic}`,
    () => relay.node.services.pubsub.getSubscribers(topic).some((p) => p.equals(client.peerId)))
}
