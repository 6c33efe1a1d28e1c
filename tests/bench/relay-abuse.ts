/**
 * A relay under a connection flood, and what a stranger's connection and
 * reservation cost it. The relay is the `openstudio relay` process on
 * loopback (tests/src/adversary.ts), with its default limits.
 *
 * - Flood: attacker hosts (127.0.0.2 and up) open raw TCP connections to the
 *   relay's TCP port at rising rates, half of them silent (held until the
 *   step ends), half sending garbage and closing. Throughout each step a
 *   legitimate dial runs again and again from 127.0.0.1: a new client node
 *   connects (TCP, noise, yamux, identify, a DHT peer) and pings the relay.
 *   Its baseline is the same dial on the same relay, idle, before the flood
 *   and after it. The last steps spread the top rate over more hosts, so
 *   that the silent sockets the per-host limits let in (16 pending a host)
 *   add up to the relay's pending connections in all (256).
 * - Memory: the relay's RSS and heap (`/health`) before and after stranger
 *   nodes hold connections from several hosts (so that the per-host
 *   connection limit is not what is measured), then after some of them hold
 *   a reservation each (within the per-host reservation cap).
 *
 * The bench's own thread runs the flood, the legitimate dials and the
 * strangers; the relay has a process of its own. Each step reports the
 * relay's CPU and the bench thread's event-loop delay, so a slow dial can be
 * told apart from a busy bench.
 */
import { randomBytes } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'
import { setTimeout as sampleEvery } from 'node:timers/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { openClient, type OpenStudioNode } from '@openstudio/node'
import { attackerHost, hostPort, reserve, startTarget, strangerNode, wellBehaved, type Health, type Target } from '../src/adversary.ts'
import { waitUntil } from '../src/wait.ts'
import { distribution, median, round, type Distribution } from './measure.ts'

/** One flood step: `rate` new sockets a second from `hosts` attacker hosts, for `seconds`. */
interface Step { rate: number, hosts: number, seconds: number }

const STEPS: readonly Step[] = [
  { rate: 50, hosts: 8, seconds: 3 },
  { rate: 100, hosts: 8, seconds: 3 },
  { rate: 200, hosts: 8, seconds: 3 },
  { rate: 400, hosts: 8, seconds: 3 },
  { rate: 400, hosts: 16, seconds: 2 },
  { rate: 400, hosts: 32, seconds: 2 }
]
/** The flood never opens more sockets than this in all. */
const MAX_SOCKETS = 4000
/** Legitimate dials on the idle relay, before the flood and again after it (after one warm-up dial). */
const IDLE_DIALS = 6
/** A legitimate dial that has not connected and pinged by then has failed. */
const DIAL_TIMEOUT_MS = 10_000
/** How often the flood checks which sockets are due. */
const TICK_MS = 5
/** Bytes a garbage socket sends before it closes. */
const GARBAGE_BYTES = 256

/** Stranger nodes per attacker host, and hosts, for the memory figures (the per-host limit is 64 connections). */
const MEMORY_HOSTS = 16
const CONNECTIONS_PER_HOST = 10
/** Strangers of one host that connect at once: fewer than the relay's pending connections per host (16). */
const STRANGER_BATCH = 10
/** Reservations per host: the relay's per-host cap. */
const RESERVATIONS_PER_HOST = 8
/** `/health` readings that make one memory figure (see steadyMemory), and the time between them. */
const MEMORY_READINGS = 7
const MEMORY_READING_MS = 200

export async function benchRelayAbuse (): Promise<Record<string, unknown>> {
  const total = STEPS.reduce((n, s) => n + s.rate * s.seconds, 0)
  if (total > MAX_SOCKETS) throw new Error(`the flood would open ${total} sockets (at most ${MAX_SOCKETS})`)
  // One part failing still reports the other's figures; the run then fails, as index.ts fails it for a suite.
  const failed = (err: Error): Record<string, unknown> => {
    process.exitCode = 1
    return { error: err.message }
  }
  return { ...await flood().catch(failed), memory: await memory().catch(failed) }
}

