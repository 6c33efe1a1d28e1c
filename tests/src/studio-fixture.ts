/**
 * The live studio fixture, shared by the end-to-end test and the studio
 * benchmark: a real coturn, two real relays (the first serves the built app
 * with TURN credentials for rooms), Debian's Chromium with a chosen tone as
 * its fake microphone, a station made in the browser with its studio open,
 * and callers dialing it from the call page.
 */
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import type { Relay } from '@openstudio/relay'
import { launchChromium } from './browser.ts'
import { startCoturn, type Coturn } from './coturn.ts'
import { removeDir, startRelay, tcpAddr, tempDir } from './network.ts'
import { toneShare } from './signal.ts'
import { waitUntil } from './wait.ts'
import { APP_DIR } from './web.ts'

/** Seconds of tone in a fake microphone file (Chromium loops it). */
const TONE_SECONDS = 120
const PHASE_TIMEOUT_MS = 30_000

export interface StudioFixtureInit {
  /** coturn's shared secret; the relays hand out credentials made with it. @default 'studio-fixture-secret' */
  turnSecret?: string
  /** Prefix of the temporary directory (tone files). @default 'openstudio-studio-' */
  dirPrefix?: string
}

export interface StudioFixture {
  dir: string
  coturn: Coturn
  relays: Relay[]
  /** The app's origin, served by the first relay. */
  origin: string
  /** Launches a Chromium whose fake microphone plays `frequency` Hz at -8 dBFS (0: digital silence); closed by `stop`. */
  launch: (frequency: number, extraArgs?: string[]) => Promise<Browser>
  /** A page in a fresh context of `browser`, with the app's settings preset when given. */
  openPage: (browser: Browser, settings?: Record<string, unknown>) => Promise<Page>
  stop: () => Promise<void>
}

export async function startStudioFixture (init: StudioFixtureInit = {}): Promise<StudioFixture> {
  const dir = await tempDir(init.dirPrefix ?? 'openstudio-studio-')
  const secret = init.turnSecret ?? 'studio-fixture-secret'
  const browsers: Browser[] = []
  const relays: Relay[] = []
  let coturn: Coturn | undefined
  const stop = async (): Promise<void> => {
    await Promise.all(browsers.map(async (b) => b.close()))
    await Promise.all(relays.map(async (r) => r.stop()))
    await coturn?.stop()
    await removeDir(dir)
  }
  try {
    coturn = await startCoturn(secret)
    const turn = { urls: [`turn:127.0.0.1:${coturn.port}?transport=udp`], secret: new TextEncoder().encode(secret) }
    const first = await startRelay({ http: { host: '127.0.0.1', port: 0 }, appDir: APP_DIR, turn })
    relays.push(first)
    relays.push(await startRelay({ bootstrap: [tcpAddr(first)], turn }))
    return {
      dir,
      coturn,
      relays,
      origin: `http://127.0.0.1:${first.httpAddress?.port ?? 0}`,
      launch: async (frequency, extraArgs = []) => {
        const browser = await launchChromium([`--use-file-for-fake-audio-capture=${toneFile(dir, frequency)}`, ...extraArgs])
        browsers.push(browser)
        return browser
      },
      openPage: async (browser, settings) => {
        const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } })
        // tsx names inner functions with an `__name` helper; functions sent to the page need it too.
        await context.addInitScript('globalThis.__name = (fn) => fn')
        if (settings !== undefined) await context.addInitScript(`localStorage.setItem('openstudio:settings', ${JSON.stringify(JSON.stringify(settings))})`)
        const page = await context.newPage()
        page.on('pageerror', (err) => { process.stderr.write(`page error: ${err.message}\n`) })
        return page
      },
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/** A mono 48 kHz WAV of `frequency` Hz (0: silence) in `dir`, made once with sox. */
function toneFile (dir: string, frequency: number): string {
  const wav = join(dir, `tone-${frequency}.wav`)
  const synth = frequency === 0 ? ['trim', '0', String(TONE_SECONDS)] : ['synth', String(TONE_SECONDS), 'sine', String(frequency), 'vol', '0.4']
  execFileSync('sox', ['-n', '-r', '48000', '-c', '1', '-b', '16', wav, ...synth])
  return wav
}

