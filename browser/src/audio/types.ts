/**
 * The mixer's options and meter readings.
 */
import type { CompressorSettings } from './constants.ts'
import type { Level } from './meter.ts'
import type { LoudnessReading } from './loudness.ts'
import type { ProcessingSettings } from './program-processor-node.ts'

export interface StudioMixerInit {
  /**
   * Voice compressor on every participant's strip (see voice-compressor.ts).
   * Below its threshold the strip is unity gain.
   * @default VOICE_COMPRESSOR (3:1 above -24 dBFS, 10 dB knee)
   */
  voice?: Partial<CompressorSettings>
  /**
   * Program limiter, with its makeup gain cancelled.
   * @default PROGRAM_LIMITER (20:1 above -3 dBFS, hard knee, 1 ms attack)
   */
  limiter?: Partial<CompressorSettings>
  /**
   * Knee (dBFS) of the safety ceiling after the limiter: transparent below,
   * bends everything above under 0 dBFS.
   * @default CEILING_KNEE_DB (-0.5)
   */
  ceilingDb?: number
  /**
   * Seconds of the linear ramp for every mute, unmute, admit and fader change.
   * @default GAIN_RAMP_S (0.005)
   */
  rampTime?: number
  /**
   * Samples each meter reads: a power of two from 32 to 32768.
   * @default METER_WINDOW (2048)
   */
  meterWindow?: number
  /**
   * The program processor after the limiter: loudness target, true-peak
   * ceiling, on or off (see program-processor.ts).
   * @default PROCESSING_DEFAULTS (-16 LUFS, -1 dBTP, on)
   */
  processing?: Partial<ProcessingSettings>
  /**
   * dB (at most 0) by which a bus with talkback on it takes everything else
   * down while the talkback lasts.
   * @default TALKBACK_DUCK_DB (-15)
   */
  talkbackDuckDb?: number
}

/** Every meter at once. */
export interface MixerLevels {
  /** The program as it leaves the mixer (after limiter and ceiling). */
  program: Level
  /** Each participant with a source, after fader and compressor, keyed by id. */
  participants: Record<string, Level>
  /** The program's loudness (BS.1770-4, EBU R128) as it leaves the mixer; undefined until the first reading. */
  loudness?: LoudnessReading
}
