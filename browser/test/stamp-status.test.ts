import { describe, expect, it } from 'vitest'
import { stampStatus } from '../src/composables/my-station.ts'

describe('the stamp search\'s status, as My station shows it', () => {
  it('is tried / expected in whole percent, at most 99 until found, and says when it takes longer than expected', () => {
    expect(stampStatus(0, 256)).toEqual({ tried: 0, expected: 256, percent: 0, overdue: false, done: false })
    expect(stampStatus(103, 256)).toMatchObject({ percent: 40, overdue: false })
    expect(stampStatus(256, 256)).toMatchObject({ percent: 99, overdue: false })
    expect(stampStatus(700, 256)).toMatchObject({ percent: 99, overdue: true })
    expect(stampStatus(1, 1)).toMatchObject({ percent: 99, overdue: false })
  })
})
