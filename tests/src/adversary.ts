/**
 * The adversarial suite's parts: a relay started as the README says (the
 * `openstudio relay` process), attackers that come from their own loopback
 * addresses (127.0.0.2 and up, so that limits counted by host see them as the
 * other hosts they would be), and the well-behaved studio and caller whose
 * work must go on throughout. See docs/relay-limits.md.
 */
import { request, type Agent, type IncomingHttpHeaders } from 'node:http'
import { connect, type Socket } from 'node:net'
import { expect } from 'vitest'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { tcp, type TCPSocketOptions } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createOpenStudioNode, handlePing, openClient, pingStation, publishStation, resolveStation, type OpenStudioNode } from '@openstudio/node'
import { generateStationKey, type StationKey } from '@openstudio/protocol'
import { startCliRelay, type CliRelay } from './cli.ts'
import { draftFor } from './network.ts'
import { waitUntil } from './wait.ts'

/** What `/health` answers (the parts the suite reads). */
export interface Health {
  status: string
  peers: number
  reservations: number
  rooms: number
  stationsHeard: number
  memory: { rssBytes: number, heapUsedBytes: number }
}

/** A relay process and what the suite needs to reach it. */
export interface Target {
  process: CliRelay
  tcp: string
  ws: string
  http: string
  /** Where `/metrics` is served: the `--metrics` address when one was given, else on `--http`. */
  metricsUrl: string
  /** The `/metrics` page, asked for with the token when the relay wants one. */
  metrics: () => Promise<string>
  /** The station this relay serves (`--station`), whose studio the suite runs. */
  station: StationKey
  health: () => Promise<Health>
  /** `openstudio_relay_refused_total` by `resource/reason`. */
  refusals: () => Promise<Record<string, number>>
  /** Whether the process is still running. */
  alive: () => boolean
  stop: () => Promise<void>
}

/** What the suite must know of a relay's flags to read it. */
export interface TargetInit {
  /** What `--metrics-token-file` holds (given in `args`): sent with every read of `/metrics`. */
  metricsToken?: string
}

/** Starts `openstudio relay` on loopback, serving a new station, with `args` added. */
export async function startTarget (args: string[] = [], init: TargetInit = {}): Promise<Target> {
  const station = generateStationKey()
  const process = await startCliRelay([
    '--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/ip4/127.0.0.1/tcp/0/ws', '--http', '127.0.0.1:0', '--allow-private', '--station', station.id, ...args
  ])
  const tcpAddr = process.addrs.find((a) => !a.includes('/ws')) as string
  const wsAddr = process.addrs.find((a) => a.includes('/ws')) as string
  const http = process.http as string
  const metricsUrl = process.lines.find((l) => l.startsWith('metrics '))?.slice('metrics '.length) ?? `${http}/metrics`
  const headers: Record<string, string> = init.metricsToken === undefined ? {} : { authorization: `Bearer ${init.metricsToken}` }
  const metrics = async (): Promise<string> => {
    const res = await fetch(metricsUrl, { headers, signal: AbortSignal.timeout(10_000) })
    if (res.status !== 200) throw new Error(`/metrics answered ${res.status}`)
    return res.text()
  }
  let exited = false
  process.child.once('exit', () => { exited = true })
  return {
    process,
    tcp: tcpAddr,
    ws: wsAddr,
    http,
    metricsUrl,
    metrics,
    station,
    health: async () => {
      const res = await fetch(`${http}/health`, { signal: AbortSignal.timeout(10_000) })
      if (res.status !== 200) throw new Error(`/health answered ${res.status}`)
      return res.json() as Promise<Health>
    },
    refusals: async () => refusalsOf(await metrics()),
    alive: () => !exited && process.child.exitCode === null,
    stop: async () => { await process.stop() }
  }
}

/** `openstudio_relay_refused_total{resource,reason}` lines of a Prometheus text page, as `resource/reason` → count. */
export function refusalsOf (metrics: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const match of metrics.matchAll(/^openstudio_relay_refused_total\{resource="([^"]+)",reason="([^"]+)"\} (\d+)/gm)) {
    out[`${match[1]}/${match[2]}`] = Number(match[3])
  }
  return out
}

/** The value of sample `name` (with its labels, as the page writes them: `x{a="b"}`) on a Prometheus text page, or undefined when it has none. */
export function metricOf (metrics: string, name: string): number | undefined {
  const match = new RegExp(`^${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} (\\S+)$`, 'm').exec(metrics)
  return match === null ? undefined : Number(match[1])
}

/** The loopback address of attacker host `n` (1 is 127.0.0.2). */
export function attackerHost (n: number): string {
  return `127.0.0.${n + 1}`
}

