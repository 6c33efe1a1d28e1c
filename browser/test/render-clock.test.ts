import { describe, expect, it } from 'vitest'
import { RenderStamps, type RenderStamp } from '../src/audio/render-clock.ts'
import { RenderWatch } from '../src/audio/render-watch.ts'

const QUANTUM_MS = 128 / 48
/** Quanta per render callback, and how long the callback takes to run them (a 10 ms device buffer). */
const BURST = 4
const CALLBACK_MS = BURST * QUANTUM_MS

/**
 * A render thread as devices drive it: every callback renders BURST quanta
 * back to back, each quantum stamped a little later than the last, with
 * `jitterMs` of random lateness on the callback. `hold` delays one callback
 * so long that the audio it should have made is lost.
 */
function renderThread (everyMs: number, jitterMs: number, random: () => number): { run: (ms: number, hold?: number) => void, stamps: RenderStamp[] } {
  const stamps = new RenderStamps(everyMs)
  const posted: RenderStamp[] = []
  let contextMs = 0
  let deviceMs = 1_000_000
  const run = (ms: number, holdMs = 0): void => {
    const end = deviceMs + ms
    while (deviceMs < end) {
      let wall = deviceMs + random() * jitterMs
      if (holdMs > 0) {
        // The device played silence meanwhile: the context renders on from where it was, later.
        wall += holdMs
        deviceMs += holdMs
        holdMs = 0
      }
      for (let q = 0; q < BURST; q++) {
        const stamp = stamps.push(contextMs, Math.round(wall))
        if (stamp !== undefined) posted.push(stamp)
        contextMs += QUANTUM_MS
        wall += 0.05
      }
      deviceMs += CALLBACK_MS
    }
  }
  return { run, stamps: posted }
}

/** A seeded generator, so that a failure repeats. */
function seeded (seed: number): () => number {
  let s = seed
  return () => {
    s = (s * 1103515245 + 12345) % 2 ** 31
    return s / 2 ** 31
  }
}

/** RenderWatch over the latest stamp, read once a second. */
function watchOver (thread: ReturnType<typeof renderThread>): { watch: RenderWatch, second: (hold?: number) => void } {
  const clock = {
    state: 'running' as AudioContextState,
    getOutputTimestamp: (): AudioTimestamp => {
      const last = thread.stamps.at(-1)
      return last === undefined ? {} : { contextTime: last.contextMs / 1000, performanceTime: last.wallMs }
    }
  }
  const watch = new RenderWatch(clock)
  return { watch, second: (hold) => { thread.run(1000, hold); watch.sample() } }
}

describe('RenderStamps', () => {
  it('posts once a period the stamp whose wall time is least ahead of its audio', () => {
    const stamps = new RenderStamps(10)
    expect(stamps.push(0, 1000)).toBeUndefined()
    expect(stamps.push(2.5, 1001)).toBeUndefined()
    expect(stamps.push(5, 1006)).toBeUndefined()
    expect(stamps.push(7.5, 1007)).toBeUndefined()
    expect(stamps.push(10, 1012)).toEqual({ contextMs: 2.5, wallMs: 1001 })
    expect(stamps.push(12.5, 1013)).toBeUndefined()
  })

  it('keeps the clock within the skip threshold while callbacks come in bursts and late, so RenderWatch sees no skip', () => {
    const thread = renderThread(250, 8, seeded(7))
    const { watch, second } = watchOver(thread)
    for (let s = 0; s < 120; s++) second()
    expect(watch.health().skips).toBe(0)
  })

  it('moves on by the audio a late render lost, which RenderWatch counts', () => {
    const thread = renderThread(250, 8, seeded(11))
    const { watch, second } = watchOver(thread)
    for (let s = 0; s < 5; s++) second()
    second(200)
    second()
    const { skippedMs, skips } = watch.health()
    expect(skips).toBe(1)
    expect(skippedMs).toBeGreaterThan(195)
    expect(skippedMs).toBeLessThan(205)
  })
})