async function flood (): Promise<Record<string, unknown>> {
  progress('starting the relay for the flood')
  const target = await startTarget()
  try {
    await legitDial(target)
    progress(`${IDLE_DIALS} legitimate dials on the idle relay`)
    const before = await idleDials(target)
    const underAttack = []
    for (const step of STEPS) {
      progress(`flood: ${step.rate} sockets/s from ${step.hosts} hosts for ${step.seconds} s`)
      underAttack.push(await floodStep(target, step))
    }
    progress(`${IDLE_DIALS} legitimate dials on the relay after the flood`)
    const after = await idleDials(target)
    const idleMs = [...before, ...after].filter((d) => d.ok).map((d) => d.ms)
    const idle = distribution(idleMs)
    // ratio: the successful dials' p50 over the idle p50; failures are counted beside it, not folded in.
    const steps = underAttack.map((s) => ({ ...s, ratio: round(s.legit.p50 / idle.p50, 2) }))
    const legitFailed = steps.filter((s) => s.legit.ok < s.legit.attempts)
      .map((s) => ({ offeredPerSec: s.offeredPerSec, hosts: s.hosts, failed: s.legit.attempts - s.legit.ok, attempts: s.legit.attempts }))
    progress('a well-behaved studio and caller after the flood')
    const served = await wellBehaved(target).then((w) => ({ ok: true, rttMs: round(w.rttMs) }), (err: Error) => ({ ok: false, error: err.message }))
    return {
      relay: 'openstudio relay subprocess on loopback, default limits',
      legitDial: 'a new client node from 127.0.0.1 connects (TCP, noise, yamux, identify, a DHT peer) and pings the relay; ms is the whole, from creating the node to the pong',
      idle: { p50: idle.p50, max: idle.max, before: summary(before), after: summary(after) },
      underAttack: steps,
      ratio: Math.max(...steps.map((s) => Number.isNaN(s.ratio) ? Infinity : s.ratio)),
      legitFailed,
      afterFlood: { alive: target.alive(), status: (await target.health()).status, wellBehaved: served }
    }
  } finally {
    await target.stop()
  }
}

/** What one legitimate dial measured. */
interface Dial {
  ok: boolean
  /** From creating the node to the pong (or to the failure). */
  ms: number
  /** From creating the node to `openClient` resolving. */
  connectMs?: number
  /** The ping's round trip. */
  rttMs?: number
  error?: string
}

/** A new client node from 127.0.0.1 connects to the relay and pings it. */
async function legitDial (target: Target): Promise<Dial> {
  const t0 = performance.now()
  let node: OpenStudioNode | undefined
  try {
    node = await openClient({ bootstrap: [target.tcp], allowPrivate: true, connectTimeoutMs: DIAL_TIMEOUT_MS })
    const connectMs = performance.now() - t0
    const rttMs = await node.services.ping.ping(multiaddr(target.tcp), { signal: AbortSignal.timeout(DIAL_TIMEOUT_MS) })
    return { ok: true, ms: performance.now() - t0, connectMs, rttMs }
  } catch (err) {
    return { ok: false, ms: performance.now() - t0, error: `${(err as Error).name}: ${(err as Error).message}` }
  } finally {
    await node?.stop()
  }
}

async function idleDials (target: Target): Promise<Dial[]> {
  const dials: Dial[] = []
  for (let i = 0; i < IDLE_DIALS; i++) dials.push(await legitDial(target))
  return dials
}

/** Legitimate dials as the benchmark reports them (ms over the dials that succeeded). */
interface DialSummary {
  attempts: number
  ok: number
  p50: number
  max: number
  connectP50: number
  rttP50: number
  /** How long the failed ones took to fail. */
  failedMs?: Distribution
  errors?: string[]
}

function summary (dials: readonly Dial[]): DialSummary {
  const ok = dials.filter((d) => d.ok)
  const times = distribution(ok.map((d) => d.ms))
  const errors = [...new Set(dials.flatMap((d) => d.error === undefined ? [] : [d.error]))]
  return {
    attempts: dials.length,
    ok: ok.length,
    p50: times.p50,
    max: times.max,
    connectP50: distribution(ok.map((d) => d.connectMs ?? NaN)).p50,
    rttP50: distribution(ok.map((d) => d.rttMs ?? NaN)).p50,
    ...(errors.length > 0 ? { failedMs: distribution(dials.filter((d) => !d.ok).map((d) => d.ms)), errors } : {})
  }
}

