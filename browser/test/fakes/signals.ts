/** Test signals for the recording's alignment. */
const RATE = 48_000

/** Tone bursts of uneven lengths and gaps, as speech has: one place matches. */
export function bursts (seconds: number, seed = 7): Float32Array {
  const out = new Float32Array(seconds * RATE)
  let at = 0
  let x = seed
  const next = (): number => { x = (x * 16807) % 2147483647; return x / 2147483647 }
  while (at < out.length) {
    const on = Math.floor((0.08 + 0.3 * next()) * RATE)
    for (let i = 0; i < on && at + i < out.length; i++) out[at + i] = 0.4 * Math.sin((2 * Math.PI * 700 * i) / RATE)
    at += on + Math.floor((0.05 + 0.25 * next()) * RATE)
  }
  return out
}