/** A libp2p node whose TCP connections come from `host`: a stranger's node, with a new identity. */
export async function strangerNode (target: Target, host: string, init: { stationKey?: StationKey, dhtServer?: boolean, announce?: string[] } = {}): Promise<OpenStudioNode> {
  const node = await createOpenStudioNode({
    privateKey: undefined,
    allowPrivate: true,
    dhtMode: init.dhtServer === true ? 'server' : 'client',
    announce: init.announce,
    listen: init.announce === undefined ? [] : [`/ip4/${host}/tcp/0`],
    // net.connect takes localAddress; @libp2p/tcp passes its dial options through.
    transports: [tcp({ dialOpts: { localAddress: host } as TCPSocketOptions }), circuitRelayTransport()]
  })
  try {
    await node.dial(multiaddr(target.tcp))
  } catch (err) {
    await node.stop()
    throw err
  }
  return node
}

/** Opens `n` TCP sockets from `host` to `addr` (host:port) that never speak; resolves once each has connected or been refused. */
export async function idleSockets (addr: { host: string, port: number }, host: string, n: number): Promise<Socket[]> {
  return Promise.all(Array.from({ length: n }, async () => new Promise<Socket>((resolve) => {
    const socket = connect({ host: addr.host, port: addr.port, localAddress: host })
    socket.on('error', () => { /* a refused or reset socket is what the attack expects */ })
    socket.once('connect', () => { resolve(socket) })
    socket.once('close', () => { resolve(socket) })
  })))
}

/** host and port of a `/ip4/…/tcp/…` multiaddr. */
export function hostPort (addr: string): { host: string, port: number } {
  const match = /^\/ip4\/([\d.]+)\/tcp\/(\d+)/.exec(addr)
  if (match === null) throw new Error(`not a TCP multiaddr: ${addr}`)
  return { host: match[1] as string, port: Number(match[2]) }
}

/** What a raw HTTP exchange heard. */
export interface RawAnswer {
  /** Everything the relay wrote, as latin1 text. */
  text: string
  /** Whether the socket closed within the time given (false: the client gave up and destroyed it). */
  closed: boolean
}

/**
 * Writes `bytes` to the HTTP server at `url` (http://host:port) on a raw
 * socket from `localAddress`, then half-closes it (so the relay has seen the
 * whole input) unless `end` is false, and resolves with what came back once
 * the socket closes, or after `timeoutMs`.
 */
export async function rawHttp (url: string, localAddress: string, bytes: Uint8Array | string, init: { end?: boolean, timeoutMs?: number } = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(url)
  return new Promise<RawAnswer>((resolve) => {
    const socket = connect({ host: hostname, port: Number(port), localAddress })
    let text = ''
    const done = (closed: boolean): void => {
      clearTimeout(timer)
      socket.destroy()
      resolve({ text, closed })
    }
    const timer = setTimeout(() => { done(false) }, init.timeoutMs ?? 5_000)
    socket.on('data', (d: Buffer) => { text += d.toString('latin1') })
    socket.on('error', () => { /* a reset is a close, seen below */ })
    socket.once('close', () => { done(true) })
    socket.write(bytes)
    if (init.end !== false) socket.end()
  })
}

/** A GET of `url` from `localAddress`, through `agent` when given; resolves with the status, headers and body. */
export async function httpGet (url: string, init: { localAddress?: string, agent?: Agent, headers?: Record<string, string>, timeoutMs?: number } = {}): Promise<{ status: number, headers: IncomingHttpHeaders, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { localAddress: init.localAddress, agent: init.agent, headers: init.headers, signal: AbortSignal.timeout(init.timeoutMs ?? 10_000) }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => { body += d })
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end()
  })
}

/** Every message `node` is handed on `topic` from now on, in order. */
export function heard (node: OpenStudioNode, topic: string): Uint8Array[] {
  const seen: Uint8Array[] = []
  node.services.pubsub.addEventListener('message', (e) => { if (e.detail.topic === topic) seen.push(e.detail.data) })
  return seen
}

/** `bytes` with its last byte (in a signature) changed. */
export function forged (bytes: Uint8Array): Uint8Array {
  const copy = Uint8Array.from(bytes)
  copy[copy.length - 1] = (copy.at(-1) as number) ^ 0x01
  return copy
}

/** 50 KB that do not repeat (under gossipsub's 64 KiB message cap, so they reach the validator). */
export function garbage (): Uint8Array {
  const bytes = new Uint8Array(50 * 1024)
  for (let i = 0; i < bytes.length; i += 65536) crypto.getRandomValues(bytes.subarray(i, i + 65536))
  return bytes
}

/** `bytes` behind an unsigned-varint length prefix, as length-prefixed libp2p protocols frame a message. */
export function lengthPrefixed (bytes: Uint8Array): Uint8Array {
  const prefix: number[] = []
  let v = bytes.length
  while (v >= 0x80) {
    prefix.push((v & 0x7f) | 0x80)
    v = Math.floor(v / 128)
  }
  prefix.push(v)
  return Uint8Array.from([...prefix, ...bytes])
}

/** Whether two byte arrays hold the same bytes. */
export function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}

