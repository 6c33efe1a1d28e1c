/**
 * Known answers for the loudness meter: the K-weighting coefficients of
 * ITU-R BS.1770-4, the EBU Tech 3341 minimum-requirement signals that can be
 * synthesized (cases 1–6, 9), the EBU Tech 3342 loudness-range signals (cases
 * 1–4), and true peaks whose answer follows from the signal: a sine at a
 * quarter of the sample rate sampled 45° off its peaks.
 */
import { describe, expect, it } from 'vitest'
import { kWeighting } from '../src/audio/bs1770.ts'
import { createLoudnessMeter, type LoudnessReading } from '../src/audio/loudness.ts'

const RATE = 48_000

/** A 1 kHz sine segment: seconds, and its peak level in dBFS per channel. */
interface Segment { seconds: number, dbfs: number[] }

/** Feeds the segments, in 100 ms chunks, to a meter of as many channels; returns its reading. */
function measure (segments: Segment[], init: { weights?: number[], truePeak?: boolean, frequency?: number, phase?: number } = {}): LoudnessReading {
  const channels = segments[0]!.dbfs.length
  const meter = createLoudnessMeter({ sampleRate: RATE, channels, weights: init.weights, truePeak: init.truePeak ?? false })
  const chunk = Array.from({ length: channels }, () => new Float32Array(RATE / 10))
  const w = 2 * Math.PI * (init.frequency ?? 1000) / RATE
  let n = 0
  for (const { seconds, dbfs } of segments) {
    const amplitudes = dbfs.map((d) => 10 ** (d / 20))
    let left = Math.round(seconds * RATE)
    while (left > 0) {
      const frames = Math.min(left, RATE / 10)
      for (let i = 0; i < frames; i++, n++) {
        const x = Math.sin(w * n + (init.phase ?? 0))
        for (let c = 0; c < channels; c++) chunk[c]![i] = amplitudes[c]! * x
      }
      meter.push(chunk, frames)
      left -= frames
    }
  }
  return meter.read()
}

const stereo = (seconds: number, dbfs: number): Segment => ({ seconds, dbfs: [dbfs, dbfs] })

describe('loudness meter (BS.1770-4, EBU R128)', () => {
  it('K-weights with BS.1770-4\'s coefficients at 48 kHz', () => {
    const k = kWeighting(RATE)
    const expected = [1.53512485958697, -2.69169618940638, 1.19839281085285, -1.69065929318241, 0.73248077421585, 1, -2, 1, -1.99004745483398, 0.99007225036621]
    for (const [i, value] of expected.entries()) expect(k[i]).toBeCloseTo(value, 9)
  })

  it('Tech 3341 cases 1 and 2: a stereo 1 kHz sine at −23 and −33 dBFS reads −23 and −33 LUFS, momentary, short-term and integrated (±0.1)', () => {
    for (const level of [-23, -33]) {
      const r = measure([stereo(20, level)])
      for (const value of [r.momentary, r.shortTerm, r.integrated]) expect(Math.abs(value - level)).toBeLessThanOrEqual(0.1)
    }
  })

  it('Tech 3341 cases 3–5: the gates leave −23 LUFS integrated (±0.1)', () => {
    const cases = [
      [stereo(10, -36), stereo(60, -23), stereo(10, -36)],
      [stereo(10, -72), stereo(10, -36), stereo(60, -23), stereo(10, -36), stereo(10, -72)],
      [stereo(20, -26), stereo(20.1, -20), stereo(20, -26)]
    ]
    for (const segments of cases) expect(Math.abs(measure(segments).integrated + 23)).toBeLessThanOrEqual(0.1)
  })

  it('Tech 3341 case 6: five channels, weighted 1, 1, 1, 1.41, 1.41, read −23 LUFS (±0.1)', () => {
    const r = measure([{ seconds: 20, dbfs: [-28, -28, -24, -30, -30] }], { weights: [1, 1, 1, 1.41, 1.41] })
    expect(Math.abs(r.integrated + 23)).toBeLessThanOrEqual(0.1)
  })

  it('Tech 3341 case 9: 1.34 s at −20 and 1.66 s at −30 dBFS, repeated, hold short-term at −23 LUFS (±0.1)', () => {
    const meter = createLoudnessMeter({ sampleRate: RATE, channels: 2, truePeak: false })
    const chunk = [new Float32Array(RATE / 100), new Float32Array(RATE / 100)]
    let n = 0
    const shortTerms: number[] = []
    for (let cycle = 0; cycle < 10; cycle++) {
      for (const [ms, dbfs] of [[1340, -20], [1660, -30]] as const) {
        const a = 10 ** (dbfs / 20)
        for (let done = 0; done < ms; done += 10) {
          for (let i = 0; i < RATE / 100; i++, n++) chunk[0]![i] = chunk[1]![i] = a * Math.sin(2 * Math.PI * 1000 * n / RATE)
          meter.push(chunk, RATE / 100)
          if (cycle >= 2 && done % 100 === 90) shortTerms.push(meter.read().shortTerm)
        }
      }
    }
    for (const s of shortTerms) expect(Math.abs(s + 23)).toBeLessThanOrEqual(0.1)
  })

  it('Tech 3342 cases 1–4: loudness range 10, 5, 20 and 15 LU (±1)', () => {
    const cases: Array<[Segment[], number]> = [
      [[stereo(20, -20), stereo(20, -30)], 10],
      [[stereo(20, -20), stereo(20, -15)], 5],
      [[stereo(20, -40), stereo(20, -20)], 20],
      [[stereo(20, -50), stereo(20, -35), stereo(20, -20), stereo(20, -35), stereo(20, -50)], 15]
    ]
    for (const [segments, lra] of cases) expect(Math.abs(measure(segments).range - lra)).toBeLessThanOrEqual(1)
  })

  it('true peak: a sine at a quarter of the sample rate, sampled 45° off its peaks, reads its peak (+0.2/−0.4 dB) 3 dB over its samples', () => {
    for (const level of [0, -6]) {
      const r = measure([{ seconds: 1, dbfs: [level] }], { truePeak: true, frequency: RATE / 4, phase: Math.PI / 4 })
      expect(r.samplePeak).toBeCloseTo(level - 3.01, 1)
      expect(r.truePeak - level).toBeLessThanOrEqual(0.2)
      expect(r.truePeak - level).toBeGreaterThanOrEqual(-0.4)
    }
  })

  it('reads −Infinity while silent, and starts over on reset', () => {
    const meter = createLoudnessMeter({ sampleRate: RATE, channels: 2 })
    meter.push([new Float32Array(RATE), new Float32Array(RATE)], RATE)
    expect(meter.read()).toMatchObject({ momentary: -Infinity, shortTerm: -Infinity, integrated: -Infinity, range: 0, truePeak: -Infinity })
  })
})
