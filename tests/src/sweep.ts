/** A test signal for lining audio up: in Node and in a page. */

/** A linear sweep from 200 Hz to 4 kHz (amplitude 0.4) over `seconds`: every stretch of it is unlike every other. */
export function sweep (seconds: number, from = 0, frames = seconds * 48_000): Float32Array {
  const rate = 48_000
  const slope = (4000 - 200) / seconds
  return Float32Array.from({ length: frames }, (_, i) => {
    const t = (from + i) / rate
    return from + i < 0 || from + i >= seconds * rate ? 0 : 0.4 * Math.sin(2 * Math.PI * (200 * t + (slope * t * t) / 2))
  })
}
