/**
 * A participant's channel strip and the nodes it owns:
 *
 *     source → fader → voice compressor (a channel of a shared worklet) → meter
 *                                           ├→ program send → program sum
 *                                           └→ one send per bus that hears it → that bus
 */
import { RampedGain } from './gain.ts'
import { createMeter } from './meter.ts'
import type { CompressorChannel } from './voice-compressor.ts'

interface Send {
  node: GainNode
  gain: RampedGain
}

export class Strip {
  readonly fader: RampedGain
  readonly programSend: RampedGain
  readonly meter: AnalyserNode
  private readonly faderNode: GainNode
  private readonly programSendNode: GainNode
  private readonly sends = new Map<string, Send>()

  private source: AudioNode

  /** Builds the strip through `compressor` (the strip's own channel), with its fader already at `faderGain` (linear) and every send silent. */
  constructor (private readonly context: BaseAudioContext, source: AudioNode, programSum: AudioNode, private readonly compressor: CompressorChannel, meterWindow: number, faderGain: number) {
    this.source = source
    this.faderNode = new GainNode(context)
    this.fader = new RampedGain(this.faderNode.gain, faderGain)
    source.connect(this.faderNode)
    this.faderNode.connect(compressor.node, 0, compressor.index)
    this.meter = createMeter(context, compressor.node, meterWindow, compressor.index)
    this.programSendNode = new GainNode(context)
    this.programSend = new RampedGain(this.programSendNode.gain, 0)
    this.feed(this.programSendNode).connect(programSum)
  }

  /** Feeds the strip from `source` instead (a renegotiated track); routing, fader and meter stay. */
  replaceSource (source: AudioNode): void {
    if (source === this.source) return
    this.disconnectSource()
    this.source = source
    source.connect(this.faderNode)
  }

  /** The send from this strip into `owner`'s bus, created silent on first use. */
  sendTo (owner: string, bus: AudioNode): RampedGain {
    let send = this.sends.get(owner)
    if (send === undefined) {
      const node = new GainNode(this.context)
      send = { node, gain: new RampedGain(node.gain, 0) }
      this.feed(node).connect(bus)
      this.sends.set(owner, send)
    }
    return send.gain
  }

  /** The send into `owner`'s bus, if this strip ever fed it. */
  existingSend (owner: string): RampedGain | undefined {
    return this.sends.get(owner)?.gain
  }

  /** Disconnects and forgets the send into `owner`'s bus (its owner is leaving). */
  dropSend (owner: string): void {
    const send = this.sends.get(owner)
    if (send === undefined) return
    this.compressor.node.disconnect(send.node, this.compressor.index)
    send.node.disconnect()
    this.sends.delete(owner)
  }

  /** Disconnects every node the strip owns, and the source from the fader. */
  dispose (): void {
    this.disconnectSource()
    for (const owner of [...this.sends.keys()]) this.dropSend(owner)
    for (const node of [this.faderNode, this.meter, this.programSendNode]) node.disconnect()
    this.compressor.release()
  }

  /** Connects the strip's output (its compressor channel) to `node`, and returns `node`. */
  private feed<T extends AudioNode> (node: T): T {
    this.compressor.node.connect(node, this.compressor.index)
    return node
  }

  private disconnectSource (): void {
    try {
      this.source.disconnect(this.faderNode)
    } catch (err) {
      // Already disconnected by its owner: nothing left to undo.
      if (!(err instanceof DOMException && err.name === 'InvalidAccessError')) throw err
    }
  }
}
