/**
 * The relay's room routing and `/openstudio/turn/1`, with real parts: relays
 * on loopback, a real coturn, and client nodes. A relay that serves a station
 * gives credentials that coturn accepts to the station's own node and to a
 * peer with a call pass the station signed for it; strangers are refused,
 * whatever room they are subscribed to; bad streams leave the relay healthy;
 * room topics are routed while a peer is in the room.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { openClient, requestTurnServers, type OpenStudioNode } from '@openstudio/node'
import {
  CALL_PASS_TTL_MS, createCallPass, decodeRoomMessage, decodeTurnResponse, encodeRoomMessage, encodeTurnRequest, generateStationKey, PROTOCOL, TOPIC, type StationKey, type TurnResponse
} from '@openstudio/protocol'
import type { Relay } from '@openstudio/relay'
import type { Stream } from '@libp2p/interface'
import { allocate, startCoturn, type Coturn } from '../src/coturn.ts'
import { clientOf, dhtSize, startRelay, stopAll, subscribeVia, tcpAddr } from '../src/network.ts'
import { waitUntil } from '../src/wait.ts'

const SECRET = 'relay-and-coturn-share-this-too'
/** Every client here comes from 127.0.0.1, one host: the shared relay's per-host limit must not be what a test meets. */
const LOOPBACK_HOST_REQUESTS = 1_000

