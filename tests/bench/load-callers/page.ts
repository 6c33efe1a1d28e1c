/**
 * The studio benchmark's load callers, many to a page, with no UI and no
 * playback. Each is a real caller of the app: a NetworkService of its own
 * (its libp2p node and a fresh identity) and a CallerSession, whose
 * microphone is an oscillator at the frequency the bench gives it, from the
 * page's one AudioContext. That context outputs nothing, and the studio's returns are received (CallerSession always does)
 * but never connected. Built and served by `./index.ts`, never part of the app.
 */
import { generateStationKey } from '@openstudio/protocol'
import { CallerSession, type CallPhase, type CallStatus } from '../../../browser/src/services/call/caller.ts'
import { NetworkService } from '../../../browser/src/services/network.ts'

/** Dials a caller makes before it counts as failed (a busy studio answers after the caller's hello timeout). */
const DIAL_ATTEMPTS = 3
/** A dial that reaches neither the green room nor a failure in this long counts as failed. */
const GREEN_ROOM_TIMEOUT_MS = 60_000

/** One load caller, as `call` left it. */
export interface LoadCall {
  name: string
  /** Its peer id (the studio admits it by this). */
  id: string
  /** Dials that failed before the one that got in. */
  retries: number
  /** Why it is not in the green room, when it is not. */
  error?: string
}

/** A caller to dial: its name, and its microphone's tone. */
export interface LoadCallInit {
  name: string
  toneHz: number
  /** Peak amplitude, full scale = 1. */
  toneAmplitude: number
}

export interface LoadCallStatus {
  name: string
  id: string
  phase: CallPhase
  error?: string
}

export interface LoadCallers {
  /** Dials `stationId` once for each caller, all at once; resolves when each is in the green room or has failed DIAL_ATTEMPTS times. */
  call: (stationId: string, callers: LoadCallInit[]) => Promise<LoadCall[]>
  /** Resolves once every caller of the page is on air; rejects when one fails or ends first, or after `timeoutMs`. */
  onAir: (timeoutMs: number) => Promise<void>
  statuses: () => LoadCallStatus[]
  /** Every caller leaves and its node stops; the page's audio ends. */
  leave: () => Promise<void>
}

declare global {
  interface Window {
    openstudioLoad?: LoadCallers
  }
}

interface Caller {
  name: string
  network: NetworkService
  session?: CallerSession
  tone: OscillatorNode
}

const context = new AudioContext({ sampleRate: 48_000, latencyHint: 'playback' })
const callers: Caller[] = []

/** A microphone playing a tone, as a MediaStreamTrack. */
function toneTrack (frequency: number, amplitude: number): { tone: OscillatorNode, track: MediaStreamTrack } {
  const tone = new OscillatorNode(context, { frequency })
  const out = new MediaStreamAudioDestinationNode(context, { channelCount: 1 })
  tone.connect(new GainNode(context, { gain: amplitude })).connect(out)
  tone.start()
  const track = out.stream.getAudioTracks()[0]
  if (track === undefined) throw new Error('a MediaStreamAudioDestinationNode gave no track')
  return { tone, track }
}

/** Resolves once `session` is in one of `phases`; rejects when it fails or ends first, or after `timeoutMs`. */
async function reach (session: CallerSession, phases: readonly CallPhase[], timeoutMs: number): Promise<void> {
  const done = new AbortController()
  try {
    await new Promise<void>((resolve, reject) => {
      const check = (status: CallStatus): void => {
        if (phases.includes(status.phase)) resolve()
        if (status.phase === 'failed' || status.phase === 'ended') reject(new Error(status.error ?? status.phase))
      }
      session.addEventListener('status:change', (e) => { check(e.detail) }, { signal: done.signal })
      AbortSignal.timeout(timeoutMs).addEventListener('abort', () => {
        reject(new Error(`not ${phases.join(' or ')} after ${timeoutMs} ms (${session.status.phase})`))
      }, { signal: done.signal })
      check(session.status)
    })
  } finally {
    done.abort()
  }
}

async function callOne (stationId: string, { name, toneHz, toneAmplitude }: LoadCallInit): Promise<LoadCall> {
  const { tone, track } = toneTrack(toneHz, toneAmplitude)
  const caller: Caller = { name, network: new NetworkService({ identity: generateStationKey() }), tone }
  callers.push(caller)
  const id = caller.network.identity.id
  let error: string | undefined
  for (let attempt = 0; attempt < DIAL_ATTEMPTS; attempt++) {
    caller.session = new CallerSession(caller.network, { stationId, name, microphone: track, context })
    const inGreenRoom = reach(caller.session, ['green-room', 'on-air'], GREEN_ROOM_TIMEOUT_MS)
    caller.session.start().catch(() => { /* reported through status:change */ })
    try {
      await inGreenRoom
      return { name, id, retries: attempt }
    } catch (err) {
      error = (err as Error).message
      await caller.session.leave()
    }
  }
  return { name, id, retries: DIAL_ATTEMPTS, error }
}

window.openstudioLoad = {
  call: async (stationId, inits) => {
    await context.resume()
    return Promise.all(inits.map(async (init) => callOne(stationId, init)))
  },
  onAir: async (timeoutMs) => {
    await Promise.all(callers.map(async ({ name, session }) => {
      if (session === undefined) throw new Error(`${name} never dialed`)
      await reach(session, ['on-air'], timeoutMs).catch((err: Error) => { throw new Error(`${name}: ${err.message}`) })
    }))
  },
  statuses: () => callers.map(({ name, network, session }) => ({
    name, id: network.identity.id, phase: session?.status.phase ?? 'connecting', error: session?.status.error
  })),
  leave: async () => {
    await Promise.all(callers.map(async ({ network, session, tone }) => {
      tone.stop()
      await session?.leave()
      await network.stop()
    }))
    await context.close()
  }
}
