/**
 * The ducker (ducker.ts) in an AudioWorklet: input 0 is the cart (stereo),
 * input 1 the key (the voices in the program); the output is the cart, taken
 * down while the key speaks. An input with nothing connected counts as
 * silence. Nothing is allocated while it renders.
 */
import { DUCKER, type DuckerSettings } from './constants.ts'
import { Ducker } from './ducker.ts'
import { loadProcessor } from './worklet.ts'

const PROCESSOR = 'openstudio-ducker'

const PROCESSOR_SOURCE = `
const Ducker = ${Ducker.toString()}

class DuckerProcessor extends AudioWorkletProcessor {
  constructor (options) {
    super()
    this.ducker = new Ducker({ ...options.processorOptions, sampleRate })
    this.silence = new Float32Array(128)
    this.port.onmessage = (e) => { if (typeof e.data === 'number') this.ducker.depthDb = e.data }
  }

  process (inputs, outputs) {
    const cart = inputs[0]
    const key = inputs[1]
    const out = outputs[0]
    const frames = out[0].length
    if (this.silence.length !== frames) this.silence = new Float32Array(frames)
    const cartL = cart.length > 0 ? cart[0] : this.silence
    const cartR = cart.length > 1 ? cart[1] : cartL
    const keyL = key.length > 0 ? key[0] : this.silence
    const keyR = key.length > 1 ? key[1] : keyL
    this.ducker.process(cartL, cartR, keyL, keyR, out[0], out[1], frames)
    return true
  }
}
registerProcessor('${PROCESSOR}', DuckerProcessor)
`

/** Loads the processor into `context` once; a DuckerNode needs it. */
export async function loadDucker (context: BaseAudioContext): Promise<void> {
  await loadProcessor(context, PROCESSOR, PROCESSOR_SOURCE)
}

/** A ducker in the graph: connect the cart to `cart`, the key to `key`, and take `output`. */
export class DuckerNode {
  readonly node: AudioWorkletNode
  private readonly sources: AudioNode[] = []

  /** @param init the ducker's settings; @default DUCKER */
  constructor (context: BaseAudioContext, init: Partial<DuckerSettings> = {}) {
    this.node = new AudioWorkletNode(context, PROCESSOR, {
      numberOfInputs: 2,
      numberOfOutputs: 1,
      outputChannelCount: [2],
      channelCount: 2,
      channelCountMode: 'explicit',
      processorOptions: { ...DUCKER, ...init }
    })
  }

  /** Connects `source` as the cart (input 0). */
  cart (source: AudioNode): void {
    source.connect(this.node, 0, 0)
    this.sources.push(source)
  }

  /** Connects `source` as the key (input 1). */
  key (source: AudioNode): void {
    source.connect(this.node, 0, 1)
    this.sources.push(source)
  }

  /** Changes the depth (dB, at most 0). */
  setDepth (db: number): void {
    this.node.port.postMessage(db)
  }

  /** Takes the ducker out of the graph: its output, and what was connected to it (which stays connected elsewhere). */
  dispose (): void {
    for (const source of this.sources.splice(0)) source.disconnect(this.node)
    this.node.disconnect()
  }
}
