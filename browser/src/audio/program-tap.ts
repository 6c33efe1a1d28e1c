/**
 * A tap on a node for the encoder and the recorder: an AudioWorklet that
 * hands the main thread planar 32-bit blocks of a fixed length (10 ms at
 * 48 kHz for the encoder), straight from the render thread, with no
 * MediaStream hop (which costs ~20 ms). Each block carries the frame of its
 * first sample on the context's timeline (`currentFrame`), so taps on
 * different nodes line up. The tap has no outputs, so the graph renders it
 * without sending it anywhere; with nothing connected it hands out silence.
 */
import { loadProcessor } from './worklet.ts'

/** A block of audio: `channels` planes of `frames` samples each, one after the other. */
export interface TapBlock {
  data: Float32Array<ArrayBuffer>
  frames: number
  channels: number
  /** The frame of the block's first sample on its context's timeline. */
  frame: number
}

export interface ProgramTap {
  /** Stops the worklet and disconnects it. Idempotent. */
  stop: () => void
}

const PROCESSOR = 'openstudio-program-tap'

/** The processor, as the AudioWorkletGlobalScope runs it (plain JavaScript, loaded from a blob). */
const PROCESSOR_SOURCE = `
class ProgramTap extends AudioWorkletProcessor {
  constructor (options) {
    super()
    this.frames = options.processorOptions.frames
    this.channels = options.processorOptions.channels
    this.block = new Float32Array(this.frames * this.channels)
    this.fill = 0
    this.start = 0
    this.running = true
    this.port.onmessage = (e) => { if (e.data === 'stop') this.running = false }
  }

  process (inputs) {
    const input = inputs[0] || []
    const quantum = input[0] ? input[0].length : 128
    let done = 0
    while (done < quantum) {
      if (this.fill === 0) this.start = currentFrame + done
      const n = Math.min(quantum - done, this.frames - this.fill)
      for (let c = 0; c < this.channels; c++) {
        const source = input[c] || input[0]
        if (source) this.block.set(source.subarray(done, done + n), c * this.frames + this.fill)
        else this.block.fill(0, c * this.frames + this.fill, c * this.frames + this.fill + n)
      }
      this.fill += n
      done += n
      if (this.fill === this.frames) {
        this.port.postMessage([this.start, this.block], [this.block.buffer])
        this.block = new Float32Array(this.frames * this.channels)
        this.fill = 0
      }
    }
    return this.running
  }
}
registerProcessor('${PROCESSOR}', ProgramTap)
`

/**
 * Taps `input` and calls `onBlock` with every block of `frames` samples,
 * mixed to `channels` (speaker rules: a mono input is copied to both sides).
 */
export async function createProgramTap (input: AudioNode, init: { channels: 1 | 2, frames: number }, onBlock: (block: TapBlock) => void): Promise<ProgramTap> {
  await loadProcessor(input.context, PROCESSOR, PROCESSOR_SOURCE)
  const node = new AudioWorkletNode(input.context, PROCESSOR, {
    numberOfInputs: 1,
    numberOfOutputs: 0,
    channelCount: init.channels,
    channelCountMode: 'explicit',
    channelInterpretation: 'speakers',
    processorOptions: { frames: init.frames, channels: init.channels }
  })
  node.port.onmessage = (e: MessageEvent<[number, Float32Array<ArrayBuffer>]>) => {
    const [frame, data] = e.data
    onBlock({ data, frames: init.frames, channels: init.channels, frame })
  }
  input.connect(node)
  let stopped = false
  return {
    stop: () => {
      if (stopped) return
      stopped = true
      node.port.postMessage('stop')
      node.port.onmessage = null
      input.disconnect(node)
    }
  }
}
