/**
 * Typed errors of the mixing engine. Callers match on `name`, never on message text.
 */

/** A fader gain that is not a number of dB (NaN, or +Infinity). */
export class InvalidGainError extends Error {
  override readonly name = 'InvalidGainError'
  constructor (readonly id: string, readonly db: number) {
    super(`fader gain for ${JSON.stringify(id)} must be a finite number of dB or -Infinity, got ${db}`)
  }
}

/** Any call on a mixer after `dispose()`. */
export class MixerDisposedError extends Error {
  override readonly name = 'MixerDisposedError'
  constructor () {
    super('the mixer has been disposed')
  }
}
