/**
 * Waiting without sleeping: resolve as soon as a condition holds or an event
 * fires, with a timeout that names what was awaited.
 */
import { setInterval as every } from 'node:timers/promises'

/** How often a condition is re-checked. */
const POLL_MS = 15

/** Resolves once `check()` returns a value other than undefined/false. */
export async function waitUntil<T> (what: string, check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for await (const _ of every(POLL_MS, undefined, { ref: false })) {
    try {
      const value = await check()
      if (value !== undefined && value !== false) return value
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError instanceof Error ? ` (last error: ${lastError.message})` : ''}`)
    }
  }
  throw new Error(`stopped waiting for ${what}`)
}

/** `work`, or a rejection that names `what` once `timeoutMs` has passed (the work is then abandoned, not stopped). */
export async function within<T> (what: string, timeoutMs: number, work: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`${what} took more than ${timeoutMs} ms`)) }, timeoutMs)
  })
  try {
    return await Promise.race([work, late])
  } finally {
    clearTimeout(timer)
  }
}
