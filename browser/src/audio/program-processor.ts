/**
 * The program processor: brings the show to a loudness target (EBU R128's
 * −23, the talk and streaming norm −16, or −14 LUFS) and holds its true peak
 * under a ceiling (−1 dBTP by default).
 *
 * - **Loudness**: K-weighted (BS.1770-4) 100 ms blocks. A 400 ms block
 *   counts only when it is speech or music: louder than −55 LUFS and within
 *   20 LU of the running estimate, so pauses and breaths neither raise the
 *   gain nor drag the estimate down (no pumping on speech). The estimate is
 *   the mean of the first 30 such blocks, then follows them with a 3 s time
 *   constant; the gain moves toward `target − estimate` at most 3 dB/s up
 *   and 10 dB/s down, within +20/−30 dB.
 * - **True peak**: a look-ahead limiter. Each sample's 4× oversampled peak
 *   (the same interpolator as the meter) asks for a gain; the program is
 *   delayed 64 samples (1.3 ms) while the gain falls to the smallest asked
 *   for within them, then it recovers with a 50 ms time constant. A last
 *   clip at the ceiling catches what the interpolator misses between taps.
 *
 * Like LoudnessMeter, it allocates nothing after construction and refers to
 * nothing outside itself: its source text is the AudioWorklet's
 * (program-processor-node.ts). Its filters come in with its init (bs1770.ts).
 */
import { bs1770Filters, type Bs1770Filters } from './bs1770.ts'

export interface ProgramProcessorInit {
  sampleRate: number
  /** LUFS. @default -16 */
  targetLufs?: number
  /** dBTP. @default -1 */
  ceilingDbtp?: number
  /** Most the loudness gain may raise the program, dB. @default 20 */
  maxGainDb?: number
  /** K-weighting and the true-peak interpolator for `sampleRate` (bs1770Filters). */
  filters: Bs1770Filters
}

export class ProgramProcessor {
  targetLufs: number
  ceilingDbtp: number
  /** On: both stages work; off: the program passes as it is, delayed alike (so turning it on or off does not jump), at the cost of a copy. */
  enabled = true
  private readonly maxGainDb: number
  private readonly k: Float64Array
  private readonly state = new Float64Array(8)
  private readonly subFrames: number
  private subDone = 0
  private subSum = 0
  private readonly ring = new Float64Array(4)
  private ringAt = 0
  private subBlocks = 0
  private estimate = 0
  private activeBlocks = 0
  /** The loudness gain now, dB, and where it is heading. */
  gainDb = 0
  private desiredDb = 0
  /** `linear` is 10^(linearOf / 20): the gain as a factor, kept from the last sample it changed. */
  private linearOf = 0
  private linear = 1
  private readonly upPerSample: number
  private readonly downPerSample: number
  // True-peak limiter.
  private readonly phases: Float64Array
  private readonly history = new Float64Array(32)
  private historyAt = 0
  private readonly delay = new Float64Array(128)
  private readonly asked = new Float64Array(64)
  private delayAt = 0
  /** The limiter's gain now (linear, at most 1). */
  limiterGain = 1
  private readonly attack: number
  private readonly release: number

  constructor (init: ProgramProcessorInit) {
    this.targetLufs = init.targetLufs ?? -16
    this.ceilingDbtp = init.ceilingDbtp ?? -1
    this.maxGainDb = init.maxGainDb ?? 20
    this.k = init.filters.kWeighting
    this.subFrames = Math.round(init.sampleRate / 10)
    this.upPerSample = 3 / init.sampleRate
    this.downPerSample = 10 / init.sampleRate
    this.phases = init.filters.phases
    this.attack = 1 - Math.exp(-1 / 12)
    this.release = 1 - Math.exp(-1 / (0.05 * init.sampleRate))
    this.asked.fill(1)
  }

