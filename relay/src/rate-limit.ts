/**
 * A fixed-window rate limiter keyed by peer id, with time passed in so that
 * expiry is testable with fake clocks. Memory is bounded: past `maxKeys`, the
 * longest-tracked key is forgotten.
 */
export class PeerRateLimiter {
  private readonly windows = new Map<string, { start: number, count: number }>()

  constructor (private readonly limit: number, private readonly windowMs: number, private readonly maxKeys: number) {}

  /** Counts one request from `key` at `now` (ms); false when it is over the limit. */
  take (key: string, now: number): boolean {
    let window = this.windows.get(key)
    if (window === undefined || now - window.start >= this.windowMs) {
      if (window === undefined && this.windows.size >= this.maxKeys) this.prune(now)
      window = { start: now, count: 0 }
      this.windows.set(key, window)
    }
    if (window.count >= this.limit) return false
    window.count++
    return true
  }

  get size (): number {
    return this.windows.size
  }

  private prune (now: number): void {
    for (const [key, window] of this.windows) if (now - window.start >= this.windowMs) this.windows.delete(key)
    const oldest = this.windows.keys().next()
    if (this.windows.size >= this.maxKeys && oldest.done !== true) this.windows.delete(oldest.value)
  }
}
