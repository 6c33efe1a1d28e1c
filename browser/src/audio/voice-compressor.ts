/**
 * Every strip's voice compressor, in one AudioWorklet per bank of
 * VOICE_BANK_CHANNELS strips (a studio of 15 callers and a host needs one).
 *
 * A DynamicsCompressorNode per strip cost 6–7 ms of render time per second
 * of audio each here (about 0.1 cores for 16 strips), and each delayed its
 * strip by its fixed 6 ms look-ahead. This compressor reads each block's peak
 * and works out its gain once per VOICE_BLOCK samples, interpolating in
 * between; it has no look-ahead (the program limiter after it has one) and no
 * makeup gain, so a strip below the threshold is exactly unity gain.
 *
 * Strips are mono: a stereo source is mixed down by the speaker rules.
 */
import { VOICE_BANK_CHANNELS, VOICE_BLOCK, type CompressorSettings } from './constants.ts'
import { loadProcessor } from './worklet.ts'

const PROCESSOR = 'openstudio-voice-compressors'

/**
 * The processor, as the AudioWorkletGlobalScope runs it (plain JavaScript).
 *
 * The static curve: unity below the threshold, a quadratic knee over `knee`
 * dB above it that meets the full ratio with a matching slope, then the
 * ratio. The gain reduction follows the curve's target through one-pole
 * smoothing with time constants `attack` (deeper) and `release` (back up).
 * A channel with nothing connected outputs silence and starts afresh.
 */
const PROCESSOR_SOURCE = `
const BLOCK = ${VOICE_BLOCK}
/** Under this peak (-100 dBFS) a block asks for no reduction. */
const FLOOR = 1e-5
/** A reduction smaller than this (dB) is none: below the threshold the gain is exactly 1. */
const NEGLIGIBLE_DB = 1e-6

class VoiceCompressors extends AudioWorkletProcessor {
  constructor (options) {
    super()
    const { threshold, knee, ratio, attack, release } = options.processorOptions
    const channels = options.numberOfInputs
    const blockSeconds = BLOCK / sampleRate
    this.threshold = threshold
    this.knee = knee
    this.slope = 1 / ratio - 1
    this.attack = Math.exp(-blockSeconds / attack)
    this.release = Math.exp(-blockSeconds / release)
    this.reductionDb = new Float64Array(channels)
    this.gain = new Float64Array(channels).fill(1)
  }

  /** The gain change (dB, at most 0) the static curve asks for at a level (dBFS). */
  reduction (levelDb) {
    const over = levelDb - this.threshold
    if (over <= 0) return 0
    if (over < this.knee) return this.slope * over * over / (2 * this.knee)
    return this.slope * (over - this.knee / 2)
  }

  process (inputs, outputs) {
    for (let k = 0; k < inputs.length; k++) {
      const input = inputs[k][0]
      const output = outputs[k][0]
      if (input === undefined) {
        this.reductionDb[k] = 0
        this.gain[k] = 1
        output.fill(0)
        continue
      }
      for (let start = 0; start < input.length; start += BLOCK) {
        const end = Math.min(start + BLOCK, input.length)
        let peak = 0
        for (let i = start; i < end; i++) {
          const a = Math.abs(input[i])
          if (a > peak) peak = a
        }
        const target = peak > FLOOR ? this.reduction(20 * Math.log10(peak)) : 0
        const current = this.reductionDb[k]
        let next = target + (current - target) * (target < current ? this.attack : this.release)
        if (next > -NEGLIGIBLE_DB) next = 0
        this.reductionDb[k] = next
        const from = this.gain[k]
        const to = next === 0 ? 1 : Math.pow(10, next / 20)
        this.gain[k] = to
        // No allocation here (not even a subarray): the render thread must not feed the garbage collector.
        if (from === 1 && to === 1) {
          for (let i = start; i < end; i++) output[i] = input[i]
          continue
        }
        const step = (to - from) / (end - start)
        for (let i = start; i < end; i++) output[i] = input[i] * (from + step * (i - start + 1))
      }
    }
    return true
  }
}
registerProcessor('${PROCESSOR}', VoiceCompressors)
`

/** Loads the processor into `context` once; a VoiceCompressors needs it. */
export async function loadVoiceCompressors (context: BaseAudioContext): Promise<void> {
  await loadProcessor(context, PROCESSOR, PROCESSOR_SOURCE)
}

/** An input and the output of the same index on a bank's node. */
interface Slot {
  readonly node: AudioNode
  readonly index: number
}

/** One strip's compressor: a slot of a bank, held until released. */
export interface CompressorChannel extends Slot {
  /** Disconnects the channel's output and frees it for another strip. */
  release: () => void
}

/**
 * A channel that compresses nothing (a cart's strip: music and jingles are
 * mastered already), in the same shape as a bank's, and as wide as its source.
 */
export function bypassChannel (context: BaseAudioContext): CompressorChannel {
  const node = new GainNode(context)
  return { node, index: 0, release: () => { node.disconnect() } }
}

/** Compressor channels for strips, in banks of VOICE_BANK_CHANNELS, created as strips need them. */
export class VoiceCompressors {
  private readonly banks: AudioWorkletNode[] = []
  /** Free channels, the longest free first, so that a channel has rendered empty (and reset) before it is reused where possible. */
  private readonly free: Slot[] = []

  constructor (private readonly context: BaseAudioContext, private readonly settings: CompressorSettings) {}

  /** A channel for one strip: connect its feed to `node` input `index`, and take its output from `node` output `index`. */
  acquire (): CompressorChannel {
    if (this.free.length === 0) this.addBank()
    const slot = this.free.shift() as Slot
    let released = false
    return {
      ...slot,
      release: () => {
        if (released) return
        released = true
        slot.node.disconnect(slot.index)
        this.free.push(slot)
      }
    }
  }

  /** Disconnects every bank. */
  dispose (): void {
    for (const node of this.banks) node.disconnect()
    this.banks.length = 0
    this.free.length = 0
  }

  private addBank (): void {
    const node = new AudioWorkletNode(this.context, PROCESSOR, {
      numberOfInputs: VOICE_BANK_CHANNELS,
      numberOfOutputs: VOICE_BANK_CHANNELS,
      outputChannelCount: new Array<number>(VOICE_BANK_CHANNELS).fill(1),
      channelCount: 1,
      channelCountMode: 'explicit',
      channelInterpretation: 'speakers',
      processorOptions: { ...this.settings }
    })
    this.banks.push(node)
    for (let index = 0; index < VOICE_BANK_CHANNELS; index++) this.free.push({ node, index })
  }
}
