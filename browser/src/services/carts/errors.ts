/**
 * Typed errors of the cart wall. Callers match on `name`; messages are for
 * people: they name the file and the limit it broke.
 */

/** MiB with one decimal, for messages. */
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`

/** m:ss, for messages. */
const minutes = (seconds: number): string => `${Math.floor(seconds / 60)}:${String(Math.floor(seconds % 60)).padStart(2, '0')}`

/** A file larger than a cart takes; refused before it is read. */
export class CartTooLargeError extends Error {
  override readonly name = 'CartTooLargeError'
  constructor (readonly file: string, readonly bytes: number, readonly limit: number) {
    super(`"${file}" is ${mib(bytes)}: a cart takes files of at most ${mib(limit)}.`)
  }
}

/** A file that does not decode as audio, or holds none. */
export class CartNotAudioError extends Error {
  override readonly name = 'CartNotAudioError'
  constructor (readonly file: string, options?: ErrorOptions) {
    super(`"${file}" is not audio this browser can play. Use WAV, MP3, Ogg, FLAC or AAC.`, options)
  }
}

/** Audio longer than a cart may last. */
export class CartTooLongError extends Error {
  override readonly name = 'CartTooLongError'
  constructor (readonly file: string, readonly seconds: number, readonly limit: number) {
    super(`"${file}" lasts ${minutes(seconds)}: a cart lasts at most ${minutes(limit)}.`)
  }
}

/** A slot number off the wall. */
export class CartSlotError extends Error {
  override readonly name = 'CartSlotError'
  constructor (readonly slot: number, readonly slots: number) {
    super(`there is no cart ${slot + 1}: the wall has carts 1 to ${slots}`)
  }
}

/** The deck was used after `stop()`. */
export class CartDeckStoppedError extends Error {
  override readonly name = 'CartDeckStoppedError'
  constructor () {
    super('the cart wall has stopped')
  }
}

/** The store held records that are not carts (damaged, or from another version): they are left out, and left alone. */
export class CartStoreError extends Error {
  override readonly name = 'CartStoreError'
  constructor (readonly rejected: number) {
    super(`${rejected} stored cart${rejected === 1 ? ' was' : 's were'} unreadable and left out`)
  }
}
