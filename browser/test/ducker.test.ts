/**
 * The ducker that puts a bed under the voices: with a constant cart, the
 * output is the gain it applies, sample by sample.
 */
import { describe, expect, it } from 'vitest'
import { DUCKER } from '../src/audio/constants.ts'
import { Ducker } from '../src/audio/ducker.ts'

const RATE = 48_000
const BLOCK = 128
const toDb = (gain: number): number => 20 * Math.log10(gain)

/** Runs `seconds` of a constant cart (1.0) through `ducker`, keyed by a 200 Hz sine of `keyDbfs` peak (-Infinity: silence); the gain at every sample. */
function run (ducker: Ducker, seconds: number, keyDbfs: number): Float32Array {
  const frames = Math.round(seconds * RATE / BLOCK) * BLOCK
  const gains = new Float32Array(frames)
  const cart = new Float32Array(BLOCK).fill(1)
  const key = new Float32Array(BLOCK)
  const outL = new Float32Array(BLOCK)
  const outR = new Float32Array(BLOCK)
  const amplitude = keyDbfs === Number.NEGATIVE_INFINITY ? 0 : 10 ** (keyDbfs / 20)
  for (let n = 0; n < frames; n += BLOCK) {
    for (let i = 0; i < BLOCK; i++) key[i] = amplitude * Math.sin(2 * Math.PI * 200 * (n + i) / RATE)
    ducker.process(cart, cart, key, key, outL, outR, BLOCK)
    gains.set(outL, n)
  }
  return gains
}

const ducker = (): Ducker => new Ducker({ ...DUCKER, sampleRate: RATE })

describe('ducker', () => {
  it('takes the cart 12 dB down within 50 ms of a voice at -20 dBFS', () => {
    const d = ducker()
    const gains = run(d, 0.05, -20)
    expect(toDb(gains.at(-1)!)).toBeCloseTo(-12, 0)
    expect(d.keyed).toBe(true)
    // Both channels alike.
    const out = new Float32Array(BLOCK)
    const right = new Float32Array(BLOCK)
    d.process(new Float32Array(BLOCK).fill(0.5), new Float32Array(BLOCK).fill(0.25), new Float32Array(BLOCK).fill(0.1), new Float32Array(BLOCK), out, right, BLOCK)
    expect(out[0]! / 0.5).toBeCloseTo(right[0]! / 0.25, 6)
  })

  it('leaves the cart alone under a key quieter than the threshold (-60 dBFS) or silent', () => {
    for (const level of [-60, Number.NEGATIVE_INFINITY]) {
      const d = ducker()
      const gains = run(d, 1, level)
      expect(Math.min(...gains), `key at ${level} dBFS`).toBe(1)
      expect(d.keyed).toBe(false)
    }
  })

  it('holds through a 150 ms gap between words, then recovers smoothly within about 1.5 s', () => {
    const d = ducker()
    run(d, 0.5, -20)
    // A gap shorter than the hold: still down.
    const gap = run(d, 0.15, Number.NEGATIVE_INFINITY)
    expect(toDb(Math.max(...gap))).toBeLessThan(-11.5)
    run(d, 0.2, -20)
    const after = run(d, 2, Number.NEGATIVE_INFINITY)
    // Held for the hold time (200 ms), then rising without a step: monotonic, no jump over 0.01 dB per sample.
    const holdEnd = Math.round(DUCKER.hold * RATE)
    expect(toDb(after[holdEnd - 1000]!)).toBeLessThan(-11.5)
    const steps = Array.from(after.subarray(1), (g, i) => toDb(g) - toDb(after[i]!))
    expect(Math.min(...steps)).toBeGreaterThanOrEqual(0)
    expect(Math.max(...steps)).toBeLessThan(0.01)
    // Half way back (in dB) 0.5 s after the hold, within 1 dB of unity 1.5 s after.
    expect(toDb(after[holdEnd + RATE / 2]!)).toBeGreaterThan(-6)
    expect(toDb(after[holdEnd + 1.5 * RATE]!)).toBeGreaterThan(-1)
  })

  it('goes down without a click: no step over 0.3 dB per sample', () => {
    const gains = run(ducker(), 0.1, 0)
    const falls = Array.from(gains.subarray(1), (g, i) => toDb(gains[i]!) - toDb(g))
    expect(Math.max(...falls)).toBeLessThan(0.3)
  })

  it('takes a new depth', () => {
    const d = ducker()
    d.depthDb = -20
    expect(toDb(run(d, 0.1, -20).at(-1)!)).toBeCloseTo(-20, 0)
  })

  it('allocates nothing while it renders, and refers to nothing outside itself (its source is the worklet\'s)', () => {
    const source = Ducker.toString()
    const process = source.slice(source.indexOf('process('))
    expect(process).not.toMatch(/\bnew\b|\[\s*\]|\{\s*\}|=>|\.(map|filter|slice|concat|from)\(/)
    // A class evaluated from its own text alone works the same.
    const Rebuilt = new Function(`return ${source}`)() as typeof Ducker
    const a = run(new Rebuilt({ ...DUCKER, sampleRate: RATE }), 0.3, -20)
    const b = run(ducker(), 0.3, -20)
    expect(a).toEqual(b)
  })
})
