/**
 * The refresh loop of level meters: on animation frames, but about 15 times a
 * second, so that a page full of meters re-renders only that often.
 */

/** Meters refresh at this interval: smooth enough to read, cheap for the page. */
export const METER_INTERVAL_MS = 66

/**
 * Calls `read` about every METER_INTERVAL_MS while the page is visible.
 * @returns a function that stops the loop
 */
export function meterFrames (read: () => void): () => void {
  let frame = 0
  let last = 0
  const tick = (now: number): void => {
    if (now - last >= METER_INTERVAL_MS) {
      last = now
      read()
    }
    frame = requestAnimationFrame(tick)
  }
  frame = requestAnimationFrame(tick)
  return () => { cancelAnimationFrame(frame) }
}
