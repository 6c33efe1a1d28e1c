import { describe, expect, it } from 'vitest'
import { refineAlignment } from '../src/services/recording/align.ts'
import { bursts } from './fakes/signals.ts'

const RATE = 48_000

describe('refineAlignment', () => {
  it.each([0, 37, -480, 7_211, -9_999])('finds a shift of %i frames to the sample', (shift) => {
    const voice = bursts(12)
    const radius = 12_000
    const local = voice.subarray(24_000, 24_000 + 5 * RATE)
    // The studio heard the same voice `shift` frames later than the coarse place says, with a little noise.
    const studio = new Float32Array(local.length + 2 * radius).map((_, i) => (voice[24_000 + i - radius - shift] ?? 0) + 0.002 * Math.sin(i * 1.3))
    expect(refineAlignment(studio, local, { sampleRate: RATE, radius })).toMatchObject({ shift })
  })

  it('keeps the coarse place when nothing singles out a lag: a steady tone', () => {
    const tone = new Float32Array(8 * RATE).map((_, i) => 0.4 * Math.sin((2 * Math.PI * 700 * i) / RATE))
    expect(refineAlignment(tone, tone.subarray(0, 5 * RATE), { sampleRate: RATE, radius: 12_000 })).toEqual({ shift: 0, confidence: 0 })
  })
})
