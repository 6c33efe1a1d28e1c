/**
 * The relay's side of the program benchmark, with no browser: a relay run as
 * the CLI runs it (`openstudio relay … --station … --icecast …
 * --icecast-password-file …`, a subprocess of its own), fed by a Node station
 * client that paces ffmpeg-made Ogg Opus pages (10 ms each) as a studio does.
 *
 * - cost: the relay process's CPU (user + system, /proc/PID/stat) and RSS
 *   (/proc/PID/status) over a window with no stream, then over a window with
 *   one stream running;
 * - reconnect: Icecast is killed (SIGKILL), kept away a while, and started
 *   again; from Icecast answering its status page again to the relay's
 *   `connected` (as the station sees it), and to the first audio a new
 *   listener decodes.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as pause } from 'node:timers/promises'
import { peerIdFromString } from '@libp2p/peer-id'
import { ICECAST_SOURCE_DEFAULTS, openClient, ProgramSender, type ProgramStatusReport } from '@openstudio/node'
import { buildManifest, generateStationKey, signManifest, type ProgramStart, type StationKey } from '@openstudio/protocol'
import { startCliRelay } from '../src/cli.ts'
import { draftFor } from '../src/network.ts'
import { encodeStepSignal, headersAndAudio, Listener, pacePages } from '../src/program-audio.ts'
import { waitUntil } from '../src/wait.ts'
import { processCpuSeconds, processRssBytes } from './machine.ts'
import { round } from './measure.ts'

const MOUNT = '/relay.ogg'
const BITRATE = 96
/** Each reading's window, and the settling time before it. */
const WINDOW_MS = 20_000
const SETTLE_MS = 5_000
/** How long Icecast stays away in each reconnect round. */
const DOWN_MS = [1_000, 3_000, 6_000]
/** The station's audio: enough for both windows and the reconnect rounds (500 ms steps). */
const SIGNAL_STEPS = 200
const ANSWER_POLL_MS = 5
const MIB = 1024 * 1024

/** Icecast, which the reconnect rounds kill and start again. */
export interface IcecastControl {
  readonly url: string
  readonly password: string
  kill: () => Promise<void>
  start: () => Promise<void>
}

interface Usage {
  cores: number
  rssMiB: { mean: number, end: number }
  heapUsedMiB: number
}

interface Health {
  memory: { rssBytes: number, heapUsedBytes: number }
  program?: { icecast: string, reconnects: number, bytesOut: number }
}

/** The relay's statuses as the station receives them, stamped on arrival. */
class StatusLog {
  private readonly log: Array<ProgramStatusReport & { at: number }> = []

  constructor (sender: ProgramSender) {
    sender.addEventListener('program:status', (e) => {
      this.log.push({ ...e.detail, at: Date.now() })
      if (this.log.length > 1000) this.log.shift()
    })
  }

  since (at: number): Array<ProgramStatusReport & { at: number }> {
    return this.log.filter((s) => s.at >= at)
  }
}

export async function relayFigures (icecast: IcecastControl, dir: string): Promise<Record<string, unknown>> {
  const key = generateStationKey()
  const passwordFile = join(dir, 'icecast-password')
  await writeFile(passwordFile, icecast.password)
  const { headers, audio } = headersAndAudio(await encodeStepSignal(join(dir, 'steps.ogg'), { steps: SIGNAL_STEPS }, BITRATE))
  const relay = await startCliRelay(['--listen', '/ip4/127.0.0.1/tcp/0', '--http', '127.0.0.1:0', '--allow-private',
    '--station', key.id, '--icecast', icecast.url, '--icecast-password-file', passwordFile, '--mount', MOUNT],
  // The key below has no stamp: a local network's relay asks for none.
  { OPENSTUDIO_STAMP_BITS: '0' })
  const pid = relay.child.pid as number
  const health = async (): Promise<Health> => (await fetch(`${relay.http ?? ''}/health`)).json() as Promise<Health>
  const tcp = relay.addrs.find((a) => a.includes('/tcp/') && !a.includes('/ws')) ?? ''
  const node = await openClient({ bootstrap: [tcp], stationKey: key, allowPrivate: true })
  const stop = new AbortController()
  try {
    await pause(SETTLE_MS)
    const idle = await usage(pid, health)
    const sender = await ProgramSender.open(node, peerIdFromString(tcp.split('/p2p/')[1] ?? ''), startOf(key))
    const statuses = new StatusLog(sender)
    const opened = Date.now()
    for (const page of headers) sender.send(page.bytes)
    const show = pacePages(audio, (page) => { sender.send(page.bytes) }, stop.signal)
    await waitUntil('the relay to reach Icecast', () => statuses.since(opened).some((s) => s.icecast === 'connected'))
    await pause(SETTLE_MS)
    const streaming = await usage(pid, health)
    const rounds = []
    for (const downMs of DOWN_MS) rounds.push(await reconnectRound(icecast, statuses, downMs))
    const after = await health()
    stop.abort()
    await show
    await sender.end()
    await pause(SETTLE_MS)
    const idleAfter = await usage(pid, health)
    const d = ICECAST_SOURCE_DEFAULTS
    return {
      how: `relay as a subprocess (node relay/bin/openstudio.js relay …, one process); CPU = utime + stime from /proc/PID/stat over ${WINDOW_MS / 1000} s windows after ${SETTLE_MS / 1000} s settling; RSS from /proc/PID/status once a second; a Node station client (its own process: this one) paces ${BITRATE} kb/s Ogg Opus pages, 10 ms each; no listener during the windows`,
      cost: {
        noStreamBefore: idle,
        oneStream: streaming,
        noStreamAfter: idleAfter,
        perStream: {
          what: 'one stream minus no stream afterwards (the relay then as warm as during the stream; its first minute also carries start-up garbage)',
          cores: round(streaming.cores - idleAfter.cores),
          rssMiB: round(streaming.rssMiB.mean - idleAfter.rssMiB.mean, 1),
          heapUsedMiB: round(streaming.heapUsedMiB - idleAfter.heapUsedMiB, 1)
        }
      },
      reconnect: {
        what: 'Icecast SIGKILLed, kept away downMs, started again: answerToConnectedMs = from Icecast answering /status-json.xsl again (polled every 5 ms) to the relay\'s `connected` status arriving at the station; answerToListenerAudioMs = to the first PCM a new low-delay ffmpeg listener (started at `connected`, mount burst 0) decoded; attemptsAtMs = when the relay saw the connection fail (first) and when each reconnect attempt began, from the kill; most of answerToConnectedMs is the wait for the next attempt',
        backoff: `the relay's Icecast source (ICECAST_SOURCE_DEFAULTS: backoffInitialMs ${d.backoffInitialMs}, backoffMaxMs ${d.backoffMaxMs}, jitter ±${d.jitter}): ` +
          `the delay before attempt n is ${d.backoffInitialMs} ms × 2^(n−2) (n ≥ 2; ${d.backoffInitialMs} ms for the first), capped at ${d.backoffMaxMs} ms, each × 1 ± ${d.jitter} at random, ` +
          'so attempts come about 0.5, 1, 2, 4, 8, 16, 26, 36… s after the failure; Icecast back after an outage of D waits up to about D more (at most 12 s) for the next attempt',
        rounds,
        relayReconnectsReported: after.program?.reconnects
      }
    }
  } finally {
    stop.abort()
    await node.stop()
    await relay.stop()
  }
}

