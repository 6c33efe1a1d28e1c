/**
 * The filters of ITU-R BS.1770-4 that the loudness meter and the program
 * processor share: K-weighting and the 4× true-peak interpolator. They are
 * worked out here, once, and handed to each class (and through
 * processorOptions to each worklet), whose source must stand alone.
 */

/** What LoudnessMeter and ProgramProcessor take. */
export interface Bs1770Filters {
  /** K-weighting: [b0, b1, b2, a1, a2] of the high shelf, then of the high-pass. */
  kWeighting: Float64Array
  /** True peak: 4 phases × 16 taps, phase by phase. */
  phases: Float64Array
}

export function bs1770Filters (sampleRate: number): Bs1770Filters {
  return { kWeighting: kWeighting(sampleRate), phases: truePeakPhases() }
}

/**
 * The K-weighting filter for `sampleRate`, from the analog prototypes' constants
 * that give BS.1770-4's coefficients at 48 kHz.
 */
export function kWeighting (sampleRate: number): Float64Array {
  let K = Math.tan(Math.PI * 1681.974450955533 / sampleRate)
  let Q = 0.7071752369554196
  const Vh = 10 ** (3.999843853973347 / 20)
  const Vb = Vh ** 0.4996667741545416
  let a0 = 1 + K / Q + K * K
  const shelf = [(Vh + Vb * K / Q + K * K) / a0, 2 * (K * K - Vh) / a0, (Vh - Vb * K / Q + K * K) / a0, 2 * (K * K - 1) / a0, (1 - K / Q + K * K) / a0]
  K = Math.tan(Math.PI * 38.13547087602444 / sampleRate)
  Q = 0.5003270373238773
  a0 = 1 + K / Q + K * K
  return Float64Array.from([...shelf, 1, -2, 1, 2 * (K * K - 1) / a0, (1 - K / Q + K * K) / a0])
}

/** 4 phases of 16 taps: a Kaiser-windowed sinc (β 8) cut at the input's Nyquist, each phase summing to 1. */
export function truePeakPhases (): Float64Array {
  const L = 4
  const T = 16
  const N = L * T
  const bessel = (x: number): number => {
    let sum = 1
    let term = 1
    for (let k = 1; k < 40; k++) {
      term *= (x / (2 * k)) ** 2
      sum += term
    }
    return sum
  }
  const h = new Float64Array(N)
  for (let n = 0; n < N; n++) {
    const t = (n - (N - 1) / 2) / L
    const r = 2 * n / (N - 1) - 1
    h[n] = (t === 0 ? 1 : Math.sin(Math.PI * t) / (Math.PI * t)) * bessel(8 * Math.sqrt(1 - r * r)) / bessel(8)
  }
  const phases = new Float64Array(N)
  for (let p = 0; p < L; p++) {
    let sum = 0
    for (let k = 0; k < T; k++) sum += h[p + L * k]!
    for (let k = 0; k < T; k++) phases[p * T + k] = h[p + L * k]! / sum
  }
  return phases
}