describe('relay TURN credentials and room routing', () => {
  let turn: Coturn
  let relay: Relay
  let plain: Relay
  /** The station `relay` serves. */
  const station: StationKey = generateStationKey()
  const clients: OpenStudioNode[] = []

  const client = async (through: Relay = relay): Promise<OpenStudioNode> => {
    const node = await clientOf(through)
    clients.push(node)
    return node
  }
  const turnUrl = (): string => `turn:127.0.0.1:${turn.port}?transport=udp`
  const turnInit = (extra: { requestsPerHostPerMinute?: number } = {}): NonNullable<Parameters<typeof startRelay>[0]>['turn'] =>
    ({ urls: [turnUrl()], secret: new TextEncoder().encode(SECRET), timeoutMs: 1500, requestsPerHostPerMinute: LOOPBACK_HOST_REQUESTS, ...extra })
  const relayAddr = (r: Relay = relay): ReturnType<typeof multiaddr> => multiaddr(tcpAddr(r))
  /** What the studio puts in its welcome to `node`. */
  const passFor = (node: OpenStudioNode, key: StationKey = station): string => createCallPass(key, { peer: node.peerId.toString(), expiresAt: Date.now() + CALL_PASS_TTL_MS })

  beforeAll(async () => {
    turn = await startCoturn(SECRET)
    relay = await startRelay({ http: { host: '127.0.0.1', port: 0 }, turn: turnInit(), stations: [station.id] })
    plain = await startRelay({ bootstrap: [tcpAddr(relay)] })
    await waitUntil('the two relays to know each other as DHT servers', () => dhtSize(relay.node) > 0 && dhtSize(plain.node) > 0)
  })

  afterAll(async () => {
    await Promise.all(clients.map(async (c) => c.stop()))
    await stopAll([relay, plain].filter((r) => r !== undefined))
    await turn?.stop()
  })

  async function health (): Promise<{ status: string, rooms: number, turn: boolean }> {
    const { host, port } = relay.httpAddress ?? { host: '', port: 0 }
    const res = await fetch(`http://${host}:${port}/health`)
    expect(res.status).toBe(200)
    return res.json() as Promise<{ status: string, rooms: number, turn: boolean }>
  }

  async function metrics (): Promise<string> {
    const { host, port } = relay.httpAddress ?? { host: '', port: 0 }
    return (await fetch(`http://${host}:${port}/metrics`)).text()
  }

  it('gives a peer with a pass the station signed credentials that allocate on coturn', async () => {
    const caller = await client()
    const granted = await requestTurnServers(caller, relay.node.peerId, station.id, { pass: passFor(caller) })
    expect(granted.iceServers).toHaveLength(1)
    const [server] = granted.iceServers
    expect(server?.urls).toEqual([turnUrl()])
    expect(server?.username).toBe(`${granted.expiresAt}:${caller.peerId.toString()}`)
    expect(granted.expiresAt).toBeGreaterThan(Date.now() / 1000)
    expect(await allocate(turn, server?.username ?? '', server?.credential ?? '')).toBe(0)
  })

  it("gives the station's own node credentials without a pass", async () => {
    const studio = await openClient({ bootstrap: [tcpAddr(relay)], allowPrivate: true, stationKey: station })
    clients.push(studio)
    expect(studio.peerId.toString()).toBe(station.id)
    const granted = await requestTurnServers(studio, relayAddr(), station.id)
    expect(granted.iceServers[0]?.username).toBe(`${granted.expiresAt}:${station.id}`)
    expect(await allocate(turn, granted.iceServers[0]?.username ?? '', granted.iceServers[0]?.credential ?? '')).toBe(0)
  })

  it('refuses a stranger subscribed to a made-up room: the relay does not serve it', async () => {
    const madeUp = generateStationKey()
    const stranger = await client()
    await subscribeVia(stranger, relay, TOPIC.room(madeUp.id))
    await expect(requestTurnServers(stranger, relayAddr(), madeUp.id)).rejects.toMatchObject({ name: 'TurnRefusedError', reason: 'not-served' })
    // Even with a pass it signed for itself: its made-up station is not served here.
    await expect(requestTurnServers(stranger, relayAddr(), madeUp.id, { pass: passFor(stranger, madeUp) })).rejects.toMatchObject({ name: 'TurnRefusedError', reason: 'not-served' })
  })

  it('refuses a stranger asking about a served station without a pass of its own', async () => {
    const stranger = await client()
    // In the room: that does not count.
    await subscribeVia(stranger, relay, TOPIC.room(station.id))
    await expect(requestTurnServers(stranger, relayAddr(), station.id)).rejects.toMatchObject({ name: 'TurnRefusedError', reason: 'no-pass' })
    // Someone else's pass, or one signed by a key that is not the station's.
    const other = await client()
    await expect(requestTurnServers(stranger, relayAddr(), station.id, { pass: passFor(other) })).rejects.toMatchObject({ name: 'TurnRefusedError', reason: 'no-pass' })
    await expect(requestTurnServers(stranger, relayAddr(), station.id, { pass: passFor(stranger, generateStationKey()) })).rejects.toMatchObject({ name: 'TurnRefusedError', reason: 'no-pass' })
  })

  it('a relay without TURN does not offer the protocol', async () => {
    expect(plain.node.getProtocols()).not.toContain(PROTOCOL.turn)
    expect(relay.node.getProtocols()).toContain(PROTOCOL.turn)
    const caller = await client(plain)
    await expect(requestTurnServers(caller, plain.node.peerId, station.id, { pass: passFor(caller) })).rejects.toMatchObject({ name: 'TurnUnavailableError' })
  })

  it('limits each peer to a few requests a minute, and counts grants and refusals', async () => {
    const eager = await client()
    const pass = passFor(eager)
    for (let i = 0; i < 6; i++) await requestTurnServers(eager, relay.node.peerId, station.id, { pass })
    await expect(requestTurnServers(eager, relay.node.peerId, station.id, { pass })).rejects.toMatchObject({ name: 'TurnRefusedError', reason: 'rate-limited' })
    const text = await metrics()
    expect(Number(/openstudio_relay_turn_requests_total\{result="granted"\} (\d+)/.exec(text)?.[1])).toBeGreaterThanOrEqual(8)
    for (const result of ['rate-limited', 'not-served', 'no-pass']) expect(text).toMatch(new RegExp(`openstudio_relay_turn_requests_total\\{result="${result}"\\} [1-9]`))
    expect(text).toMatch(/openstudio_relay_turn_requests_total\{result="host-rate-limited"\} 0/)
    // The relay's one refusal counter has them too.
    expect(text).toMatch(/openstudio_relay_refused_total\{resource="turn",reason="no-pass"\} [1-9]/)
    expect(text).toMatch(/openstudio_relay_rooms \d+/)
  })

  it('limits each host, whatever its peer ids', async () => {
    const strict = await startRelay({ turn: turnInit({ requestsPerHostPerMinute: 2 }), stations: ['*'] })
    try {
      // Three peers, each with its own valid pass, all from 127.0.0.1.
      const peers = [await client(strict), await client(strict), await client(strict)]
      const ask = async (peer: OpenStudioNode): Promise<string> =>
        requestTurnServers(peer, strict.node.peerId, station.id, { pass: passFor(peer) }).then(() => 'granted', (err: Error & { reason?: string }) => err.reason ?? err.name)
      expect([await ask(peers[0] as OpenStudioNode), await ask(peers[1] as OpenStudioNode), await ask(peers[2] as OpenStudioNode)]).toEqual(['granted', 'granted', 'rate-limited'])
      expect(await strict.refusals.counts()).toMatchObject({ 'turn/host-rate-limited': 1 })
    } finally {
      await strict.stop()
    }
  })

  it('answers garbage and oversized requests with "malformed", cuts off stalled ones, and stays healthy', async () => {
    const prober = await client()

    // A well-framed request whose bytes are not CBOR.
    const garbage = await prober.dialProtocol(relayAddr(), PROTOCOL.turn)
    garbage.send(Uint8Array.of(5, 0xff, 0x00, 0x13, 0x37, 0x42))
    await garbage.close()
    expect(await readResponse(garbage)).toEqual({ ok: false, reason: 'malformed' })

    // A well-formed CBOR map that is not a TURN request.
    const wrongShape = await prober.dialProtocol(relayAddr(), PROTOCOL.turn)
    const notARequest = encodeTurnRequest({ room: station.id }).map((b, i) => i === 2 ? b ^ 0x01 : b)
    wrongShape.send(Uint8Array.of(notARequest.length, ...notARequest))
    await wrongShape.close()
    expect(await readResponse(wrongShape)).toEqual({ ok: false, reason: 'malformed' })

    // Declared lengths of 16 KiB and 1 MiB (over the 4 KiB cap), each followed by 64 KiB: refused without reading it all.
    for (const prefix of [[0xff, 0x7f], [0x80, 0x80, 0x40]]) {
      const oversized = await prober.dialProtocol(relayAddr(), PROTOCOL.turn)
      oversized.send(Uint8Array.from(prefix))
      oversized.send(new Uint8Array(64 * 1024))
      // Either it hears "malformed" or, if its flood overran the relay's buffer first, the stream is reset.
      const answer = await readResponse(oversized).catch((err: Error) => err)
      if (!(answer instanceof Error)) expect(answer).toEqual({ ok: false, reason: 'malformed' })
    }

    // A stalled requester: opens the stream and sends nothing. The relay aborts it.
    const stalled = await prober.dialProtocol(relayAddr(), PROTOCOL.turn)
    await waitUntil('the relay to cut off a stalled TURN stream', () => stalled.status !== 'open', 10_000)

    expect((await health()).status).toBe('ok')
    const granted = await requestTurnServers(prober, relay.node.peerId, station.id, { pass: passFor(prober) })
    expect(await allocate(turn, granted.iceServers[0]?.username ?? '', granted.iceServers[0]?.credential ?? '')).toBe(0)
  })

  it('routes a room while a peer is in it, and stops when the last one leaves or disconnects', async () => {
    const room = generateStationKey().id
    const topic = TOPIC.room(room)
    const routed = (): boolean => relay.node.services.pubsub.getTopics().includes(topic)
    expect(routed()).toBe(false)

    const first = await client()
    await subscribeVia(first, relay, topic)
    await waitUntil('the relay to route the room', routed)
    expect(relay.rooms.rooms.has(room)).toBe(true)
    expect((await health()).rooms).toBeGreaterThanOrEqual(1)

    // A topic that only looks like a room is not followed.
    first.services.pubsub.subscribe(TOPIC.room('not-a-station-id'))
    const second = await client()
    await subscribeVia(second, relay, topic)

    first.services.pubsub.unsubscribe(topic)
    await waitUntil('the relay to see the first peer leave', () => !relay.node.services.pubsub.getSubscribers(topic).some((p) => p.equals(first.peerId)))
    expect(routed()).toBe(true)

    await second.stop()
    await waitUntil('the relay to stop routing the room', () => !routed())
    expect(relay.rooms.rooms.has(room)).toBe(false)
    expect(relay.node.services.pubsub.getTopics().some((t) => t.endsWith('not-a-station-id'))).toBe(false)
  })

  it('carries room messages between two peers connected only through the relay', async () => {
    const station = generateStationKey()
    const topic = TOPIC.room(station.id)
    const [studio, caller] = [await client(), await client()]
    await subscribeVia(studio, relay, topic)
    await subscribeVia(caller, relay, topic)
    expect(await deliver(studio, caller, station)).toMatch(/^on air \d+$/)
    expect(studio.getConnections(caller.peerId)).toHaveLength(0)
  })

  it('carries room messages across two relays, and neither keeps the room for the other', async () => {
    const station = generateStationKey()
    const room = station.id
    const topic = TOPIC.room(room)
    const [studio, caller] = [await client(relay), await client(plain)]
    await subscribeVia(studio, relay, topic)
    await subscribeVia(caller, plain, topic)
    expect(await deliver(studio, caller, station)).toMatch(/^on air \d+$/)
    expect(studio.getConnections(caller.peerId)).toHaveLength(0)
    // Each relay sees the other subscribed; only its own peers keep it in the room.
    await studio.stop()
    await caller.stop()
    await waitUntil('both relays to leave the room', () => !relay.rooms.rooms.has(room) && !plain.rooms.rooms.has(room))
  })

  it('routes at most maxRooms rooms', async () => {
    const capped = await startRelay({ maxRooms: 1 })
    try {
      const peer = await client(capped)
      const [first, extra] = [generateStationKey().id, generateStationKey().id]
      await subscribeVia(peer, capped, TOPIC.room(first))
      await waitUntil('the capped relay to route one room', () => capped.rooms.rooms.has(first))
      await subscribeVia(peer, capped, TOPIC.room(extra))
      await waitUntil('the capped relay to refuse a second room', () => capped.rooms.refused === 1)
      expect([...capped.rooms.rooms]).toEqual([first])
      expect(capped.node.services.pubsub.getTopics()).not.toContain(TOPIC.room(extra))
    } finally {
      await capped.stop()
    }
  })
})