/** One flood step, with legitimate dials one after another for as long as it lasts. */
async function floodStep (target: Target, step: Step): Promise<Record<string, unknown> & Pick<Step, 'hosts'> & { offeredPerSec: number, legit: DialSummary }> {
  const refusedBefore = await target.refusals()
  const cpuBefore = await cpuSeconds(target)
  const loop = monitorEventLoopDelay({ resolution: 10 })
  const started = performance.now()
  const attack = startFlood(hostPort(target.tcp), step)
  loop.enable()
  try {
    const dials: Dial[] = []
    const end = started + step.seconds * 1000
    do dials.push(await legitDial(target)); while (performance.now() < end)
    await attack.issued
    const elapsedS = (performance.now() - started) / 1000
    const sockets = attack.counts()
    const refusedAfter = await target.refusals()
    const cpuAfter = await cpuSeconds(target)
    return {
      offeredPerSec: step.rate,
      hosts: step.hosts,
      seconds: round(elapsedS, 1),
      sockets: { ...sockets, connectedPerSec: Math.round(sockets.connected / elapsedS) },
      refusals: diff(refusedBefore, refusedAfter),
      relayCpuPercent: cpuBefore === undefined || cpuAfter === undefined ? null : Math.round((cpuAfter - cpuBefore) / elapsedS * 100),
      benchLoopDelayP99Ms: round(loop.percentile(99) / 1e6, 1),
      relayAlive: target.alive(),
      legit: summary(dials)
    }
  } finally {
    loop.disable()
    attack.stop()
  }
}

/** What a flood's sockets did. */
interface SocketCounts {
  /** Sockets opened. */
  opened: number
  /** Sockets whose TCP handshake completed. */
  connected: number
  /** Silent sockets still open when the counts were taken. */
  silentHeld: number
  /** Silent sockets the relay closed before the step ended. */
  silentClosedByRelay: number
  /** Socket errors by code. */
  errors: Record<string, number>
}

interface Flood {
  /** Resolves once every socket of the step has been opened. */
  issued: Promise<void>
  counts: () => SocketCounts
  /** Stops opening sockets and destroys every one (idempotent). */
  stop: () => void
}

/** Opens `step.rate` sockets a second to `addr`, round robin over the attacker hosts; even ones stay silent, odd ones send garbage and close. */
function startFlood (addr: { host: string, port: number }, step: Step): Flood {
  const total = Math.round(step.rate * step.seconds)
  const sockets: Array<{ socket: Socket, silent: boolean }> = []
  const counts: SocketCounts = { opened: 0, connected: 0, silentHeld: 0, silentClosedByRelay: 0, errors: {} }
  let stopped = false
  let next = 0
  let timer: ReturnType<typeof setInterval> | undefined
  const open = (i: number): void => {
    const silent = i % 2 === 0
    // Pairs share a host, so every host sends both kinds.
    const socket = connect({ host: addr.host, port: addr.port, localAddress: attackerHost(1 + (Math.floor(i / 2) % step.hosts)) })
    sockets.push({ socket, silent })
    counts.opened++
    socket.on('error', (err: NodeJS.ErrnoException) => { bump(counts.errors, err.code ?? err.name) })
    socket.once('connect', () => {
      counts.connected++
      if (!silent) socket.end(randomBytes(GARBAGE_BYTES))
    })
    socket.once('close', () => { if (silent && !stopped) counts.silentClosedByRelay++ })
  }
  const started = performance.now()
  const issued = new Promise<void>((resolve) => {
    timer = setInterval(() => {
      const due = Math.min(total, Math.floor((performance.now() - started) * step.rate / 1000))
      while (next < due && !stopped) open(next++)
      if (next >= total || stopped) {
        clearInterval(timer)
        resolve()
      }
    }, TICK_MS)
  })
  return {
    issued,
    counts: () => ({ ...counts, silentHeld: sockets.filter((s) => s.silent && !s.socket.closed && !s.socket.destroyed).length }),
    stop: () => {
      stopped = true
      clearInterval(timer)
      for (const { socket } of sockets) socket.destroy()
    }
  }
}

