/**
 * The mixing engine's numbers. Levels are in dB (dBFS for meters), times in
 * seconds. A 48 kHz context is assumed (Opus), but nothing here depends on it.
 */

/**
 * Settings of a compressor: the voice compressor on every strip (see
 * voice-compressor.ts) or the program limiter (a DynamicsCompressorNode,
 * whose AudioParams take them as they are).
 */
export interface CompressorSettings {
  /** dBFS above which the gain is reduced. */
  threshold: number
  /** dB above the threshold over which the curve bends into the full ratio (0 is a hard knee). */
  knee: number
  /** dB of input change per dB of output change, 1…20. */
  ratio: number
  /** Seconds: the limiter's time to reduce the gain by 10 dB; the voice compressor's time constant going down. */
  attack: number
  /** Seconds: the limiter's time to recover 10 dB of gain; the voice compressor's time constant coming back. */
  release: number
}

/**
 * Gentle voice compression on every participant's strip: 3:1 above
 * -24 dBFS with a soft knee. Below the threshold the strip is unity gain.
 */
export const VOICE_COMPRESSOR: Readonly<CompressorSettings> = {
  threshold: -24,
  knee: 10,
  ratio: 3,
  attack: 0.005,
  release: 0.15
}

/**
 * The program limiter: fast attack, the highest ratio the node allows, a
 * hard knee at -3 dBFS. With the node's 6 ms look-ahead it holds the program
 * under 0 dBFS for inputs up to about +50 dBFS.
 */
export const PROGRAM_LIMITER: Readonly<CompressorSettings> = {
  threshold: -3,
  knee: 0,
  ratio: 20,
  attack: 0.001,
  release: 0.1
}

/** Samples per gain step of the voice compressor (0.67 ms at 48 kHz): it reads each block's peak and interpolates the gain across it. */
export const VOICE_BLOCK = 32

/** Strips per voice compressor worklet: a full studio (15 callers and the host) fits in one. */
export const VOICE_BANK_CHANNELS = 16

/** Length of a mute, unmute, admit or fader change: a linear gain ramp, short enough to feel instant, long enough not to click. */
export const GAIN_RAMP_S = 0.005

/** Samples each meter reads (about 43 ms at 48 kHz): a power of two, as AnalyserNode.fftSize requires. */
export const METER_WINDOW = 2048

/** What a meter reports for digital silence, instead of -Infinity. */
export const LEVEL_FLOOR_DB = -100

/**
 * Knee of the program's safety ceiling (dBFS). Below it the ceiling is
 * transparent; above it, it bends every sample under 0 dBFS (at most about
 * -0.1 dBFS). Sits above what the limiter lets through in normal use.
 */
export const CEILING_KNEE_DB = -0.5

/** A render shortfall of this many ms between two readings of the context's clock is audio the machine skipped (see render-watch.ts). */
export const RENDER_SKIP_MS = 5

/** How long a skip counts in the studio's render health: "in the last minute". */
export const RENDER_WINDOW_MS = 60_000

/** How often the studio reads its context's clock for skips. */
export const RENDER_SAMPLE_MS = 1_000

/** How often the render thread posts its freshest stamp of the context's clock (render-clock.ts): each is the best of about 90 quanta. */
export const RENDER_STAMP_MS = 250

/** How far a caller's return (or the producer's monitor) takes the show down under talkback: IFB, the show under the producer's voice. */
export const TALKBACK_DUCK_DB = -15

/** Settings of the ducker (ducker.ts): a cart under the voices, taken down while they speak. */
export interface DuckerSettings {
  /** dBFS: the key's RMS (over the attack time) above which the cart goes down. A full-scale sine is -3 dBFS. */
  thresholdDb: number
  /** dB the cart goes down by while the key is above the threshold (at most 0). */
  depthDb: number
  /** Seconds: the time constant of the key's level and of the cart going down. */
  attack: number
  /** Seconds: the time constant of the cart coming back up. */
  release: number
  /** Seconds the cart stays down after the key last was above the threshold: it bridges the gaps between words. */
  hold: number
}

/**
 * A bed under the voices: 12 dB down within about 30 ms of anyone speaking
 * louder than -45 dBFS, and back up over about a second once they have been
 * quiet for 200 ms.
 */
export const DUCKER: Readonly<DuckerSettings> = {
  thresholdDb: -45,
  depthDb: -12,
  attack: 0.01,
  release: 0.4,
  hold: 0.2
}
