/**
 * The program's loudness meter in an AudioWorklet: LoudnessMeter
 * (loudness.ts) runs on the render thread over the program as it leaves the
 * chain, and posts a reading ten times a second. The class's own source is
 * the processor's (it refers to nothing outside itself), so the meter that
 * the known-answer tests check is the one that runs.
 *
 * The processor allocates nothing while it renders, except the reading it
 * posts (six numbers, 10 times a second): a message is the one way out of
 * the render thread without a SharedArrayBuffer, which needs cross-origin
 * isolation this app does not have.
 */
import { bs1770Filters } from './bs1770.ts'
import { LoudnessMeter, type LoudnessReading } from './loudness.ts'
import { loadProcessor } from './worklet.ts'

const PROCESSOR = 'openstudio-loudness'

const PROCESSOR_SOURCE = `
const LoudnessMeter = ${LoudnessMeter.toString()}

class LoudnessProcessor extends AudioWorkletProcessor {
  constructor (options) {
    super()
    this.meter = new LoudnessMeter({ sampleRate, channels: 2, filters: options.processorOptions.filters })
    this.reading = { momentary: 0, shortTerm: 0, integrated: 0, range: 0, truePeak: 0, samplePeak: 0 }
    this.pair = [null, null]
    this.every = Math.round(sampleRate / 10)
    this.since = 0
    this.port.onmessage = (e) => { if (e.data === 'reset') this.meter.reset() }
  }

  process (inputs) {
    const input = inputs[0]
    if (input === undefined || input.length === 0) return true
    // A mono block counts in both channels, as a mono program on two speakers.
    this.pair[0] = input[0]
    this.pair[1] = input.length > 1 ? input[1] : input[0]
    const frames = input[0].length
    this.meter.push(this.pair, frames)
    this.since += frames
    if (this.since >= this.every) {
      this.since = 0
      const r = this.meter.read(this.reading)
      this.port.postMessage([r.momentary, r.shortTerm, r.integrated, r.range, r.truePeak, r.samplePeak])
    }
    return true
  }
}
registerProcessor('${PROCESSOR}', LoudnessProcessor)
`

/** Loads the processor into `context` once; a ProgramLoudness needs it. */
export async function loadLoudnessMeter (context: BaseAudioContext): Promise<void> {
  await loadProcessor(context, PROCESSOR, PROCESSOR_SOURCE)
}

/** The loudness of what `source` carries, read on the render thread. */
export class ProgramLoudness {
  private readonly node: AudioWorkletNode
  private latest?: LoudnessReading

  constructor (context: BaseAudioContext, source: AudioNode) {
    // No outputs: the browser renders it as a sink, beside the program's way out.
    this.node = new AudioWorkletNode(context, PROCESSOR, {
      numberOfInputs: 1,
      numberOfOutputs: 0,
      channelCount: 2,
      channelCountMode: 'explicit',
      processorOptions: { filters: bs1770Filters(context.sampleRate) }
    })
    this.node.port.onmessage = (e: MessageEvent<number[]>) => {
      const [momentary, shortTerm, integrated, range, truePeak, samplePeak] = e.data
      this.latest = { momentary, shortTerm, integrated, range, truePeak, samplePeak } as LoudnessReading
    }
    source.connect(this.node)
  }

  /** The last reading, about 100 ms old at most; undefined before the first. */
  get reading (): LoudnessReading | undefined {
    return this.latest
  }

  /** Starts the integrated loudness, range and peaks afresh (a new show). */
  reset (): void {
    this.node.port.postMessage('reset')
  }

  dispose (): void {
    this.node.port.onmessage = null
    this.node.disconnect()
  }
}
