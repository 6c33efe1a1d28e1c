/**
 * Waiting between attempts, for every orchestrator that redials: a wait that
 * doubles from a first delay up to a ceiling, and a pause that a signal cuts
 * short (so a stop never waits out a backoff).
 *
 * @example
 * ```ts
 * const backoff = new Backoff({ initialMs: 500, maxMs: 5_000 })
 * while (!signal.aborted) {
 *   try { return await dial() } catch { await pause(backoff.next(), { signal }) }
 * }
 * ```
 */

export interface BackoffInit {
  /** The first wait, in ms. */
  initialMs: number
  /** No wait is longer than this, in ms. */
  maxMs: number
}

/** Waits that double from `initialMs` to `maxMs`; `reset` after a success. */
export class Backoff {
  private attempt = 0

  constructor (private readonly init: BackoffInit) {}

  /** The wait before the next attempt: `initialMs`, then twice the last, never more than `maxMs`. */
  next (): number {
    const ms = Math.min(this.init.maxMs, this.init.initialMs * 2 ** this.attempt)
    if (ms < this.init.maxMs) this.attempt++
    return ms
  }

  /** The next wait is `initialMs` again. */
  reset (): void {
    this.attempt = 0
  }
}

/**
 * Resolves after `ms`, or rejects with the signal's reason as soon as it aborts.
 * @throws the signal's reason
 */
export async function pause (ms: number, options: { signal?: AbortSignal } = {}): Promise<void> {
  const { signal } = options
  signal?.throwIfAborted()
  await new Promise<void>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer)
      reject(signal?.reason)
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })
}
