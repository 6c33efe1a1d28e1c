/**
 * The studio mixer: channel strips, the program chain and every
 * participant's bus, kept in line with a MixPlan by diffing gain targets.
 *
 *     voices' program sends → voice sum (voiceKey) → voice duck ─┐
 *     carts' program sends  ─────────────────────────────────────┴→ program sum → limiter → makeup trim → processor → ceiling (programOutput) → meter, loudness
 *     strips' bus sends     → each participant's bus → × the processor's loudness gain, 10 times a second → limiter → makeup trim → ceiling (busOutput)
 *
 * A bus with talkback on it (MixPlan.talkback) takes its other sends down by
 * the talkback duck while the talkback lasts.
 */
import type { MixPlan } from '@openstudio/protocol'
import { createCeiling } from './ceiling.ts'
import { createCompressor } from './compressor-curve.ts'
import { CEILING_KNEE_DB, GAIN_RAMP_S, METER_WINDOW, PROGRAM_LIMITER, TALKBACK_DUCK_DB, VOICE_COMPRESSOR, type CompressorSettings } from './constants.ts'
import { InvalidGainError, MixerDisposedError } from './errors.ts'
import { dbToGain, RampedGain } from './gain.ts'
import { createMeter, readLevel, type Level } from './meter.ts'
import { ProgramLoudness } from './loudness-node.ts'
import { PROCESSING_DEFAULTS, ProgramProcessorNode, type ProcessingSettings } from './program-processor-node.ts'
import { Strip } from './strip.ts'
import type { MixerLevels, StudioMixerInit } from './types.ts'
import { bypassChannel, VoiceCompressors } from './voice-compressor.ts'

/** A bus's way out of the mixer (see ensureBus). */
interface BusOutput {
  /** The processor's loudness gain. */
  gain: GainNode
  /** What busOutput gives: after the limiter and the ceiling. */
  end: AudioNode
  nodes: AudioNode[]
}

/**
 * The studio's Web Audio mixing engine, on any BaseAudioContext (an
 * AudioContext at 48 kHz live, an OfflineAudioContext in tests) that has the
 * voice compressor loaded (see createStudioMixer).
 *
 * A participant has a strip once it has a source (`addParticipant`) and a bus
 * once anyone asks for it (`busOutput`) or it has a source: a caller's bus
 * can be wired to its return track before its microphone arrives.
 */
export class StudioMixer {
  /** The limited program: connect it to the encoder's input. */
  readonly programOutput: AudioNode
  private readonly programSum: GainNode
  /**
   * Every voice in the program, before the voice duck: the key a cart
   * that gives way to the voices listens to.
   */
  readonly voiceKey: AudioNode
  private readonly voiceDuck: RampedGain
  private readonly limiter: DynamicsCompressorNode
  private readonly limiterTrim: GainNode
  /** The limiter's and the ceiling's settings, for the buses' own. */
  private readonly limit: { limiter: CompressorSettings, ceilingDb: number }
  private readonly programMeter: AnalyserNode
  /** The program's loudness, measured on the render thread. */
  readonly loudness: ProgramLoudness
  private readonly strips = new Map<string, Strip>()
  private readonly buses = new Map<string, GainNode>()
  /** Each bus's way out: the processor's loudness gain, a limiter and the ceiling; busOutput gives its end. */
  private readonly busOutputs = new Map<string, BusOutput>()
  private readonly processor: ProgramProcessorNode
  private readonly compressors: VoiceCompressors
  private readonly meterWindow: number
  private readonly rampTime: number
  private readonly scratch: Float32Array<ArrayBuffer>
  private program = new Set<string>()
  /** Who each bus owner hears, from the last plan. */
  private heard = new Map<string, Set<string>>()
  /** The talkback sources on each bus, from the last plan. */
  private talkback = new Map<string, Set<string>>()
  private talkbackDuck: number
  private gainsDb: Readonly<Record<string, number>> = {}
  private disposed = false

