/**
 * A shared clock for views that show state that runs out, such as a
 * station's on-air claim (`isOnAir`): it ticks every NOW_TICK_MS while any
 * view in a component scope uses it, and stops when the last one goes.
 */
import { getCurrentScope, onScopeDispose, shallowRef, type ShallowRef } from 'vue'

/** How often the clock ticks: an expired claim disappears from view within this long. */
export const NOW_TICK_MS = 5_000

const now = shallowRef(Date.now())
let users = 0
let timer: ReturnType<typeof setInterval> | undefined

/** The current time in unix ms, reactive. */
export function useNow (): Readonly<ShallowRef<number>> {
  now.value = Date.now()
  if (getCurrentScope() === undefined) return now
  users++
  timer ??= setInterval(() => { now.value = Date.now() }, NOW_TICK_MS)
  onScopeDispose(() => {
    users--
    if (users > 0) return
    clearInterval(timer)
    timer = undefined
  })
  return now
}
