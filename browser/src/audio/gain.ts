/**
 * Gain changes as short linear ramps: a click-free mute, unmute, admit or
 * fader move. Each controlled AudioParam remembers its last target, so
 * applying the same plan again schedules nothing.
 */
import { InvalidGainError } from './errors.ts'

/** Linear gain of a fader level in dB; -Infinity is silence. */
export function dbToGain (id: string, db: number): number {
  if (db === Number.NEGATIVE_INFINITY) return 0
  if (!Number.isFinite(db)) throw new InvalidGainError(id, db)
  return 10 ** (db / 20)
}

/** An AudioParam under the engine's control, with the target it is heading to. */
export class RampedGain {
  private target: number

  constructor (private readonly param: AudioParam, initial: number) {
    this.target = initial
    param.value = initial
  }

  /** Ramps to `target` over `seconds` from `now`; does nothing when that is already the target. */
  rampTo (target: number, now: number, seconds: number): void {
    if (target === this.target) return
    this.target = target
    // Hold the value reached so far (the param may be mid-ramp), then ramp from there.
    const current = this.param.value
    this.param.cancelScheduledValues(now)
    this.param.setValueAtTime(current, now)
    this.param.linearRampToValueAtTime(target, now + seconds)
  }
}
