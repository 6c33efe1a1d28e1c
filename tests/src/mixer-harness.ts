/**
 * Page side of the mixer graph tests: bundled by esbuild (see mixer-page.ts)
 * and run in Chromium. Builds a StudioMixer in an OfflineAudioContext with
 * one oscillator per voice, applies a script of mix changes (the first at
 * time 0, later ones at suspend points), renders the program and every bus
 * into the channels of one multi-channel buffer, and measures each voice's
 * tone in each analysis window.
 */
import { planMix, type MixParticipant, type Talkback } from '../../protocol/src/mixminus.ts'
import { createLoudnessMeter, createStudioMixer, type LoudnessReading, type MixerLevels, type StudioMixerInit } from '../../browser/src/audio/index.ts'
import { DuckerNode, loadDucker } from '../../browser/src/audio/ducker-node.ts'
import { isOnBin, peakOf, toneAmplitude } from './goertzel.ts'

export const SAMPLE_RATE = 48_000
/** Suspend points must sit on a render quantum. */
export const RENDER_QUANTUM = 128

export interface Voice {
  id: string
  /** Hz; put it on an exact bin of every analysis window. */
  frequency: number
  /** Peak amplitude of the voice's sine, full scale = 1. */
  amplitude: number
}

export interface MixStep {
  /** Seconds; 0 runs before rendering, later times must be multiples of RENDER_QUANTUM / SAMPLE_RATE. */
  at: number
  /** Voices to add (their oscillator becomes the participant's source). */
  add?: string[]
  /** Voices to add as carts (MixParticipant kind 'cart': no compressor, no bus). */
  carts?: string[]
  /** Voices to add as carts under the voices: through a ducker keyed by the program's voices (a bed). */
  beds?: string[]
  /** Voices to remove. */
  remove?: string[]
  /** `[participant, voice]`: feed the participant from another voice's oscillator. */
  replace?: Array<[string, string]>
  /** When given, the room to plan (planMix) and apply with `gainsDb`. */
  participants?: MixParticipant[]
  privateTalk?: string[]
  talkback?: Talkback[]
  gainsDb?: Record<string, number>
  /** When given, the voices in the program go to this level (dB; 0 is back up). */
  duckVoicesDb?: number
}

export interface Scenario {
  voices: Voice[]
  steps: MixStep[]
  /** Seconds to render. */
  duration: number
  /** `[from, to)` in seconds, measured after rendering. */
  windows: Array<[number, number]>
  /** The program processor is off unless a scenario turns it on: the graph's levels are then exact. */
  mixer?: StudioMixerInit
  /** Measure the program's loudness (BS.1770) from this second to the end. */
  loudnessFrom?: number
}

export interface WindowMeasure {
  /** `[channel][voice]`: each voice's tone amplitude in each rendered channel; NaN where the window holds no whole number of its cycles. */
  tones: number[][]
  /** Largest absolute sample per channel. */
  peak: number[]
}

export interface ScenarioResult {
  /** Channel names: `program`, then each voice's bus by voice id. */
  channels: string[]
  windows: WindowMeasure[]
  /** The mixer's meters at each step, read before the step is applied. */
  levels: MixerLevels[]
  /** The program's loudness from `loudnessFrom` on (its one rendered channel counted as both of a stereo pair). */
  loudness?: LoudnessReading
}

