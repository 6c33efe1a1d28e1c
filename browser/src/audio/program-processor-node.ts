/**
 * The program processor (program-processor.ts) in an AudioWorklet. Its
 * output is the processed program (stereo). Ten times a second it posts the
 * loudness gain it applies, for the callers' returns and the host's monitor
 * to follow (the gain moves at most 1 dB in that time), so that everyone
 * hears the show at the level listeners do. Driving their gains from a
 * second audio-rate output instead hung Firefox 153's studio page every time
 * (tests/e2e/firefox.test.ts). Nothing is allocated while it renders but the
 * posted number.
 */
import { bs1770Filters } from './bs1770.ts'
import { ProgramProcessor } from './program-processor.ts'
import { loadProcessor } from './worklet.ts'

const PROCESSOR = 'openstudio-program-processor'

const PROCESSOR_SOURCE = `
const ProgramProcessor = ${ProgramProcessor.toString()}

class ProgramProcessorWorklet extends AudioWorkletProcessor {
  constructor (options) {
    super()
    const o = options.processorOptions
    this.processor = new ProgramProcessor({ sampleRate, targetLufs: o.targetLufs, ceilingDbtp: o.ceilingDbtp, filters: o.filters })
    this.processor.enabled = o.enabled
    this.silence = new Float32Array(128)
    this.every = Math.round(sampleRate / 10)
    this.since = 0
    this.port.onmessage = (e) => {
      const m = e.data
      if (typeof m.targetLufs === 'number') this.processor.targetLufs = m.targetLufs
      if (typeof m.ceilingDbtp === 'number') this.processor.ceilingDbtp = m.ceilingDbtp
      if (typeof m.enabled === 'boolean') this.processor.enabled = m.enabled
    }
  }

  process (inputs, outputs) {
    const input = inputs[0]
    const program = outputs[0]
    const frames = program[0].length
    if (this.silence.length !== frames) this.silence = new Float32Array(frames)
    const left = input.length > 0 ? input[0] : this.silence
    const right = input.length > 1 ? input[1] : left
    this.processor.process(left, right, program[0], program[1], frames)
    this.since += frames
    if (this.since >= this.every) {
      this.since = 0
      this.port.postMessage(this.processor.gainDb)
    }
    return true
  }
}
registerProcessor('${PROCESSOR}', ProgramProcessorWorklet)
`

/** What the producer sets: the target, the ceiling, and whether it works at all. */
export interface ProcessingSettings {
  /** LUFS: −16 (talk and streaming), −23 (EBU R128) or −14. */
  targetLufs: number
  /** dBTP. */
  ceilingDbtp: number
  enabled: boolean
}

export const PROCESSING_DEFAULTS: Readonly<ProcessingSettings> = { targetLufs: -16, ceilingDbtp: -1, enabled: true }

/** The loudness targets the studio offers. */
export const LOUDNESS_TARGETS = [-16, -23, -14] as const

/** Loads the processor into `context` once; a ProgramProcessorNode needs it. */
export async function loadProgramProcessor (context: BaseAudioContext): Promise<void> {
  await loadProcessor(context, PROCESSOR, PROCESSOR_SOURCE)
}

export class ProgramProcessorNode {
  readonly node: AudioWorkletNode
  private current: ProcessingSettings
  /** The loudness gain (dB) the processor applies now, as last posted. */
  gainDb = 0
  /** Hears each posted gain (dB). */
  onGain?: (db: number) => void

  constructor (context: BaseAudioContext, settings: ProcessingSettings = PROCESSING_DEFAULTS) {
    this.current = { ...settings }
    this.node = new AudioWorkletNode(context, PROCESSOR, {
      numberOfInputs: 1,
      numberOfOutputs: 1,
      outputChannelCount: [2],
      channelCount: 2,
      channelCountMode: 'explicit',
      processorOptions: { ...settings, filters: bs1770Filters(context.sampleRate) }
    })
    this.node.port.onmessage = (e: MessageEvent<number>) => {
      if (typeof e.data !== 'number' || !Number.isFinite(e.data)) return
      this.gainDb = e.data
      this.onGain?.(e.data)
    }
  }

  get settings (): ProcessingSettings {
    return { ...this.current }
  }

  /** Changes the target, the ceiling or the switch; the rest stays. */
  set (change: Partial<ProcessingSettings>): void {
    this.current = { ...this.current, ...change }
    this.node.port.postMessage(change)
  }
}
