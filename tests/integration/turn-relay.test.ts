/**
 * The relay's room routing and `/openstudio/turn/1`, with real parts: relays
 * on loopback, a real coturn, and client nodes. Peers in a room get
 * credentials that coturn accepts; others are refused; bad streams leave the
 * relay healthy; room topics are routed while a peer is in the room.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { requestTurnServers, type OpenStudioNode } from '@openstudio/node'
import { decodeTurnResponse, encodeTurnRequest, generateStationKey, PROTOCOL, TOPIC, type TurnResponse } from '@openstudio/protocol'
import type { Relay } from '@openstudio/relay'
import type { Stream } from '@libp2p/interface'
import { allocate, startCoturn, type Coturn } from '../src/coturn.ts'
import { clientOf, dhtSize, startRelay, stopAll, subscribeVia, tcpAddr } from '../src/network.ts'
import { waitUntil } from '../src/wait.ts'

const SECRET = 'relay-and-coturn-share-this-too'

describe('relay TURN credentials and room routing', () => {
  let turn: Coturn
  let relay: Relay
  let plain: Relay
  const clients: OpenStudioNode[] = []

  const client = async (through: Relay = relay): Promise<OpenStudioNode> => {
    const node = await clientOf(through)
    clients.push(node)
    return node
  }
  const turnUrl = (): string => `turn:127.0.0.1:${turn.port}?transport=udp`
  const relayAddr = (r: Relay = relay): ReturnType<typeof multiaddr> => multiaddr(tcpAddr(r))

  beforeAll(async () => {
    turn = await startCoturn(SECRET)
    relay = await startRelay({
      http: { host: '127.0.0.1', port: 0 },
      turn: { urls: [turnUrl()], secret: new TextEncoder().encode(SECRET), timeoutMs: 1500 }
    })
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

  it('gives a peer in a room credentials that allocate on coturn', async () => {
    const room = generateStationKey().id
    const caller = await client()
    await subscribeVia(caller, relay, TOPIC.room(room))
    const granted = await requestTurnServers(caller, relay.node.peerId, room)
    expect(granted.iceServers).toHaveLength(1)
    const [server] = granted.iceServers
    expect(server?.urls).toEqual([turnUrl()])
    expect(server?.username).toBe(`${granted.expiresAt}:${caller.peerId.toString()}`)
    expect(granted.expiresAt).toBeGreaterThan(Date.now() / 1000)
    expect(await allocate(turn, server?.username ?? '', server?.credential ?? '')).toBe(0)
  })

  it('refuses a peer that is not in the room', async () => {
    const room = generateStationKey().id
    const outsider = await client()
    // In another room: that does not count.
    await subscribeVia(outsider, relay, TOPIC.room(generateStationKey().id))
    await expect(requestTurnServers(outsider, relayAddr(), room)).rejects.toMatchObject({ name: 'TurnRefusedError', reason: 'not-in-room' })
  })

  it('a relay without TURN does not offer the protocol', async () => {
    expect(plain.node.getProtocols()).not.toContain(PROTOCOL.turn)
    expect(relay.node.getProtocols()).toContain(PROTOCOL.turn)
    const room = generateStationKey().id
    const caller = await client(plain)
    await subscribeVia(caller, plain, TOPIC.room(room))
    await expect(requestTurnServers(caller, plain.node.peerId, room)).rejects.toMatchObject({ name: 'TurnUnavailableError' })
  })

  it('limits each peer to a few requests a minute, and counts grants and refusals', async () => {
    const room = generateStationKey().id
    const eager = await client()
    await subscribeVia(eager, relay, TOPIC.room(room))
    for (let i = 0; i < 6; i++) await requestTurnServers(eager, relay.node.peerId, room)
    await expect(requestTurnServers(eager, relay.node.peerId, room)).rejects.toMatchObject({ name: 'TurnRefusedError', reason: 'rate-limited' })
    const { host, port } = relay.httpAddress ?? { host: '', port: 0 }
    const metrics = await (await fetch(`http://${host}:${port}/metrics`)).text()
    expect(Number(/openstudio_relay_turn_requests_total\{result="granted"\} (\d+)/.exec(metrics)?.[1])).toBeGreaterThanOrEqual(7)
    expect(metrics).toMatch(/openstudio_relay_turn_requests_total\{result="rate-limited"\} [1-9]/)
    expect(metrics).toMatch(/openstudio_relay_turn_requests_total\{result="not-in-room"\} [1-9]/)
    expect(metrics).toMatch(/openstudio_relay_rooms \d+/)
  })

  it('answers garbage and oversized requests with "malformed", cuts off stalled ones, and stays healthy', async () => {
    const room = generateStationKey().id
    const prober = await client()
    await subscribeVia(prober, relay, TOPIC.room(room))

    // A well-framed request whose bytes are not CBOR.
    const garbage = await prober.dialProtocol(relayAddr(), PROTOCOL.turn)
    garbage.send(Uint8Array.of(5, 0xff, 0x00, 0x13, 0x37, 0x42))
    await garbage.close()
    expect(await readResponse(garbage)).toEqual({ ok: false, reason: 'malformed' })

    // A well-formed CBOR map that is not a TURN request.
    const wrongShape = await prober.dialProtocol(relayAddr(), PROTOCOL.turn)
    const notARequest = encodeTurnRequest({ room }).map((b, i) => i === 2 ? b ^ 0x01 : b)
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
    const granted = await requestTurnServers(prober, relay.node.peerId, room)
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
    const topic = TOPIC.room(generateStationKey().id)
    const [studio, caller] = [await client(), await client()]
    await subscribeVia(studio, relay, topic)
    await subscribeVia(caller, relay, topic)
    expect(await deliver(studio, caller, topic)).toMatch(/^on air \d+$/)
    expect(studio.getConnections(caller.peerId)).toHaveLength(0)
  })

  it('carries room messages across two relays, and neither keeps the room for the other', async () => {
    const room = generateStationKey().id
    const topic = TOPIC.room(room)
    const [studio, caller] = [await client(relay), await client(plain)]
    await subscribeVia(studio, relay, topic)
    await subscribeVia(caller, plain, topic)
    expect(await deliver(studio, caller, topic)).toMatch(/^on air \d+$/)
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

/** Publishes on `topic` from `from` until `to` receives one message (a mesh forms within a heartbeat); returns its text. */
async function deliver (from: OpenStudioNode, to: OpenStudioNode, topic: string): Promise<string> {
  let got: string | undefined
  const onMessage = (event: CustomEvent<{ topic: string, data: Uint8Array }>): void => {
    if (event.detail.topic === topic) got ??= new TextDecoder().decode(event.detail.data)
  }
  to.services.pubsub.addEventListener('message', onMessage)
  try {
    let n = 0
    return await waitUntil(`a message on ${topic} to reach ${to.peerId.toString()}`, async () => {
      if (got !== undefined) return got
      await from.services.pubsub.publish(topic, new TextEncoder().encode(`on air ${n++}`))
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