export async function renderScenario (scenario: Scenario): Promise<ScenarioResult> {
  const { voices } = scenario
  const channels = ['program', ...voices.map((v) => v.id)]
  const length = Math.round(scenario.duration * SAMPLE_RATE)
  const context = new OfflineAudioContext({ numberOfChannels: channels.length, length, sampleRate: SAMPLE_RATE })
  const merger = new ChannelMergerNode(context, { numberOfInputs: channels.length })
  merger.connect(context.destination)
  const mixer = await createStudioMixer(context, { ...scenario.mixer, processing: { enabled: false, ...scenario.mixer?.processing } })
  await loadDucker(context)
  mixer.programOutput.connect(merger, 0, 0)
  const sources = new Map(voices.map((v) => {
    const oscillator = new OscillatorNode(context, { frequency: v.frequency })
    oscillator.start(0)
    return [v.id, oscillator.connect(new GainNode(context, { gain: v.amplitude }))]
  }))
  const sourceOf = (id: string): AudioNode => {
    const source = sources.get(id)
    if (source === undefined) throw new Error(`no voice ${id}`)
    return source
  }
  const connectBus = (id: string): void => { mixer.busOutput(id).connect(merger, 0, channels.indexOf(id)) }
  for (const v of voices) connectBus(v.id)

  const levels: MixerLevels[] = []
  const run = (step: MixStep): void => {
    levels.push(mixer.levels())
    for (const id of step.remove ?? []) mixer.removeParticipant(id)
    for (const id of step.add ?? []) {
      mixer.addParticipant(id, sourceOf(id))
      connectBus(id)
    }
    for (const id of step.carts ?? []) mixer.addParticipant(id, sourceOf(id), 'cart')
    for (const id of step.beds ?? []) {
      const ducker = new DuckerNode(context)
      ducker.cart(sourceOf(id))
      ducker.key(mixer.voiceKey)
      mixer.addParticipant(id, ducker.node, 'cart')
    }
    for (const [id, voice] of step.replace ?? []) mixer.addParticipant(id, sourceOf(voice))
    if (step.participants !== undefined) {
      mixer.apply(planMix(step.participants, { privateTalk: step.privateTalk ?? [], talkback: step.talkback ?? [] }), step.gainsDb ?? {})
    }
    if (step.duckVoicesDb !== undefined) mixer.duckVoices(step.duckVoicesDb)
  }
  let failure: unknown
  for (const step of scenario.steps) {
    if (step.at === 0) {
      run(step)
      continue
    }
    if (Math.round(step.at * SAMPLE_RATE) % RENDER_QUANTUM !== 0) throw new Error(`step at ${step.at} s is not on a render quantum`)
    void context.suspend(step.at).then(async () => {
      // Keep rendering whatever happens, and report the failure afterwards.
      try {
        run(step)
      } catch (err) {
        failure ??= err
      }
      await context.resume()
    })
  }
  const buffer = await context.startRendering()
  mixer.dispose()
  if (failure !== undefined) throw failure

  const data = channels.map((_, c) => buffer.getChannelData(c))
  const windows = scenario.windows.map(([fromS, toS]): WindowMeasure => {
    const from = Math.round(fromS * SAMPLE_RATE)
    const to = Math.round(toS * SAMPLE_RATE)
    return {
      tones: data.map((samples) => voices.map((v) => isOnBin(to - from, SAMPLE_RATE, v.frequency)
        ? toneAmplitude(samples, SAMPLE_RATE, v.frequency, from, to)
        : Number.NaN)),
      peak: data.map((samples) => peakOf(samples, from, to))
    }
  })
  let loudness: LoudnessReading | undefined
  if (scenario.loudnessFrom !== undefined) {
    const program = data[0]!.subarray(Math.round(scenario.loudnessFrom * SAMPLE_RATE))
    const meter = createLoudnessMeter({ sampleRate: SAMPLE_RATE, channels: 2 })
    meter.push([program, program], program.length)
    loudness = meter.read()
  }
  return { channels, windows, levels, loudness }
}

/** Calls the mixer's API wrongly and returns the name of what each call threw. */
export async function errorNames (): Promise<string[]> {
  const context = new OfflineAudioContext({ numberOfChannels: 1, length: RENDER_QUANTUM, sampleRate: SAMPLE_RATE })
  const mixer = await createStudioMixer(context)
  const names: string[] = []
  const attempt = (fn: () => void): void => {
    try {
      fn()
      names.push('none')
    } catch (err) {
      names.push((err as Error).name)
    }
  }
  const plan = planMix([{ id: 'host', kind: 'host', onAir: true, muted: false }])
  attempt(() => { mixer.apply(plan, { host: Number.NaN }) })
  attempt(() => { mixer.apply(plan, { host: Number.POSITIVE_INFINITY }) })
  attempt(() => { mixer.apply(plan, { host: Number.NEGATIVE_INFINITY }) })
  mixer.dispose()
  mixer.dispose()
  attempt(() => { mixer.busOutput('host') })
  return names
}
