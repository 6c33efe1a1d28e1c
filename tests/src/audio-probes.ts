/**
 * Audio probes for the studio benchmark: sample-accurate signal injection
 * and detection inside the app's own pages (see below).
 */
import type { Page } from 'playwright-core'
import { ToneWatch, type ToneWatchInit, type ToneWatchReport } from './tone-watch.ts'

/*
 * Audio probes: sample-accurate signal injection and detection in the app's
 * own pages. Installed before the page loads, the kit records every
 * RTCPeerConnection and every MediaStreamAudioSourceNode the app makes,
 * counts the audio frames it hands to AudioEncoders, and adds AudioWorklet
 * processors on demand:
 *
 * - `probe-source` makes a signal to send in place of a microphone:
 *   silence, a steady tone, and on command one click (a short tone burst);
 * - `probe-detector` reports when what it taps rises above a threshold
 *   ('on') and when it has stayed under it for a hold time ('off');
 * - `probe-tone-watch` counts dropouts of steady tones in what it taps
 *   (`ToneWatch`), and reports its counts about once a second.
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
  /** The same source as a node, to connect into a graph without a MediaStream hop. */
  sourceNode: (name: string, context: BaseAudioContext) => Promise<AudioWorkletNode>
  /** Watches the tones of `init` in what `node` outputs, under `name`. */
  watchTones: (name: string, node: AudioNode, init: Omit<ToneWatchInit, 'sampleRate'>) => Promise<void>
  /** The latest counts of tone watch `name`. */
  tones: Record<string, ToneWatchReport>
  /** Audio frames the page handed to WebCodecs AudioEncoders. */
  encoded: { frames: number }
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

/**
 * The processors, as the AudioWorkletGlobalScope runs them, after the
 * ToneWatch class (its source as tsx compiled it: tsx names functions with
 * an `__name` helper, which the worklet needs too).
 */
const PROBE_WORKLETS = `const __name = (fn) => fn\n${ToneWatch.toString()}\n` + String.raw`
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
class ProbeToneWatch extends AudioWorkletProcessor {
  constructor (options) {
    super()
    this.watch = new ToneWatch({ ...options.processorOptions, sampleRate })
    this.silence = new Float32Array(128)
    this.quanta = 0
  }
  process (inputs) {
    this.watch.push(inputs[0][0] ?? this.silence)
    // About once a second.
    if (++this.quanta % Math.round(sampleRate / 128) === 0) this.port.postMessage(this.watch.report())
    return true
  }
}
registerProcessor('probe-source', ProbeSource)
registerProcessor('probe-detector', ProbeDetector)
registerProcessor('probe-tone-watch', ProbeToneWatch)
`

/** Runs in the page before its scripts: installs `window.openstudioProbes`. */
function installProbes (worklets: string): void {
  const peers: RTCPeerConnection[] = []
  const sources: ProbeKit['sources'] = []
  const events: Record<string, ProbeEvent[]> = {}
  const tones: Record<string, ToneWatchReport> = {}
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
  const encoded = { frames: 0 }
  if (typeof AudioEncoder !== 'undefined') {
    const encode = AudioEncoder.prototype.encode
    AudioEncoder.prototype.encode = function (this: AudioEncoder, data: AudioData) {
      encoded.frames += data.numberOfFrames
      encode.call(this, data)
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
    sourceNode: async (name, context) => {
      await ready(context)
      const source = new AudioWorkletNode(context, 'probe-source', { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1] })
      events[name] = []
      source.port.onmessage = (e: MessageEvent<ProbeEvent>) => { record(name, e.data) }
      ports.set(name, source.port)
      disconnects.push(() => { source.disconnect() })
      return source
    },
    source: async (name, context) => {
      const source = await window.openstudioProbes?.sourceNode(name, context)
      const destination = new MediaStreamAudioDestinationNode(context as AudioContext, { channelCount: 1 })
      source?.connect(destination)
      return destination.stream.getAudioTracks()[0] as MediaStreamTrack
    },
    tones,
    encoded,
    watchTones: async (name, node, init) => {
      await ready(node.context)
      const watch = new AudioWorkletNode(node.context, 'probe-tone-watch', {
        numberOfInputs: 1, numberOfOutputs: 1, outputChannelCount: [1], channelCount: 1, channelCountMode: 'explicit', processorOptions: init
      })
      watch.port.onmessage = (e: MessageEvent<ToneWatchReport>) => { tones[name] = e.data }
      node.connect(watch)
      // Pulled by the destination through a silent gain, so it runs whatever else the graph does.
      watch.connect(new GainNode(node.context, { gain: 0 })).connect(node.context.destination)
      disconnects.push(() => { watch.disconnect() })
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
