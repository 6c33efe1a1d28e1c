import { describe, expect, it } from 'vitest'
import { redialWait } from '../src/services/call/caller.ts'
import { CALL_DEFAULTS } from '../src/services/call/errors.ts'

describe('redialWait', () => {
  it('redials at once when the audio stopped', () => {
    expect(redialWait(false, () => 0.9)).toBe(0)
  })

  it('spreads signalling-only redials over the whole spread, never past it', () => {
    const spread = CALL_DEFAULTS.signallingRedialSpreadMs
    expect(redialWait(true, () => 0)).toBe(0)
    expect(redialWait(true, () => 0.5)).toBe(spread / 2)
    expect(redialWait(true, () => 1 - Number.EPSILON)).toBeLessThan(spread)
    // Callers that lost the studio together land over the whole spread, not in one moment.
    const waits = Array.from({ length: 100 }, () => redialWait(true))
    expect(Math.max(...waits) - Math.min(...waits)).toBeGreaterThan(spread / 2)
  })
})
