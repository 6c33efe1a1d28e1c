import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { Backoff, pause } from '../src/services/backoff.ts'

describe('backoff', () => {
  it('doubles from the first wait to the ceiling, and starts over after a reset', () => {
    const backoff = new Backoff({ initialMs: 500, maxMs: 5_000 })
    expect(Array.from({ length: 7 }, () => backoff.next())).toEqual([500, 1_000, 2_000, 4_000, 5_000, 5_000, 5_000])
    backoff.reset()
    expect(backoff.next()).toBe(500)
  })

  describe('pause', () => {
    beforeEach(() => { vi.useFakeTimers() })
    afterEach(() => { vi.useRealTimers() })

    it('resolves after its time', async () => {
      let done = false
      const waiting = pause(1_000).then(() => { done = true })
      await vi.advanceTimersByTimeAsync(999)
      expect(done).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      await waiting
      expect(done).toBe(true)
    })

    it('rejects with the reason as soon as its signal aborts, and leaves no timer', async () => {
      const controller = new AbortController()
      const waiting = pause(60_000, { signal: controller.signal })
      controller.abort()
      await expect(waiting).rejects.toMatchObject({ name: 'AbortError' })
      expect(vi.getTimerCount()).toBe(0)
      await expect(pause(10, { signal: controller.signal })).rejects.toMatchObject({ name: 'AbortError' })
    })
  })
})
