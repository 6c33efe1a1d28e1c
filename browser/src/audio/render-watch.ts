/**
 * Audio the machine skipped: an AudioContext whose render callbacks did not
 * run in time falls behind the clock. Every live input (the microphone,
 * each caller's stream) then drops what it could not hand over, so the
 * program, every mix-minus and the stream to Icecast all have a gap there.
 * Nothing in the graph can see it; the context's clock can.
 *
 * Each `sample()` compares how far the context's clock moved with how far
 * the page's clock moved since the last reading (a RenderClock: in the app,
 * the render thread's own stamps, render-clock.ts). A shortfall of
 * `skipMs` or more is a skip; clock drift between a sound card and the
 * system (well under 1 ms a second) never is. Skips are kept for
 * `windowMs`, so the studio can say "120 ms of audio skipped in the last
 * minute" while it matters, and stop saying it once it no longer does.
 */
import { RENDER_SAMPLE_MS, RENDER_SKIP_MS, RENDER_WINDOW_MS } from './constants.ts'
import { WorkletRenderClock } from './render-clock.ts'

/** The part of an AudioContext the watch reads. */
export interface RenderClock {
  readonly state: AudioContextState
  getOutputTimestamp: () => AudioTimestamp
}

export interface RenderWatchInit {
  /** A shortfall of at least this many ms between two samples is a skip. @default RENDER_SKIP_MS */
  skipMs?: number
  /** How long a skip counts. @default RENDER_WINDOW_MS */
  windowMs?: number
}

/** The skips within the window. */
export interface RenderHealth {
  /** Audio skipped, ms. */
  skippedMs: number
  /** Separate skips. */
  skips: number
  /** ms the figures cover. */
  windowMs: number
}

export class RenderWatch {
  private readonly skipMs: number
  private readonly windowMs: number
  /** Skips within the window: when each was seen (page clock, ms) and how long it was. */
  private readonly skipped: Array<{ at: number, ms: number }> = []
  private last?: { context: number, page: number }

  constructor (private readonly clock: RenderClock, init: RenderWatchInit = {}) {
    this.skipMs = init.skipMs ?? RENDER_SKIP_MS
    this.windowMs = init.windowMs ?? RENDER_WINDOW_MS
  }

  /** Reads the clock; returns true when the health changed (a skip came, or one left the window). */
  sample (): boolean {
    const stamp = this.clock.getOutputTimestamp()
    const now = { context: (stamp.contextTime ?? NaN) * 1000, page: stamp.performanceTime ?? NaN }
    // A suspended context stands still on purpose, and the first reading has nothing to compare with.
    const running = this.clock.state === 'running' && Number.isFinite(now.context) && Number.isFinite(now.page)
    const last = running ? this.last : undefined
    this.last = running ? now : undefined
    const short = last === undefined ? 0 : (now.page - last.page) - (now.context - last.context)
    const added = short >= this.skipMs
    if (added) this.skipped.push({ at: now.page, ms: short })
    const cutoff = now.page - this.windowMs
    let expired = 0
    while ((this.skipped[expired]?.at ?? Infinity) <= cutoff) expired++
    this.skipped.splice(0, expired)
    return added || expired > 0
  }

  health (): RenderHealth {
    return { skippedMs: Math.round(this.skipped.reduce((sum, s) => sum + s.ms, 0)), skips: this.skipped.length, windowMs: this.windowMs }
  }
}

/**
 * Reads `context`'s clock as its render thread stamps it (render-clock.ts;
 * never its `getOutputTimestamp()`, which hangs Firefox) every `everyMs`, and
 * calls `onChange` with the health whenever it changes. `onError` hears why
 * the stamping worklet did not start (there is no health then). Returns the
 * function that stops it, also while the worklet still loads.
 */
export function watchRender (context: AudioContext, onChange: (health: RenderHealth) => void, init: RenderWatchInit & { everyMs?: number, onError?: (err: Error) => void } = {}): () => void {
  let stopped = false
  let stop = (): void => { stopped = true }
  WorkletRenderClock.start(context).then((clock) => {
    if (stopped) {
      clock.stop()
      return
    }
    const watch = new RenderWatch(clock, init)
    const timer = setInterval(() => { if (watch.sample()) onChange(watch.health()) }, init.everyMs ?? RENDER_SAMPLE_MS)
    stop = () => {
      clearInterval(timer)
      clock.stop()
    }
  }, (err: Error) => { if (!stopped) init.onError?.(err) })
  return () => { stop() }
}