  /** Processes `frames` samples of a stereo program into `outL`/`outR` (they may be the inputs). */
  process (inL: ArrayLike<number>, inR: ArrayLike<number>, outL: Float32Array, outR: Float32Array, frames: number): void {
    const k = this.k
    const s = this.state
    const ceiling = 10 ** (this.ceilingDbtp / 20)
    if (!this.enabled) {
      this.bypass(inL, inR, outL, outR, frames)
      return
    }
    for (let i = 0; i < frames; i++) {
      const xl = inL[i] as number
      const xr = inR[i] as number
      // Measure the input: K-weighted energy of both channels.
      let y1 = k[0]! * xl + s[0]!
      s[0] = k[1]! * xl - k[3]! * y1 + s[1]!
      s[1] = k[2]! * xl - k[4]! * y1
      let y2 = k[5]! * y1 + s[2]!
      s[2] = k[6]! * y1 - k[8]! * y2 + s[3]!
      s[3] = k[7]! * y1 - k[9]! * y2
      let sum = y2 * y2
      y1 = k[0]! * xr + s[4]!
      s[4] = k[1]! * xr - k[3]! * y1 + s[5]!
      s[5] = k[2]! * xr - k[4]! * y1
      y2 = k[5]! * y1 + s[6]!
      s[6] = k[6]! * y1 - k[8]! * y2 + s[7]!
      s[7] = k[7]! * y1 - k[9]! * y2
      sum += y2 * y2
      this.subSum += sum
      if (++this.subDone === this.subFrames) this.endBlock()

      // The loudness gain, slewed toward what the estimate asks for.
      const want = this.desiredDb
      if (this.gainDb < want) this.gainDb = Math.min(want, this.gainDb + this.upPerSample)
      else if (this.gainDb > want) this.gainDb = Math.max(want, this.gainDb - this.downPerSample)
      // The gain in dB changes only while it slews: the power is worked out again only then.
      if (this.gainDb !== this.linearOf) {
        this.linearOf = this.gainDb
        this.linear = 10 ** (this.gainDb / 20)
      }
      const g = this.linear
      const gl = xl * g
      const gr = xr * g

      // The limiter: this sample's true peak asks for a gain; the output is 64 samples behind.
      const slot = this.historyAt
      this.history[slot] = gl
      this.history[16 + slot] = gr
      let peak = Math.max(Math.abs(gl), Math.abs(gr))
      for (let p = 0; p < 4; p++) {
        let a = 0
        let b = 0
        for (let t = 0; t < 16; t++) {
          const c = this.phases[p * 16 + t]!
          const at = (slot - t + 16) & 15
          a += c * this.history[at]!
          b += c * this.history[16 + at]!
        }
        const m = Math.max(Math.abs(a), Math.abs(b))
        if (m > peak) peak = m
      }
      this.historyAt = (slot + 1) & 15
      const d = this.delayAt
      this.asked[d] = peak > ceiling ? ceiling / peak : 1
      let target = 1
      for (let j = 0; j < 64; j++) if (this.asked[j]! < target) target = this.asked[j]!
      this.limiterGain += (target - this.limiterGain) * (target < this.limiterGain ? this.attack : this.release)
      const ol = this.delay[d]!
      const or = this.delay[64 + d]!
      this.delay[d] = gl
      this.delay[64 + d] = gr
      this.delayAt = (d + 1) & 63
      outL[i] = Math.max(-ceiling, Math.min(ceiling, ol * this.limiterGain))
      outR[i] = Math.max(-ceiling, Math.min(ceiling, or * this.limiterGain))
    }
  }

  /** Off: the program through the delay line only, so that switching does not jump in time; the next start is from unity. */
  private bypass (inL: ArrayLike<number>, inR: ArrayLike<number>, outL: Float32Array, outR: Float32Array, frames: number): void {
    this.gainDb = 0
    this.limiterGain = 1
    for (let i = 0; i < frames; i++) {
      const d = this.delayAt
      const ol = this.delay[d]!
      const or = this.delay[64 + d]!
      this.delay[d] = inL[i] as number
      this.delay[64 + d] = inR[i] as number
      this.delayAt = (d + 1) & 63
      outL[i] = ol
      outR[i] = or
    }
  }

  /** A 100 ms block is done: its 400 ms window updates the estimate when it is speech or music. */
  private endBlock (): void {
    this.ring[this.ringAt] = this.subSum / this.subFrames
    this.ringAt = (this.ringAt + 1) & 3
    this.subSum = 0
    this.subDone = 0
    if (++this.subBlocks < 4) return
    const z = (this.ring[0]! + this.ring[1]! + this.ring[2]! + this.ring[3]!) / 4
    const lufs = z > 0 ? -0.691 + 10 * Math.log10(z) : -Infinity
    const estimateLufs = this.estimate > 0 ? -0.691 + 10 * Math.log10(this.estimate) : -Infinity
    if (lufs < -55 || (this.activeBlocks > 0 && lufs < estimateLufs - 20)) return
    this.activeBlocks++
    const weight = Math.max(1 / this.activeBlocks, 1 / 30)
    this.estimate += (z - this.estimate) * weight
    const now = -0.691 + 10 * Math.log10(this.estimate)
    this.desiredDb = Math.max(-30, Math.min(this.maxGainDb, this.targetLufs - now))
  }
}

/** A processor with the filters for its sample rate. */
export function createProgramProcessor (init: Omit<ProgramProcessorInit, 'filters'>): ProgramProcessor {
  return new ProgramProcessor({ ...init, filters: bs1770Filters(init.sampleRate) })
}