export interface StationFields {
  passphrase: string
  name: string
  tags?: string
  country?: string
}

/**
 * Makes a station in `page` (a new key sealed with the passphrase), publishes
 * it, opens its studio and starts it.
 * @returns the station id
 */
export async function openStudio (page: Page, origin: string, station: StationFields): Promise<string> {
  await page.goto(`${origin}/station`)
  await page.fill('[data-testid=new-passphrase]', station.passphrase)
  await page.fill('[data-testid=new-passphrase-2]', station.passphrase)
  await page.click('[data-testid=generate]')
  const stationId = (await page.locator('[data-testid=my-station-id]').textContent({ timeout: 20_000 }) ?? '').trim()
  await page.fill('[data-testid=field-name]', station.name)
  if (station.tags !== undefined) await page.fill('[data-testid=field-tags]', station.tags)
  await page.fill('[data-testid=field-country]', station.country ?? 'NL')
  await page.fill('[data-testid=field-homepage]', 'https://example.org/')
  await page.fill('[data-testid=field-stream-url-0]', 'https://stream.example.org/live.ogg')
  await page.click('[data-testid=publish]')
  await page.click('[data-testid=open-studio]', { timeout: 20_000 })
  await page.click('[data-testid=start-studio]')
  await page.locator('[data-testid=green-room]').waitFor({ timeout: 20_000 })
  return stationId
}

/**
 * Opens the call page and fills it in: the caller's name, and voice
 * processing off (it fades test tones). The form shows once the station is
 * resolved, which takes a while on a busy machine: `timeoutMs`.
 */
export async function prepareCall (page: Page, origin: string, path: string, name: string, timeoutMs = 30_000): Promise<void> {
  await page.goto(`${origin}${path}`)
  await page.locator('[data-testid=caller-name]').waitFor({ timeout: timeoutMs })
  await page.fill('[data-testid=caller-name]', name)
  await page.uncheck('[data-testid=voice-processing]')
}

/**
 * Dials from a call page filled in by `prepareCall`.
 * @returns the caller's peer id
 */
export async function pressDial (page: Page): Promise<string> {
  await page.click('[data-testid=dial]')
  return page.evaluate(() => window.openstudioDiagnostics?.network?.identity.id ?? '')
}

/**
 * Opens the call page, turns voice processing off and dials.
 * @returns the caller's peer id
 */
export async function dial (page: Page, origin: string, path: string, name: string): Promise<string> {
  await prepareCall(page, origin, path, name)
  return pressDial(page)
}

/** The call page of station `stationId`. */
export function callPath (stationId: string, invite?: string): string {
  return `/s/${stationId}/call${invite === undefined ? '' : `?invite=${invite}`}`
}

export async function phaseOf (page: Page): Promise<string | null> {
  return page.locator('[data-testid=call-state]').getAttribute('data-phase', { timeout: 1_000 }).catch(() => null)
}

export async function waitPhase (page: Page, phase: string, timeoutMs = PHASE_TIMEOUT_MS): Promise<void> {
  await waitUntil(`the caller to be ${phase}`, async () => (await phaseOf(page)) === phase, timeoutMs)
}

export type StudioAnalyser = 'programAnalyser' | 'returnAnalyser'

/** Runs in the page: the samples an analyser holds right now. */
function analyserSamples (name: StudioAnalyser): { samples: number[], sampleRate: number } | undefined {
  const analyser = window.openstudioDiagnostics?.[name]
  if (analyser === undefined) return undefined
  const samples = new Float32Array(analyser.fftSize)
  analyser.getFloatTimeDomainData(samples)
  return { samples: Array.from(samples), sampleRate: analyser.context.sampleRate }
}

/** The share (0…1) of each of `tones` in what `page` hears on `analyser` right now. */
export async function spectrum (page: Page, analyser: StudioAnalyser, tones: readonly number[]): Promise<number[]> {
  const frame = await page.evaluate(analyserSamples, analyser)
  if (frame === undefined) return tones.map(() => 0)
  return tones.map((f) => toneShare(frame.samples, frame.sampleRate, f))
}

