import { describe, expect, it } from 'vitest'
import { toneShare, windowsWithTone } from './signal.ts'

const RATE = 48_000

/** One second of `hz`, its phase turned by `breakRad` at `breakAt` s, and silent over [gapFrom, gapTo) s. */
function tone (hz: number, { breakAt = 1, breakRad = 0, gapFrom = 1, gapTo = 1 } = {}): Float32Array {
  return new Float32Array(RATE).map((_, i) => {
    const t = i / RATE
    if (t >= gapFrom && t < gapTo) return 0
    return 0.5 * Math.sin(2 * Math.PI * hz * t + (t >= breakAt ? breakRad : 0))
  })
}

describe('windowsWithTone', () => {
  it('hears a tone whose phase breaks once, where one share over the second does not', () => {
    const broken = tone(660, { breakAt: 0.5, breakRad: Math.PI * 0.6 })
    expect(toneShare(broken, RATE, 660)).toBeLessThan(0.5)
    expect(windowsWithTone(broken, RATE, 660)).toBeGreaterThanOrEqual(0.95)
  })

  it('counts the windows a tone is missing from', () => {
    expect(windowsWithTone(tone(660), RATE, 660)).toBe(1)
    expect(windowsWithTone(tone(660, { gapFrom: 0.2, gapTo: 0.4 }), RATE, 660)).toBeLessThanOrEqual(0.85)
    expect(windowsWithTone(tone(440), RATE, 660)).toBe(0)
  })
})
