/**
 * The context's clock against the wall clock, read on the render thread: the
 * RenderClock that RenderWatch (render-watch.ts) reads in the app.
 *
 * Not `AudioContext.getOutputTimestamp()`: Firefox (153, PulseAudio) answers
 * it, and `outputLatency`, by asking the audio server for the stream's
 * latency while it holds the graph's lock. When the server is handing the
 * page a render callback at that moment, the two wait for each other and the
 * page's main thread stops for good: no script, no network, a studio that no
 * caller can reach (tests/e2e/firefox.test.ts hung this way in about half
 * its runs while the watch read that clock every second).
 *
 * Instead a worklet stamps the render quanta with the wall clock. The
 * quanta of one callback run back to back, so each stamp is late by where
 * its quantum sits in the callback; the freshest stamp of a period (the one
 * whose wall time is least ahead of its frame) tells where the context
 * stands, to a millisecond or two. A render that came late enough to lose
 * audio moves every later stamp on by the audio lost.
 */
import { RENDER_STAMP_MS } from './constants.ts'
import type { RenderClock } from './render-watch.ts'
import { loadProcessor } from './worklet.ts'

const PROCESSOR = 'openstudio-render-clock'

/** One reading: the context's time (ms of audio rendered) at a wall-clock time (ms). */
export interface RenderStamp {
  contextMs: number
  wallMs: number
}

/**
 * Of the stamps in each period, keeps the freshest, and hands it over once
 * the period is over. Pure, and its source is the worklet's: it refers to
 * nothing outside itself.
 */
export class RenderStamps {
  private best: RenderStamp | undefined = undefined
  /** Where the period began, in ms of audio. */
  private since: number | undefined = undefined

  /** @param everyMs the period, in ms of rendered audio */
  constructor (private readonly everyMs: number) {}

  /**
   * A quantum began at `contextMs` of audio, at `wallMs` on the wall clock.
   * @returns the period's freshest stamp when this one ends it, else undefined
   */
  push (contextMs: number, wallMs: number): RenderStamp | undefined {
    if (this.best === undefined || wallMs - contextMs < this.best.wallMs - this.best.contextMs) this.best = { contextMs, wallMs }
    this.since ??= contextMs
    if (contextMs - this.since < this.everyMs) return undefined
    const best = this.best
    this.best = undefined
    this.since = undefined
    return best
  }
}

const PROCESSOR_SOURCE = `
const RenderStamps = ${RenderStamps.toString()}

class RenderClockProcessor extends AudioWorkletProcessor {
  constructor (options) {
    super()
    this.stamps = new RenderStamps(options.processorOptions.everyMs)
  }

  process () {
    const stamp = this.stamps.push(currentFrame * 1000 / sampleRate, Date.now())
    if (stamp !== undefined) this.port.postMessage([stamp.contextMs, stamp.wallMs])
    return true
  }
}
registerProcessor('${PROCESSOR}', RenderClockProcessor)
`

/** A context's clock as its render thread stamps it. Stop it when done. */
export class WorkletRenderClock implements RenderClock {
  private last?: RenderStamp
  private readonly forget = (): void => { this.last = undefined }

  private constructor (private readonly context: AudioContext, private readonly node: AudioWorkletNode) {
    node.port.onmessage = (e: MessageEvent<unknown>) => {
      const [contextMs, wallMs] = Array.isArray(e.data) ? e.data as unknown[] : []
      if (typeof contextMs === 'number' && typeof wallMs === 'number') this.last = { contextMs, wallMs }
    }
    // A stamp from before the context stopped would count the stop as audio lost.
    context.addEventListener('statechange', this.forget)
  }

  /**
   * Starts the stamping worklet in `context` (its output is silence, to the destination: it renders only when pulled).
   * @param everyMs how often the render thread posts a stamp @default RENDER_STAMP_MS
   */
  static async start (context: AudioContext, everyMs = RENDER_STAMP_MS): Promise<WorkletRenderClock> {
    await loadProcessor(context, PROCESSOR, PROCESSOR_SOURCE)
    const node = new AudioWorkletNode(context, PROCESSOR, { numberOfInputs: 0, numberOfOutputs: 1, outputChannelCount: [1], processorOptions: { everyMs } })
    node.connect(context.destination)
    return new WorkletRenderClock(context, node)
  }

  get state (): AudioContextState {
    return this.context.state
  }

  /** The last stamp, in the page's clock; empty before the first (and after the context changed state). */
  getOutputTimestamp (): AudioTimestamp {
    const last = this.last
    if (last === undefined) return {}
    return { contextTime: last.contextMs / 1000, performanceTime: last.wallMs - performance.timeOrigin }
  }

  /** Takes the worklet out of the graph. Idempotent. */
  stop (): void {
    this.context.removeEventListener('statechange', this.forget)
    this.node.port.onmessage = null
    this.node.disconnect()
    this.last = undefined
  }
}