  constructor (readonly context: BaseAudioContext, init: StudioMixerInit = {}) {
    this.meterWindow = init.meterWindow ?? METER_WINDOW
    this.compressors = new VoiceCompressors(context, { ...VOICE_COMPRESSOR, ...init.voice })
    this.rampTime = init.rampTime ?? GAIN_RAMP_S
    this.scratch = new Float32Array(this.meterWindow)
    this.programSum = new GainNode(context)
    const voiceSum = new GainNode(context)
    const voiceDuck = new GainNode(context)
    voiceSum.connect(voiceDuck).connect(this.programSum)
    this.voiceKey = voiceSum
    this.voiceDuck = new RampedGain(voiceDuck.gain, 1)
    this.talkbackDuck = dbToGain('talkback duck', init.talkbackDuckDb ?? TALKBACK_DUCK_DB)
    this.limit = { limiter: { ...PROGRAM_LIMITER, ...init.limiter }, ceilingDb: init.ceilingDb ?? CEILING_KNEE_DB }
    const chain = createCompressor(context, this.limit.limiter)
    this.limiter = chain.compressor
    this.limiterTrim = chain.trim
    this.programOutput = createCeiling(context, this.limit.ceilingDb)
    this.processor = new ProgramProcessorNode(context, { ...PROCESSING_DEFAULTS, ...init.processing })
    this.programSum.connect(this.limiter)
    this.limiterTrim.connect(this.processor.node)
    this.processor.node.connect(this.programOutput)
    // The returns follow the program's loudness gain; it moves at most 1 dB between two posts, ramped over the next 100 ms.
    this.processor.onGain = (db) => {
      const now = this.context.currentTime
      for (const output of this.busOutputs.values()) {
        // One pending event at a time: a timeline that only grew would cost more every time it is read.
        output.gain.gain.cancelScheduledValues(now)
        output.gain.gain.setTargetAtTime(10 ** (db / 20), now, 0.03)
      }
    }
    this.programMeter = createMeter(context, this.programOutput, this.meterWindow)
    this.loudness = new ProgramLoudness(context, this.programOutput)
  }

  /**
   * Feeds participant `id` from `source` and routes it by the last plan
   * (silent until a plan names it). Called again for the same id, it swaps
   * the source (a renegotiated track) and keeps routing, fader and bus.
   *
   * A `cart` (played audio files, MixParticipant kind 'cart') is neither
   * compressed nor mixed down to mono, owns no bus, and is not a voice: the
   * voice duck and the voice key leave it out.
   */
  addParticipant (id: string, source: AudioNode, kind: 'voice' | 'cart' = 'voice'): void {
    this.assertLive()
    const strip = this.strips.get(id)
    if (strip !== undefined) {
      strip.replaceSource(source)
      return
    }
    const fader = dbToGain(id, this.gainsDb[id] ?? 0)
    const cart = kind === 'cart'
    const channel = cart ? bypassChannel(this.context) : this.compressors.acquire()
    this.strips.set(id, new Strip(this.context, source, cart ? this.programSum : this.voiceKey, channel, this.meterWindow, fader))
    if (!cart) this.ensureBus(id)
    this.reconcile()
  }

  /** Whether participant `id` has a source in the mixer. */
  has (id: string): boolean {
    return this.strips.has(id)
  }

  /**
   * Disconnects everything participant `id` owns: its source from the strip,
   * the strip, its sends, and its bus with whatever was connected to it.
   * Unknown ids are ignored.
   */
  removeParticipant (id: string): void {
    this.assertLive()
    const strip = this.strips.get(id)
    this.strips.delete(id)
    strip?.dispose()
    const bus = this.buses.get(id)
    if (bus === undefined) return
    this.buses.delete(id)
    for (const other of this.strips.values()) other.dropSend(id)
    bus.disconnect()
    for (const node of this.busOutputs.get(id)?.nodes ?? []) node.disconnect()
    this.busOutputs.delete(id)
  }

  /**
   * Routes by `plan` and sets the faders (dB; missing means 0 dB, -Infinity
   * silences). Diff-based and idempotent: only gains whose target changed
   * move, each by a short linear ramp. Ids not in the mixer yet are kept for
   * when they join. A plan that routes anyone to their own bus is not obeyed
   * for that pair.
   * @throws InvalidGainError for a NaN or +Infinity gain, before changing anything
   */
  apply (plan: MixPlan, gainsDb: Readonly<Record<string, number>> = {}): void {
    this.assertLive()
    for (const [id, db] of Object.entries(gainsDb)) dbToGain(id, db)
    this.gainsDb = { ...gainsDb }
    this.program = new Set(plan.program)
    this.talkback = new Map(Object.entries(plan.talkback).map(([owner, sources]) => [owner, new Set(sources)]))
    this.heard = new Map()
    for (const [owner, sources] of [...Object.entries(plan.buses), ...Object.entries(plan.monitors)]) {
      this.heard.set(owner, new Set([...(this.heard.get(owner) ?? []), ...sources]))
    }
    this.reconcile()
  }

  /**
   * Participant `id`'s bus, created on first use: a caller's mix-minus return
   * (connect it to a MediaStreamAudioDestinationNode) or a host's monitor
   * (connect it to `context.destination`). The same node until the
   * participant is removed.
   */
  busOutput (id: string): AudioNode {
    this.assertLive()
    const existing = this.busOutputs.get(id)
    if (existing !== undefined) return existing.end
    this.ensureBus(id)
    this.reconcile()
    return (this.busOutputs.get(id) as BusOutput).end
  }

