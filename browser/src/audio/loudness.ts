/**
 * Loudness to broadcast standard: ITU-R BS.1770-4 with EBU R128's meters
 * (EBU Tech 3341) and loudness range (EBU Tech 3342).
 *
 * - K-weighting: the two biquads of BS.1770-4, derived for any sample rate
 *   from their analog prototypes (at 48 kHz they are the Recommendation's
 *   coefficients).
 * - Mean square in 100 ms sub-blocks; momentary = the last 400 ms,
 *   short-term = the last 3 s, both updated every 100 ms.
 * - Integrated: 400 ms blocks every 100 ms (75 % overlap), gated at −70 LUFS
 *   absolute and −10 LU relative.
 * - Loudness range: short-term values every 100 ms, gated at −70 LUFS and
 *   −20 LU relative, from the 10th to the 95th percentile.
 * - True peak: 4× oversampling through a 64-tap Kaiser-windowed sinc
 *   interpolator in 4 phases, the largest magnitude of any phase.
 *
 * A three-hour show never grows it: gated blocks go into histograms of
 * 0.01 LU bins (their counts and energy sums), as libebur128 does. Nothing is
 * allocated after construction, so the same class runs in an AudioWorklet
 * (its source text is the worklet's; see loudness-node.ts): it must not
 * refer to anything outside itself. Its filters come in with its init
 * (bs1770.ts, shared with the program processor).
 */
import { bs1770Filters, type Bs1770Filters } from './bs1770.ts'

/** What a meter reads now. Loudness in LUFS, range in LU, peaks in dBTP / dBFS; −Infinity while silent. */
export interface LoudnessReading {
  momentary: number
  shortTerm: number
  integrated: number
  range: number
  truePeak: number
  samplePeak: number
}

export interface LoudnessMeterInit {
  sampleRate: number
  channels: number
  /** Per channel (BS.1770: L, R, C 1.0; Ls, Rs 1.41). @default 1 for every channel */
  weights?: number[]
  /** Measure the true peak (64 multiply-adds a sample a channel). @default true */
  truePeak?: boolean
  /** K-weighting and the true-peak interpolator for `sampleRate` (bs1770Filters). */
  filters: Bs1770Filters
}

export class LoudnessMeter {
  readonly sampleRate: number
  readonly channels: number
  private readonly weights: Float64Array
  /** K-weighting: [b0, b1, b2, a1, a2] of the shelf, then of the high-pass. */
  private readonly k: Float64Array
  /** Per channel: the two biquads' states (z1, z2 each). */
  private readonly state: Float64Array
  private readonly subBlockFrames: number
  private subBlockDone = 0
  /** Weighted sum of squares of the sub-block being filled, per channel. */
  private readonly subSums: Float64Array
  /** The last 30 sub-blocks' weighted mean squares (3 s), a ring. */
  private readonly ring = new Float64Array(30)
  private ringAt = 0
  private subBlocks = 0
  /** Gating histograms over LUFS: [-70, +10) in 0.01 LU bins; energy sums and counts. */
  private readonly blockEnergy = new Float64Array(8000)
  private readonly blockCount = new Float64Array(8000)
  private readonly shortEnergy = new Float64Array(8000)
  private readonly shortCount = new Float64Array(8000)
  /** Polyphase interpolator: 4 phases × 16 taps, and each channel's last 16 samples (a ring). */
  private readonly phases: Float64Array
  private readonly history: Float64Array
  private historyAt = 0
  private truePeakLinear = 0
  private samplePeakLinear = 0
  private readonly measurePeak: boolean

  constructor (init: LoudnessMeterInit) {
    this.sampleRate = init.sampleRate
    this.channels = init.channels
    this.weights = new Float64Array(init.channels).map((_, c) => init.weights?.[c] ?? 1)
    this.k = init.filters.kWeighting
    this.state = new Float64Array(init.channels * 4)
    this.subBlockFrames = Math.round(init.sampleRate / 10)
    this.subSums = new Float64Array(init.channels)
    this.phases = init.filters.phases
    this.measurePeak = init.truePeak ?? true
    this.history = new Float64Array(init.channels * 16)
  }

  /** Adds `frames` samples of each channel (planar: one array per channel). Allocates nothing. */
  push (input: ArrayLike<ArrayLike<number>>, frames: number): void {
    const k = this.k
    for (let i = 0; i < frames; i++) {
      const slot = this.historyAt
      for (let c = 0; c < this.channels; c++) {
        const x = (input[c]?.[i] ?? 0) as number
        // True peak: the newest sample into the channel's ring, then every phase's output.
        this.history[c * 16 + slot] = x
        const ax = Math.abs(x)
        if (ax > this.samplePeakLinear) this.samplePeakLinear = ax
        for (let p = 0; p < 4 && this.measurePeak; p++) {
          let y = 0
          for (let t = 0; t < 16; t++) y += (this.phases[p * 16 + t] as number) * (this.history[c * 16 + ((slot - t + 16) & 15)] as number)
          const ay = Math.abs(y)
          if (ay > this.truePeakLinear) this.truePeakLinear = ay
        }
        // K-weighting, transposed direct form II.
        const s = c * 4
        const y1 = k[0]! * x + this.state[s]!
        this.state[s] = k[1]! * x - k[3]! * y1 + this.state[s + 1]!
        this.state[s + 1] = k[2]! * x - k[4]! * y1
        const y2 = k[5]! * y1 + this.state[s + 2]!
        this.state[s + 2] = k[6]! * y1 - k[8]! * y2 + this.state[s + 3]!
        this.state[s + 3] = k[7]! * y1 - k[9]! * y2
        this.subSums[c] = this.subSums[c]! + y2 * y2
      }
      this.historyAt = (slot + 1) & 15
      if (++this.subBlockDone === this.subBlockFrames) this.endSubBlock()
    }
  }

