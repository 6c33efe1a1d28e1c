import { describe, expect, it } from 'vitest'
import { RenderWatch, type RenderClock } from '../src/audio/render-watch.ts'

/** A context's clock the test moves by hand: the page's clock and the audio rendered, ms. */
function fakeClock (): RenderClock & { state: AudioContextState, run: (pageMs: number, renderedMs?: number) => void } {
  let page = 1_000
  let context = 0
  const clock = {
    state: 'running' as AudioContextState,
    getOutputTimestamp: () => ({ contextTime: context / 1000, performanceTime: page }),
    run: (pageMs: number, renderedMs = pageMs) => {
      page += pageMs
      context += renderedMs
    }
  }
  return clock
}

describe('RenderWatch', () => {
  it('counts audio the context did not render as skipped, and nothing while it keeps up', () => {
    const clock = fakeClock()
    const watch = new RenderWatch(clock)
    expect(watch.sample()).toBe(false)
    for (let i = 0; i < 10; i++) {
      clock.run(1000, 999.9)
      expect(watch.sample()).toBe(false)
    }
    expect(watch.health()).toEqual({ skippedMs: 0, skips: 0, windowMs: 60_000 })
    clock.run(1000, 960)
    expect(watch.sample()).toBe(true)
    clock.run(1000, 980)
    watch.sample()
    expect(watch.health()).toEqual({ skippedMs: 60, skips: 2, windowMs: 60_000 })
  })

  it('forgets a skip once it is older than the window', () => {
    const clock = fakeClock()
    const watch = new RenderWatch(clock, { windowMs: 5_000 })
    watch.sample()
    clock.run(1000, 900)
    watch.sample()
    expect(watch.health().skippedMs).toBe(100)
    for (let i = 0; i < 4; i++) {
      clock.run(1000)
      expect(watch.sample()).toBe(false)
    }
    clock.run(1000)
    expect(watch.sample()).toBe(true)
    expect(watch.health()).toEqual({ skippedMs: 0, skips: 0, windowMs: 5_000 })
  })

  it('does not count the time a suspended context stands still', () => {
    const clock = fakeClock()
    const watch = new RenderWatch(clock)
    watch.sample()
    clock.state = 'suspended'
    clock.run(5000, 0)
    watch.sample()
    clock.state = 'running'
    clock.run(1000, 0)
    watch.sample()
    clock.run(1000)
    watch.sample()
    expect(watch.health().skips).toBe(0)
  })
})
