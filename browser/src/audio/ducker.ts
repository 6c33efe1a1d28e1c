/**
 * A sidechain ducker: a cart "under the voices" (a bed) goes down while the
 * key (every voice in the program) carries speech, and comes back when it
 * stops.
 *
 * - **Key level**: the mean square of the louder key channel, followed with
 *   the attack time constant (10 ms): an RMS level that rises within a
 *   syllable and ignores single-sample spikes.
 * - **Hold**: once the level was above the threshold (-45 dBFS), the cart
 *   stays down for the hold time (200 ms), bridging the gaps between words.
 * - **Gain**: moves toward the depth (-12 dB) with the attack time constant
 *   while keyed, and back toward unity with the release time constant
 *   (400 ms) afterwards, one step per sample: no clicks, no pumping.
 *
 * Like the program processor, it refers to nothing outside itself and
 * allocates nothing after construction: its source text is the
 * AudioWorklet's (ducker-node.ts).
 */
import type { DuckerSettings } from './constants.ts'

export interface DuckerInit extends DuckerSettings {
  sampleRate: number
}

export class Ducker {
  /** The gain applied to the cart now (linear, 1 when not ducked). */
  gain = 1
  /** The key's mean square now. */
  private level = 0
  private holdLeft = 0
  private depth: number
  private readonly threshold: number
  private readonly attack: number
  private readonly release: number
  private readonly holdSamples: number

  constructor (init: DuckerInit) {
    this.threshold = 10 ** (init.thresholdDb / 10)
    this.depth = 10 ** (init.depthDb / 20)
    this.attack = 1 - Math.exp(-1 / (init.attack * init.sampleRate))
    this.release = 1 - Math.exp(-1 / (init.release * init.sampleRate))
    this.holdSamples = Math.round(init.hold * init.sampleRate)
  }

  /** How far the cart goes down while the key speaks, dB (at most 0). */
  set depthDb (db: number) {
    this.depth = 10 ** (Math.min(0, db) / 20)
  }

  /** Whether the key is above the threshold, or was within the hold time. */
  get keyed (): boolean {
    return this.holdLeft > 0
  }

  /** Ducks `frames` samples of the stereo cart by the key into `outL`/`outR` (they may be the cart's arrays). */
  process (cartL: ArrayLike<number>, cartR: ArrayLike<number>, keyL: ArrayLike<number>, keyR: ArrayLike<number>, outL: Float32Array, outR: Float32Array, frames: number): void {
    for (let i = 0; i < frames; i++) {
      const l = keyL[i] as number
      const r = keyR[i] as number
      this.level += (Math.max(l * l, r * r) - this.level) * this.attack
      if (this.level > this.threshold) this.holdLeft = this.holdSamples
      else if (this.holdLeft > 0) this.holdLeft--
      const target = this.holdLeft > 0 ? this.depth : 1
      this.gain += (target - this.gain) * (target < this.gain ? this.attack : this.release)
      outL[i] = (cartL[i] as number) * this.gain
      outR[i] = (cartR[i] as number) * this.gain
    }
  }
}
