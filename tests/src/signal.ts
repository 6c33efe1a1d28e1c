/**
 * Signal checks on what actually arrived: the Goertzel power of one frequency
 * relative to the whole signal.
 */

/** Share (0…1) of the signal's power at `frequency`, by the Goertzel algorithm. */
export function toneShare (samples: ArrayLike<number>, sampleRate: number, frequency: number): number {
  const n = samples.length
  if (n === 0) return 0
  const k = Math.round((n * frequency) / sampleRate)
  const w = (2 * Math.PI * k) / n
  const coeff = 2 * Math.cos(w)
  let s1 = 0
  let s2 = 0
  let energy = 0
  for (let i = 0; i < n; i++) {
    // Hann window against leakage from a frequency between bins.
    const x = (samples[i] as number) * (0.5 - 0.5 * Math.cos((2 * Math.PI * i) / (n - 1)))
    energy += x * x
    const s0 = x + coeff * s1 - s2
    s2 = s1
    s1 = s0
  }
  const power = s1 * s1 + s2 * s2 - coeff * s1 * s2
  // Scaled so that a pure tone at `frequency` gives about 1 with the Hann window.
  return energy === 0 ? 0 : (4 * power) / (n * energy)
}

/**
 * Share (0…1) of the `windowMs` windows of `samples` in which `frequency`
 * holds more than `share` of the power. One `toneShare` over a long stretch
 * falls when the tone's phase breaks inside it (a splice, a skipped render
 * callback), though the tone plays on; here a break costs one window, and a
 * missing tone still costs every window it is missing from.
 */
export function windowsWithTone (samples: Float32Array, sampleRate: number, frequency: number, init: { windowMs?: number, share?: number } = {}): number {
  const n = Math.round(sampleRate * (init.windowMs ?? 50) / 1000)
  const count = Math.floor(samples.length / n)
  let withTone = 0
  for (let i = 0; i < count; i++) {
    if (toneShare(samples.subarray(i * n, (i + 1) * n), sampleRate, frequency) > (init.share ?? 0.5)) withTone++
  }
  return count === 0 ? 0 : withTone / count
}