  /** Writes the current reading into `out` (no allocation) and returns it. */
  read (out: LoudnessReading = { momentary: 0, shortTerm: 0, integrated: 0, range: 0, truePeak: 0, samplePeak: 0 }): LoudnessReading {
    out.momentary = this.lufs(this.recent(4) / 4)
    out.shortTerm = this.lufs(this.recent(30) / 30)
    out.integrated = this.integrated()
    out.range = this.range()
    out.truePeak = 20 * Math.log10(this.truePeakLinear)
    out.samplePeak = 20 * Math.log10(this.samplePeakLinear)
    return out
  }

  /** Starts over: a new measurement (the filters keep their state). */
  reset (): void {
    this.ring.fill(0)
    this.subBlocks = 0
    this.blockEnergy.fill(0)
    this.blockCount.fill(0)
    this.shortEnergy.fill(0)
    this.shortCount.fill(0)
    this.truePeakLinear = 0
    this.samplePeakLinear = 0
  }

  private endSubBlock (): void {
    let z = 0
    for (let c = 0; c < this.channels; c++) {
      z += this.weights[c]! * this.subSums[c]! / this.subBlockFrames
      this.subSums[c] = 0
    }
    this.subBlockDone = 0
    this.ring[this.ringAt] = z
    this.ringAt = (this.ringAt + 1) % 30
    this.subBlocks++
    if (this.subBlocks >= 4) this.gate(this.blockEnergy, this.blockCount, this.recent(4) / 4)
    if (this.subBlocks >= 30) this.gate(this.shortEnergy, this.shortCount, this.recent(30) / 30)
  }

  /** The sum of the last `n` sub-blocks' energies. */
  private recent (n: number): number {
    let sum = 0
    for (let i = 1; i <= n; i++) sum += this.ring[(this.ringAt - i + 30) % 30]!
    return sum
  }

  /** Counts a block into a histogram when it passes the absolute gate (−70 LUFS). */
  private gate (energy: Float64Array, count: Float64Array, z: number): void {
    const l = this.lufs(z)
    if (!(l >= -70)) return
    const bin = Math.min(7999, Math.floor((l + 70) * 100))
    energy[bin] = energy[bin]! + z
    count[bin] = count[bin]! + 1
  }

  /** The bin where blocks at least `gateLufs` loud begin. */
  private binAt (gateLufs: number): number {
    return Math.max(0, Math.min(8000, Math.ceil((gateLufs + 70) * 100)))
  }

  private integrated (): number {
    const gate = this.relativeGate(this.blockEnergy, this.blockCount, 10)
    if (gate === undefined) return -Infinity
    let energy = 0
    let count = 0
    for (let b = this.binAt(gate); b < 8000; b++) {
      energy += this.blockEnergy[b]!
      count += this.blockCount[b]!
    }
    return count === 0 ? -Infinity : this.lufs(energy / count)
  }

  private range (): number {
    const gate = this.relativeGate(this.shortEnergy, this.shortCount, 20)
    if (gate === undefined) return 0
    const from = this.binAt(gate)
    let total = 0
    for (let b = from; b < 8000; b++) total += this.shortCount[b]!
    if (total === 0) return 0
    let low: number | undefined
    let high: number | undefined
    let seen = 0
    for (let b = from; b < 8000; b++) {
      seen += this.shortCount[b]!
      if (low === undefined && seen > total * 0.1) low = b
      if (high === undefined && seen > total * 0.95) high = b
    }
    return ((high ?? 7999) - (low ?? from)) / 100
  }

  /** The relative gate, `lu` below the loudness of every block past the absolute gate; undefined when there is none. */
  private relativeGate (energy: Float64Array, count: Float64Array, lu: number): number | undefined {
    let e = 0
    let n = 0
    for (let b = 0; b < 8000; b++) {
      e += energy[b]!
      n += count[b]!
    }
    return n === 0 ? undefined : this.lufs(e / n) - lu
  }

  private lufs (z: number): number {
    return z > 0 ? -0.691 + 10 * Math.log10(z) : -Infinity
  }
}

/** A meter with the filters for its sample rate. */
export function createLoudnessMeter (init: Omit<LoudnessMeterInit, 'filters'>): LoudnessMeter {
  return new LoudnessMeter({ ...init, filters: bs1770Filters(init.sampleRate) })
}