/** Publishes a command of `station` on its room topic from `from` until `to` receives one (a mesh forms within a heartbeat); returns its name. */
async function deliver (from: OpenStudioNode, to: OpenStudioNode, station: StationKey): Promise<string> {
  // Relays forward only the station's own commands on its room topic.
  const room = station.id
  const topic = TOPIC.room(room)
  let got: string | undefined
  const onMessage = (event: CustomEvent<{ topic: string, data: Uint8Array }>): void => {
    if (event.detail.topic !== topic) return
    const decoded = decodeRoomMessage(event.detail.data, room)
    if (decoded.ok && decoded.value.message.type === 'present') got ??= decoded.value.message.name
  }
  to.services.pubsub.addEventListener('message', onMessage)
  try {
    let n = 0
    return await waitUntil(`a message on ${topic} to reach ${to.peerId.toString()}`, async () => {
      if (got !== undefined) return got
      await from.services.pubsub.publish(topic, encodeRoomMessage(station, { room, epoch: 1, n: n + 1, message: { type: 'present', peer: from.peerId.toString(), name: `on air ${n}` } }))
      n++
      return got
    })
  } finally {
    to.services.pubsub.removeEventListener('message', onMessage)
  }
}

/** Reads one length-prefixed TURN response (a one-byte length suffices for these small answers). */
async function readResponse (stream: Stream): Promise<TurnResponse> {
  const chunks: Uint8Array[] = []
  for await (const chunk of stream) chunks.push(chunk instanceof Uint8Array ? chunk : chunk.subarray())
  const bytes = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const c of chunks) { bytes.set(c, offset); offset += c.length }
  const length = bytes[0] ?? 0
  if (length >= 0x80 || bytes.length !== length + 1) throw new Error(`not one short frame: ${bytes.length} bytes`)
  return decodeTurnResponse(bytes.subarray(1))
}