/*
 * Audio probes: sample-accurate signal injection and detection in the app's
 * own pages. Installed before the page loads, the kit records every
 * RTCPeerConnection and every MediaStreamAudioSourceNode the app makes, and
 * adds two AudioWorklet processors on demand:
 *
 * - `probe-source` makes a signal to send in place of a microphone:
 *   silence, a steady tone, and on command one click (a short tone burst);
 * - `probe-detector` reports when what it taps rises above a threshold
 *   ('on') and when it has stayed under it for a hold time ('off').
 *
 * Both stamp events with `Date.now()` on the render thread (the one clock
 * every process on the machine shares, in 1 ms steps): the time the render
 * quantum that made or first heard the event was processed.
 */

/** An event a probe reported: its frame in its AudioContext, and when its render quantum was processed (ms since the epoch). */
export interface ProbeEvent {
  type: 'on' | 'off' | 'click'
  frame: number
  block: number
}

export type ProbeCommand =
  | { type: 'tone', frequency: number, amplitude: number }
  | { type: 'click', burstMs: number, frequency: number, amplitude: number }

export interface DetectorOptions {
  /** Absolute sample value above which the signal is present. */
  threshold: number
  /** How long it must stay under the threshold to count as gone. */
  holdMs: number
}

/** RTCInboundRtpStreamStats counters, cumulative since the call began. */
export interface JitterBufferCounters {
  /** Seconds, summed over every emitted sample. */
  delay: number
  target: number
  emitted: number
  concealmentEvents: number
}

export interface ProbeKit {
  /** Every RTCPeerConnection the page made, in order. */
  peers: RTCPeerConnection[]
  /** Every MediaStreamAudioSourceNode the page made, with its track. */
  sources: Array<{ node: MediaStreamAudioSourceNode, track: MediaStreamTrack | undefined }>
  /** Events by probe name. */
  events: Record<string, ProbeEvent[]>
  /** Taps `node` with a detector called `name`. */
  detect: (name: string, node: AudioNode, options: DetectorOptions) => Promise<void>
  /** A signal source called `name` in `context`, silent until commanded: its track. */
  source: (name: string, context: BaseAudioContext) => Promise<MediaStreamTrack>
  command: (name: string, command: ProbeCommand) => void
  /**
   * Resolves with probe `name`'s events of `type` stamped at or after `since`
   * (ms since the epoch) once there are `count` of them, or with those there
   * are after `timeoutMs`.
   */
  until: (name: string, type: ProbeEvent['type'], count: number, since: number, timeoutMs: number) => Promise<ProbeEvent[]>
  /** Disconnects every probe node (the recorded peers and sources stay). */
  remove: () => void
  /** The call's live peer connection: the newest open one that carries audio. */
  callPeer: () => RTCPeerConnection | undefined
  /** The source node the page made for `track`. */
  sourceOf: (track: MediaStreamTrack) => MediaStreamAudioSourceNode | undefined
  /** A 48 kHz AudioContext as the app makes them (createCallAudioContext), running. */
  audioContext: () => Promise<AudioContext>
  /** A peer connection configured as the app's (createCallPeer), without ICE servers. */
  peer: () => RTCPeerConnection
  /** Resolves once `pc` has gathered all its candidates. */
  gathered: (pc: RTCPeerConnection) => Promise<void>
  /** Hears `receiver`'s track in Web Audio as the app does: jitterBufferTarget 0, and a muted `<audio>` plays it too. */
  receive: (context: AudioContext, receiver: RTCRtpReceiver) => MediaStreamAudioSourceNode
  /** The jitter buffer counters of the first held peer connection's incoming audio. */
  jitterBuffer: () => Promise<JitterBufferCounters | undefined>
  /** Animation frames per second the page gets over `ms` (60 when nothing holds its rendering back). */
  frameRate: (ms: number) => Promise<number>
  /** Page-owned objects a benchmark keeps between evaluations. */
  held: { peers: RTCPeerConnection[], context?: AudioContext, gain?: GainNode }
}

declare global {
  interface Window {
    openstudioProbes?: ProbeKit
  }
}

