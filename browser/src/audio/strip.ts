/**
 * A participant's channel strip and the nodes it owns:
 *
 *     source → fader → voice compressor → post (makeup trim) → meter
 *                                           ├→ program send → program sum
 *                                           └→ one send per bus that hears it → that bus
 */
import { compressorMakeupDb } from './compressor-curve.ts'
import type { CompressorSettings } from './constants.ts'
import { RampedGain } from './gain.ts'
import { createMeter } from './meter.ts'

/** What every strip is built with, resolved once by the mixer. */
export interface StripSettings {
  voice: CompressorSettings
  meterWindow: number
}

interface Send {
  node: GainNode
  gain: RampedGain
}

/** Builds a DynamicsCompressorNode and the gain that cancels its automatic makeup. */
export function createCompressor (context: BaseAudioContext, settings: CompressorSettings): { compressor: DynamicsCompressorNode, trim: GainNode } {
  const compressor = new DynamicsCompressorNode(context, settings)
  const trim = new GainNode(context, { gain: 10 ** (-compressorMakeupDb(settings) / 20) })
  compressor.connect(trim)
  return { compressor, trim }
}

export class Strip {
  readonly fader: RampedGain
  readonly programSend: RampedGain
  readonly meter: AnalyserNode
  private readonly faderNode: GainNode
  private readonly compressor: DynamicsCompressorNode
  private readonly post: GainNode
  private readonly programSendNode: GainNode
  private readonly sends = new Map<string, Send>()

  private source: AudioNode

  /** Builds the strip with its fader already at `faderGain` (linear) and every send silent. */
  constructor (private readonly context: BaseAudioContext, source: AudioNode, programSum: AudioNode, settings: StripSettings, faderGain: number) {
    this.source = source
    this.faderNode = new GainNode(context)
    this.fader = new RampedGain(this.faderNode.gain, faderGain)
    const { compressor, trim } = createCompressor(context, settings.voice)
    this.compressor = compressor
    this.post = trim
    source.connect(this.faderNode)
    this.faderNode.connect(compressor)
    this.meter = createMeter(context, this.post, settings.meterWindow)
    this.programSendNode = new GainNode(context)
    this.programSend = new RampedGain(this.programSendNode.gain, 0)
    this.post.connect(this.programSendNode).connect(programSum)
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
      this.post.connect(node).connect(bus)
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
    this.sends.get(owner)?.node.disconnect()
    this.sends.delete(owner)
  }

  /** Disconnects every node the strip owns, and the source from the fader. */
  dispose (): void {
    this.disconnectSource()
    for (const owner of [...this.sends.keys()]) this.dropSend(owner)
    for (const node of [this.faderNode, this.compressor, this.post, this.meter, this.programSendNode]) node.disconnect()
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