  /** Reads every meter: peak and RMS in dBFS over the last meter window. */
  levels (): MixerLevels {
    this.assertLive()
    const participants: Record<string, Level> = {}
    for (const [id, strip] of this.strips) participants[id] = readLevel(strip.meter, this.scratch)
    return { program: readLevel(this.programMeter, this.scratch), participants, loudness: this.loudness.reading }
  }

  /** The program processor's settings now. */
  get processing (): ProcessingSettings {
    return this.processor.settings
  }

  /** Changes the program processor's target, ceiling or switch. */
  setProcessing (change: Partial<ProcessingSettings>): void {
    this.assertLive()
    this.processor.set(change)
  }

  /**
   * Takes the voices in the program down to `db` (a cart playing over
   * them), or back up with 0, over `seconds`.
   * @throws InvalidGainError for a NaN or +Infinity level
   */
  duckVoices (db: number, seconds = this.rampTime): void {
    this.assertLive()
    this.voiceDuck.rampTo(dbToGain('voices', db), this.context.currentTime, seconds)
  }

  /** How far (dB, at most 0) a bus with talkback on it takes everything else down. */
  get talkbackDuckDb (): number {
    return 20 * Math.log10(this.talkbackDuck)
  }

  /**
   * Sets how far a bus with talkback on it takes everything else down.
   * @throws InvalidGainError for a NaN or positive level
   */
  setTalkbackDuck (db: number): void {
    this.assertLive()
    if (db > 0) throw new InvalidGainError('talkback duck', db)
    this.talkbackDuck = dbToGain('talkback duck', db)
    this.reconcile()
  }

  /** Starts the program's integrated loudness, range and peaks afresh. */
  resetLoudness (): void {
    this.loudness.reset()
  }

  /** Disconnects the whole graph; the context stays open (it belongs to the caller). Idempotent. */
  dispose (): void {
    if (this.disposed) return
    this.disposed = true
    for (const strip of this.strips.values()) strip.dispose()
    for (const bus of [...this.buses.values(), ...[...this.busOutputs.values()].flatMap((output) => output.nodes)]) bus.disconnect()
    this.busOutputs.clear()
    this.strips.clear()
    this.buses.clear()
    this.compressors.dispose()
    this.loudness.dispose()
    this.processor.onGain = undefined
    for (const node of [this.voiceKey, this.programSum, this.limiter, this.limiterTrim, this.processor.node, this.programOutput, this.programMeter]) node.disconnect()
  }

  private ensureBus (id: string): GainNode {
    let bus = this.buses.get(id)
    if (bus === undefined) {
      bus = new GainNode(this.context)
      this.buses.set(id, bus)
      // The bus follows the program's loudness gain (see the constructor), which can lift it 20 dB; a sum of
      // voices can pass full scale too. Its limiter and ceiling are the program's, so a return never clips.
      const gain = new GainNode(this.context, { gain: 10 ** (this.processor.gainDb / 20) })
      const { compressor, trim } = createCompressor(this.context, this.limit.limiter)
      const end = createCeiling(this.context, this.limit.ceilingDb)
      bus.connect(gain).connect(compressor)
      trim.connect(end)
      this.busOutputs.set(id, { gain, end, nodes: [gain, compressor, trim, end] })
    }
    return bus
  }

  /** Moves every gain the engine controls toward what the last plan and faders ask for. */
  private reconcile (): void {
    const now = this.context.currentTime
    const ramp = (gain: RampedGain, target: number): void => { gain.rampTo(target, now, this.rampTime) }
    for (const [id, strip] of this.strips) {
      ramp(strip.fader, dbToGain(id, this.gainsDb[id] ?? 0))
      ramp(strip.programSend, this.program.has(id) ? 1 : 0)
    }
    for (const [owner, bus] of this.buses) {
      const heard = this.heard.get(owner)
      const talkback = this.talkback.get(owner)
      // Under talkback, everything else on the bus gives way.
      const level = (id: string): number => talkback === undefined || talkback.has(id) ? 1 : this.talkbackDuck
      for (const [id, strip] of this.strips) {
        // Never route anyone to their own bus, whatever the plan says.
        if (id === owner) continue
        if (heard?.has(id) === true) ramp(strip.sendTo(owner, bus), level(id))
        else {
          const send = strip.existingSend(owner)
          if (send !== undefined) ramp(send, 0)
        }
      }
    }
  }

  private assertLive (): void {
    if (this.disposed) throw new MixerDisposedError()
  }
}
