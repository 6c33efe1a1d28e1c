/**
 * Waiting in unit tests without sleeping: everything here runs in memory, so
 * a condition holds after a few turns of the event loop or never. Each turn
 * yields once (a zero-delay timer); the deadline only bounds a broken test,
 * and its message says what was awaited.
 */

/** Yields to everything queued (promise jobs and zero-delay timers). */
export async function settle (): Promise<void> {
  await new Promise((resolve) => { setTimeout(resolve, 0) })
}

/**
 * Resolves with `check`'s first value that is neither undefined nor false.
 * @throws an Error naming `what` when it does not come within `turns` turns
 */
export async function until<T> (what: string, check: () => T | undefined | false, turns = 200): Promise<T> {
  for (let turn = 0; turn < turns; turn++) {
    const value = check()
    if (value !== undefined && value !== false) return value
    await settle()
  }
  throw new Error(`timed out waiting for ${what}`)
}