function startOf (key: StationKey): ProgramStart {
  return {
    type: 'start',
    record: signManifest(buildManifest(key.id, draftFor(1), { seq: 1, now: Date.now() }), key).record,
    format: 'ogg-opus',
    bitrate: BITRATE,
    channels: 2,
    sampleRate: 48_000
  }
}

/** The relay process's CPU (cores) and memory over one window. */
async function usage (pid: number, health: () => Promise<Health>): Promise<Usage> {
  const cpu0 = await processCpuSeconds(pid)
  const t0 = Date.now()
  let rssSum = 0
  let rssN = 0
  let rss = 0
  while (Date.now() - t0 < WINDOW_MS) {
    await pause(1_000)
    rss = await processRssBytes(pid)
    rssSum += rss
    rssN++
  }
  const cores = (await processCpuSeconds(pid) - cpu0) / ((Date.now() - t0) / 1000)
  const { memory } = await health()
  return { cores: round(cores), rssMiB: { mean: round(rssSum / rssN / MIB, 1), end: round(rss / MIB, 1) }, heapUsedMiB: round(memory.heapUsedBytes / MIB, 1) }
}

/** When Icecast answers its status page, polled every ANSWER_POLL_MS. */
async function answered (url: string): Promise<number> {
  for (;;) {
    const ok = await fetch(`${url}/status-json.xsl`, { signal: AbortSignal.timeout(500) }).then((res) => res.ok, () => false)
    if (ok) return Date.now()
    await pause(ANSWER_POLL_MS)
  }
}

/** When a new low-delay listener, started now (and again whenever ffmpeg gives up), first decodes audio. */
async function firstAudio (url: string): Promise<{ at: number, listeners: number }> {
  let at: number | undefined
  let listener: Listener | undefined
  let listeners = 0
  let said = ''
  try {
    await waitUntil('audio at a new listener', () => {
      if (listener?.process.exitCode !== null) {
        said = listener?.said ?? said
        listener = new Listener(url, { lowDelay: true, keep: false, onPcm: (_pcm, arrived) => { at ??= arrived } })
        listeners++
      }
      return at
    }, 10_000)
  } catch (err) {
    throw new Error(`${(err as Error).message}; ${listeners} listeners; ffmpeg said: ${said}`, { cause: err })
  } finally {
    await listener?.stop()
  }
  return { at: at as number, listeners }
}

async function reconnectRound (icecast: IcecastControl, statuses: StatusLog, downMs: number): Promise<Record<string, unknown>> {
  const killedAt = Date.now()
  await icecast.kill()
  await waitUntil('the relay to see Icecast gone', () => statuses.since(killedAt).some((s) => s.icecast === 'reconnecting'))
  await pause(Math.max(0, killedAt + downMs - Date.now()))
  const answer = answered(icecast.url)
  await icecast.start()
  const answeredAt = await answer
  const connected = await waitUntil('the relay to reconnect', () => statuses.since(killedAt).find((s) => s.icecast === 'connected'), 30_000)
  const { at: firstAudioAt, listeners } = await firstAudio(`${icecast.url}${MOUNT}`)
  const attempts = new Map<number, number>()
  for (const s of statuses.since(killedAt)) if (s.icecast !== 'connected' && s.at <= connected.at && !attempts.has(s.attempt)) attempts.set(s.attempt, s.at - killedAt)
  const times = [...attempts.values()]
  return {
    downMs,
    answeredAfterKillMs: answeredAt - killedAt,
    answerToConnectedMs: connected.at - answeredAt,
    answerToListenerAudioMs: firstAudioAt - answeredAt,
    /** Listeners started before one heard audio (ffmpeg gives up on a mount that is not there yet). */
    listeners,
    /** The attempt that got through, to `connected`: the connection itself, without the backoff wait. */
    lastAttemptToConnectedMs: connected.at - killedAt - (times.at(-1) ?? 0),
    attemptsAtMs: times
  }
}
