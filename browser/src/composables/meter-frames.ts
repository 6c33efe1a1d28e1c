/**
 * The refresh loop of level meters: about 15 times a second, and only while
 * the page is visible. A timer rather than animation frames: frames would wake
 * the page's renderer 60 times a second for nothing, and a studio shares its
 * machine with the audio it mixes.
 */

/** Meters refresh at this interval: smooth enough to read, cheap for the page. */
export const METER_INTERVAL_MS = 66

/**
 * Calls `read` every METER_INTERVAL_MS while the page is visible.
 * @returns a function that stops the loop
 */
export function meterFrames (read: () => void): () => void {
  const timer = setInterval(() => { if (document.visibilityState === 'visible') read() }, METER_INTERVAL_MS)
  return () => { clearInterval(timer) }
}