/** The relay's resident memory and heap, and what strangers' connections and reservations add to them. */
async function memory (): Promise<Record<string, unknown>> {
  progress('starting the relay for the memory figures')
  const target = await startTarget()
  const strangers: OpenStudioNode[] = []
  try {
    // One client first, so that code a relay loads on its first connection is not charged to the strangers.
    const warmUp = await legitDial(target)
    if (!warmUp.ok) throw new Error(`the warm-up dial failed: ${warmUp.error}`)
    const idle = await steadyMemory(target)
    const connections = MEMORY_HOSTS * CONNECTIONS_PER_HOST
    progress(`${connections} stranger nodes connect from ${MEMORY_HOSTS} hosts`)
    for (let h = 1; h <= MEMORY_HOSTS; h++) {
      for (let i = 0; i < CONNECTIONS_PER_HOST; i += STRANGER_BATCH) {
        const batch = await Promise.allSettled(Array.from({ length: Math.min(STRANGER_BATCH, CONNECTIONS_PER_HOST - i) }, async () => strangerNode(target, attackerHost(h))))
        for (const r of batch) if (r.status === 'fulfilled') strangers.push(r.value)
        const failed = batch.find((r) => r.status === 'rejected')
        if (failed !== undefined) throw failed.reason as Error
      }
    }
    await waitUntil(`${connections} strangers to be the relay's peers`, async () => (await target.health()).peers >= connections)
    const connected = await steadyMemory(target)

    const reserving = strangers.filter((_, i) => i % CONNECTIONS_PER_HOST < RESERVATIONS_PER_HOST)
    progress(`${reserving.length} of them reserve a slot (${RESERVATIONS_PER_HOST} a host)`)
    const granted = (await Promise.all(reserving.map(async (node) => reserve(node, target)))).filter(Boolean).length
    const held = await waitUntil(`${granted} reservations on the relay`, async () => { const h = await target.health(); return h.reservations >= granted && h.reservations })
    const reserved = await steadyMemory(target)
    const refusals = await target.refusals()
    return {
      hosts: MEMORY_HOSTS,
      connections,
      peers: connected.peers,
      reservations: { asked: reserving.length, granted, held },
      idleRelay: { rssMiB: mib(idle.rssBytes), heapUsedMiB: mib(idle.heapUsedBytes) },
      perConnection: perEach(idle, connected, connections),
      perReservation: perEach(connected, reserved, granted),
      refusals,
      note: 'each connection is a stranger OpenStudio node (identify, gossipsub, DHT client); RSS is the median of several /health readings and heap the lowest of them; the relay cannot be made to collect garbage, so both carry GC noise (tens of KB a reservation)'
    }
  } finally {
    await Promise.all(strangers.map(async (s) => s.stop()))
    await target.stop()
  }
}

interface MemoryReading { rssBytes: number, heapUsedBytes: number, peers: number }

/** A few `/health` readings: the median RSS, and the lowest heap (the one nearest a collection, so nearest the live heap). */
async function steadyMemory (target: Target): Promise<MemoryReading> {
  const readings: Health[] = []
  for (let i = 0; i < MEMORY_READINGS; i++) {
    if (i > 0) await sampleEvery(MEMORY_READING_MS)
    readings.push(await target.health())
  }
  return {
    rssBytes: median(readings.map((r) => r.memory.rssBytes)),
    heapUsedBytes: Math.min(...readings.map((r) => r.memory.heapUsedBytes)),
    peers: median(readings.map((r) => r.peers))
  }
}

function perEach (from: MemoryReading, to: MemoryReading, n: number): { rssBytes: number, heapUsedBytes: number } {
  return { rssBytes: Math.round((to.rssBytes - from.rssBytes) / n), heapUsedBytes: Math.round((to.heapUsedBytes - from.heapUsedBytes) / n) }
}

/** CPU seconds the relay process has used (Linux), or undefined elsewhere. */
async function cpuSeconds (target: Target): Promise<number | undefined> {
  const pid = target.process.child.pid
  if (pid === undefined) return undefined
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command's closing parenthesis: state is 0, utime 11, stime 12 (clock ticks, 100 a second on Linux).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / 100
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw err
  }
}

function diff (before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => v !== 0))
}

function bump (counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1
}

function mib (bytes: number): number {
  return Math.round(bytes / 1024 / 1024 * 10) / 10
}

function progress (what: string): void {
  process.stderr.write(`bench: relay-abuse: ${Math.round(process.uptime())} s: ${what}\n`)
}