/**
 * Publishes `next()` from `from` on `topic` every 100 ms until one of them is
 * in `seen` (what a subscriber was handed): the way from `from` through the
 * relay to that subscriber is then open. Resolves with the message that came.
 */
export async function untilHeard (from: OpenStudioNode, topic: string, seen: Uint8Array[], next: () => Uint8Array): Promise<Uint8Array> {
  const published: Uint8Array[] = []
  let last = 0
  return waitUntil(`a message from ${from.peerId.toString()} on ${topic} through the relay`, async () => {
    const arrived = seen.find((data) => published.some((p) => sameBytes(p, data)))
    if (arrived !== undefined) return arrived
    if (Date.now() - last >= 100) {
      last = Date.now()
      const message = next()
      published.push(message)
      await from.services.pubsub.publish(topic, message)
    }
    return undefined
  })
}

/** What the well-behaved check measured. */
export interface WellBehaved {
  /** The studio's circuit address on the relay (its reservation). */
  circuit: string
  /** Round trip of a ping from the caller to the studio through the relay, in ms. */
  rttMs: number
}

/**
 * A well-behaved studio (the served station's own node, from 127.0.0.1)
 * reserves on the relay and publishes its station; a caller resolves it and
 * opens a stream to the studio through the relay. Throws if any step fails.
 */
export async function wellBehaved (target: Target): Promise<WellBehaved> {
  const key = target.station
  const studio = await openClient({ bootstrap: [target.tcp], stationKey: key, allowPrivate: true, connectTimeoutMs: 15_000 })
  let caller: OpenStudioNode | undefined
  try {
    await handlePing(studio)
    const circuit = await waitUntil('the studio to hold a reservation on the relay', () => studio.getMultiaddrs().map(String).find((a) => a.includes('/p2p-circuit')))
    await publishStation({ ...studio.services, peerId: studio.peerId }, { key, draft: draftFor(1), relays: [target.tcp] })
    caller = await openClient({ bootstrap: [target.tcp], allowPrivate: true, connectTimeoutMs: 15_000 })
    const { manifest } = await resolveStation(caller.services, key.id)
    if (manifest.name !== draftFor(1).name) throw new Error(`resolved ${manifest.name}`)
    const rttMs = await pingStation(caller, multiaddr(`${target.tcp}/p2p-circuit/p2p/${key.id}`))
    return { circuit, rttMs }
  } finally {
    await caller?.stop()
    await studio.stop()
  }
}

/** The relay's resident memory may grow this much over its idle figure during a whole attack file. */
export const MEMORY_CEILING_BYTES = 200 * 1024 * 1024

/** What every attack must leave true: the relay lives, `/health` answers, well-behaved peers work, and memory stays under the ceiling. */
export async function stillServes (target: Target, idleRss: number): Promise<void> {
  expect(target.alive()).toBe(true)
  expect((await target.health()).status).toBe('ok')
  await wellBehaved(target)
  expect((await target.health()).memory.rssBytes - idleRss).toBeLessThan(MEMORY_CEILING_BYTES)
}

/** Asks the relay for a reservation from `node` with a raw hop RESERVE; true when it answers OK. */
export async function reserve (node: OpenStudioNode, target: Target): Promise<boolean> {
  const stream = await node.dialProtocol(multiaddr(target.tcp), HOP)
  // HopMessage { type: RESERVE }, length-prefixed.
  stream.send(Uint8Array.of(0x02, 0x08, 0x00))
  const chunks: number[] = []
  for await (const chunk of stream) {
    chunks.push(...(chunk instanceof Uint8Array ? chunk : chunk.subarray()))
    const [length, at] = varint(chunks, 0)
    if (chunks.length >= at + length) break
  }
  await stream.close().catch((err: Error) => { stream.abort(err) })
  return hopStatus(chunks) === STATUS_OK
}

const HOP = '/libp2p/circuit/relay/0.2.0/hop'
/** HopMessage.status (field 5) OK. */
const STATUS_OK = 100

/** The `status` field of a length-prefixed HopMessage (protobuf), or undefined. */
function hopStatus (bytes: number[]): number | undefined {
  const [length, start] = varint(bytes, 0)
  const end = start + length
  let at = start
  while (at < end) {
    const [key, next] = varint(bytes, at)
    at = next
    if ((key & 7) === 0) {
      const [value, after] = varint(bytes, at)
      if (key >> 3 === 5) return value
      at = after
    } else if ((key & 7) === 2) {
      const [size, after] = varint(bytes, at)
      at = after + size
    } else {
      return undefined
    }
  }
  return undefined
}

function varint (bytes: number[], from: number): [number, number] {
  let value = 0
  let shift = 0
  let at = from
  while (at < bytes.length) {
    const b = bytes[at++] as number
    value += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) return [value, at]
    shift += 7
  }
  return [Number.POSITIVE_INFINITY, at]
}