/** The two processors, as the AudioWorkletGlobalScope runs them. */
const PROBE_WORKLETS = String.raw`
class ProbeSource extends AudioWorkletProcessor {
  constructor () {
    super()
    this.tone = { amplitude: 0, step: 0, phase: 0 }
    this.burst = undefined
    this.port.onmessage = (e) => {
      const m = e.data
      const step = 2 * Math.PI * m.frequency / sampleRate
      if (m.type === 'tone') this.tone = { amplitude: m.amplitude, step, phase: 0 }
      if (m.type === 'click') this.burst = { start: undefined, frames: Math.round(m.burstMs * sampleRate / 1000), step, amplitude: m.amplitude }
    }
  }
  process (_inputs, outputs) {
    const out = outputs[0]
    const tone = this.tone
    const b = this.burst
    if (b !== undefined && b.start === undefined) {
      b.start = currentFrame
      this.port.postMessage({ type: 'click', frame: currentFrame, block: Date.now() })
    }
    for (let i = 0; i < out[0].length; i++) {
      let x = tone.amplitude * Math.sin(tone.phase)
      tone.phase = (tone.phase + tone.step) % (2 * Math.PI)
      const n = currentFrame + i - (b?.start ?? 0)
      if (b !== undefined && n < b.frames) x += b.amplitude * Math.sin(b.step * n)
      for (const channel of out) channel[i] = x
    }
    return true
  }
}
class ProbeDetector extends AudioWorkletProcessor {
  constructor (options) {
    super()
    this.threshold = options.processorOptions.threshold
    this.hold = Math.round(options.processorOptions.holdMs * sampleRate / 1000)
    this.loud = false
    this.lastLoud = 0
    this.quiet = undefined
  }
  process (inputs) {
    const block = Date.now()
    const input = inputs[0][0]
    for (let i = 0; i < 128; i++) {
      const frame = currentFrame + i
      if (input !== undefined && Math.abs(input[i]) > this.threshold) {
        if (!this.loud) this.port.postMessage({ type: 'on', frame, block })
        this.loud = true
        this.lastLoud = frame
        this.quiet = undefined
      } else if (this.loud) {
        if (this.quiet === undefined) this.quiet = { frame, block }
        if (frame - this.lastLoud > this.hold) {
          this.loud = false
          this.port.postMessage({ type: 'off', ...this.quiet })
        }
      }
    }
    return true
  }
}
registerProcessor('probe-source', ProbeSource)
registerProcessor('probe-detector', ProbeDetector)
`

