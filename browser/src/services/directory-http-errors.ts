/**
 * Errors of the directory's HTTP client (directory-http.ts). Match on `name`.
 */

/** The relay's directory API could not be asked: the request failed, or it answered with an error status. */
export class DirectoryUnavailableError extends Error {
  override readonly name = 'DirectoryUnavailableError'
  /** The HTTP status, when the relay answered (404: a relay without the directory API). */
  readonly status?: number

  constructor (message: string, status?: number) {
    super(message)
    this.status = status
  }
}

/** The answer is larger than the client reads. */
export class DirectoryTooLargeError extends Error {
  override readonly name = 'DirectoryTooLargeError'
}

/** The answer is not a stations page: not JSON, or not of its shape. */
export class DirectoryResponseError extends Error {
  override readonly name = 'DirectoryResponseError'
}
