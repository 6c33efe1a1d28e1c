/**
 * @packageDocumentation
 *
 * The studio's Web Audio mixing engine. Every participant gets a strip
 * (fader, gentle voice compression, meter); the program is their sum through
 * a limiter and a safety ceiling; every participant also owns a bus that is the direct sum of the
 * sources a `MixPlan` says it hears: a caller's mix-minus return or a host's
 * monitor. Buses never subtract, so nobody hears themselves however
 * nonlinear the program chain is. Routing changes are short gain ramps.
 *
 * Runs on any `BaseAudioContext`: an `AudioContext` at 48 kHz in the studio,
 * an `OfflineAudioContext` in tests. Plain TypeScript, no Vue, no network.
 *
 * @example
 * ```ts
 * import { planMix } from '@openstudio/protocol'
 * import { createStudioMixer } from './audio/index.ts'
 *
 * const context = new AudioContext({ sampleRate: 48_000 })
 * const mixer = await createStudioMixer(context)
 * mixer.addParticipant(hostId, context.createMediaStreamSource(microphone))
 * mixer.busOutput(hostId).connect(context.destination)   // the host's headphones
 * mixer.busOutput(callerId).connect(returnDestination)    // the caller's mix-minus
 * mixer.addParticipant(callerId, context.createMediaStreamSource(callerStream))
 * mixer.programOutput.connect(encoderInput)
 * mixer.apply(planMix(participants), { [callerId]: -3 })
 * const { program } = mixer.levels()                      // { peak, rms } in dBFS
 * ```
 */
import { StudioMixer } from './studio-mixer.ts'
import type { StudioMixerInit } from './types.ts'
import { loadVoiceCompressors } from './voice-compressor.ts'
import { loadLoudnessMeter } from './loudness-node.ts'
import { loadProgramProcessor } from './program-processor-node.ts'

export { StudioMixer }
export { CEILING_KNEE_DB, GAIN_RAMP_S, LEVEL_FLOOR_DB, METER_WINDOW, PROGRAM_LIMITER, TALKBACK_DUCK_DB, VOICE_COMPRESSOR, type CompressorSettings } from './constants.ts'
export { InvalidGainError, MixerDisposedError } from './errors.ts'
export { readPeak, type Level } from './meter.ts'
export { RenderWatch, watchRender, type RenderClock, type RenderHealth, type RenderWatchInit } from './render-watch.ts'
export type { MixerLevels, StudioMixerInit } from './types.ts'
export { createLoudnessMeter, LoudnessMeter, type LoudnessMeterInit, type LoudnessReading } from './loudness.ts'
export { LOUDNESS_TARGETS, PROCESSING_DEFAULTS, type ProcessingSettings } from './program-processor-node.ts'
export { DUCKER, type DuckerSettings } from './constants.ts'
export { Ducker, type DuckerInit } from './ducker.ts'
export { DuckerNode, loadDucker } from './ducker-node.ts'
export { dbToGain } from './gain.ts'

/**
 * Builds a mixer with its program chain (no participants yet) in `context`,
 * once the voice compressor's and the loudness meter's worklets are loaded
 * there (a secure context: https or localhost).
 */
export async function createStudioMixer (context: BaseAudioContext, init: StudioMixerInit = {}): Promise<StudioMixer> {
  await Promise.all([loadVoiceCompressors(context), loadLoudnessMeter(context), loadProgramProcessor(context)])
  return new StudioMixer(context, init)
}