/** Runs in the page before its scripts: installs `window.openstudioProbes`. */
function installProbes (worklets: string): void {
  const peers: RTCPeerConnection[] = []
  const sources: ProbeKit['sources'] = []
  const events: Record<string, ProbeEvent[]> = {}
  const ports = new Map<string, MessagePort>()
  const disconnects: Array<() => void> = []
  const listeners = new Set<() => void>()
  const modules = new WeakMap<BaseAudioContext, Promise<void>>()
  const moduleUrl = URL.createObjectURL(new Blob([worklets], { type: 'text/javascript' }))
  const record = (name: string, event: ProbeEvent): void => {
    events[name]?.push(event)
    for (const listener of listeners) listener()
  }
  const ready = async (context: BaseAudioContext): Promise<void> => {
    let loading = modules.get(context)
    if (loading === undefined) {
      loading = context.audioWorklet.addModule(moduleUrl)
      modules.set(context, loading)
    }
    await loading
  }

  const Native = window.RTCPeerConnection
  window.RTCPeerConnection = class extends Native {
    constructor (config?: RTCConfiguration) {
      super(config)
      peers.push(this)
    }
  }
  const createSource = AudioContext.prototype.createMediaStreamSource
  AudioContext.prototype.createMediaStreamSource = function (this: AudioContext, stream: MediaStream) {
    const node = createSource.call(this, stream)
    sources.push({ node, track: stream.getAudioTracks()[0] })
    return node
  }

  window.openstudioProbes = {
    peers,
    sources,
    events,
    held: { peers: [] },
    detect: async (name, node, options) => {
      await ready(node.context)
      const detector = new AudioWorkletNode(node.context, 'probe-detector', {
        numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], channelCount: 1, channelCountMode: 'explicit', processorOptions: options
      })
      events[name] = []
      detector.port.onmessage = (e: MessageEvent<ProbeEvent>) => { record(name, e.data) }
      node.connect(detector)
      // Pulled by the destination through a silent gain, so it runs whatever else the graph does.
      detector.connect(new GainNode(node.context, { gain: 0 })).connect(node.context.destination)
      disconnects.push(() => {
        try {
          node.disconnect(detector)
        } catch (err) {
          // Its owner disconnected the tapped node already (a call that ended).
          if (!(err instanceof DOMException && err.name === 'InvalidAccessError')) throw err
        }
        detector.disconnect()
      })
    },
    source: async (name, context) => {
      await ready(context)
      const source = new AudioWorkletNode(context, 'probe-source', { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1] })
      events[name] = []
      source.port.onmessage = (e: MessageEvent<ProbeEvent>) => { record(name, e.data) }
      ports.set(name, source.port)
      const destination = new MediaStreamAudioDestinationNode(context as AudioContext, { channelCount: 1 })
      source.connect(destination)
      disconnects.push(() => { source.disconnect() })
      return destination.stream.getAudioTracks()[0] as MediaStreamTrack
    },
    command: (name, command) => { ports.get(name)?.postMessage(command) },
    until: async (name, type, count, since, timeoutMs) => new Promise<ProbeEvent[]>((resolve) => {
      const hits = (): ProbeEvent[] => (events[name] ?? []).filter((e) => e.type === type && e.block >= since)
      const done = (): void => {
        listeners.delete(check)
        clearTimeout(timer)
        resolve(hits())
      }
      const check = (): void => { if (hits().length >= count) done() }
      const timer = setTimeout(done, timeoutMs)
      listeners.add(check)
      check()
    }),
    remove: () => {
      for (const disconnect of disconnects.splice(0)) disconnect()
      for (const port of ports.values()) port.close()
      ports.clear()
    },
    callPeer: () => peers.findLast((pc) => pc.connectionState !== 'closed' && pc.getTransceivers().some((t) => t.receiver.track.kind === 'audio')),
    sourceOf: (track) => sources.findLast((s) => s.track?.id === track.id)?.node,
    audioContext: async () => {
      const context = new AudioContext({ sampleRate: 48_000, latencyHint: 'interactive' })
      await context.resume()
      return context
    },
    peer: () => new RTCPeerConnection({ bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' }),
    gathered: async (pc) => new Promise<void>((resolve) => {
      const check = (): void => { if (pc.iceGatheringState === 'complete') resolve() }
      pc.addEventListener('icegatheringstatechange', check)
      check()
    }),
    receive: (context, receiver) => {
      receiver.jitterBufferTarget = 0
      const stream = new MediaStream([receiver.track])
      const element = new Audio()
      element.muted = true
      element.srcObject = stream
      void element.play()
      return context.createMediaStreamSource(stream)
    },
    jitterBuffer: async () => {
      let counters: JitterBufferCounters | undefined
      const stats = await window.openstudioProbes?.held.peers[0]?.getStats()
      stats?.forEach((s: { type: string, kind?: string, jitterBufferDelay?: number, jitterBufferTargetDelay?: number, jitterBufferEmittedCount?: number, concealmentEvents?: number }) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'audio') return
        counters = { delay: s.jitterBufferDelay ?? 0, target: s.jitterBufferTargetDelay ?? 0, emitted: s.jitterBufferEmittedCount ?? 0, concealmentEvents: s.concealmentEvents ?? 0 }
      })
      return counters
    },
    frameRate: async (ms) => new Promise<number>((resolve) => {
      let frames = 0
      const started = performance.now()
      const tick = (): void => {
        frames++
        if (performance.now() - started < ms) requestAnimationFrame(tick)
        else resolve(frames / ((performance.now() - started) / 1000))
      }
      requestAnimationFrame(tick)
    })
  }
}

/** Installs the probe kit in every page `page`'s context loads from now on. */
export async function addProbes (page: Page): Promise<void> {
  await page.context().addInitScript(installProbes, PROBE_WORKLETS)
}
