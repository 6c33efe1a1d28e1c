/**
 * Typed errors of the Node runtime. Match on `name`, never on message text.
 */

/** A manifest or config file that is missing, unreadable or invalid. */
export class InputFileError extends Error {
  override readonly name = 'InputFileError'
  constructor (message: string, readonly issues: ReadonlyArray<{ path: string, message: string }> = []) {
    super(message)
  }
}
