/**
 * Absolute tone levels by the Goertzel algorithm, for graph tests that feed
 * tones on exact DFT bins. `toneShare` (signal.ts) measures a share of the
 * whole signal through a Hann window; mixer tests need the tone's own
 * amplitude, and with exact bins a rectangular window leaks nothing: a tone
 * on another bin contributes zero.
 */

/** Thrown when the window does not hold a whole number of the tone's cycles. */
export class NotOnBinError extends Error {
  override readonly name = 'NotOnBinError'
}

/** Whether an `n`-sample window holds a whole number of cycles of `frequency`. */
export function isOnBin (n: number, sampleRate: number, frequency: number): boolean {
  const k = (n * frequency) / sampleRate
  return n > 0 && Math.abs(k - Math.round(k)) <= 1e-6
}

/**
 * Peak amplitude of the sine at `frequency` in `samples[from, to)`: a sine of
 * amplitude A on that bin gives A.
 * @throws NotOnBinError unless the window holds a whole number of cycles
 */
export function toneAmplitude (samples: ArrayLike<number>, sampleRate: number, frequency: number, from = 0, to = samples.length): number {
  const n = to - from
  if (!isOnBin(n, sampleRate, frequency)) throw new NotOnBinError(`${frequency} Hz is not on a bin of a ${n}-sample window`)
  const coeff = 2 * Math.cos((2 * Math.PI * Math.round((n * frequency) / sampleRate)) / n)
  let s1 = 0
  let s2 = 0
  for (let i = from; i < to; i++) {
    const s0 = (samples[i] as number) + coeff * s1 - s2
    s2 = s1
    s1 = s0
  }
  const power = Math.max(0, s1 * s1 + s2 * s2 - coeff * s1 * s2)
  return (2 * Math.sqrt(power)) / n
}

/** Largest absolute sample in `samples[from, to)`. */
export function peakOf (samples: ArrayLike<number>, from = 0, to = samples.length): number {
  let peak = 0
  for (let i = from; i < to; i++) peak = Math.max(peak, Math.abs(samples[i] as number))
  return peak
}
