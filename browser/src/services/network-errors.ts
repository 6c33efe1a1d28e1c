/**
 * Errors of the page's network service (NetworkService). Match on `name`.
 */

/** The network was stopped while this waited for it (a start, or a resolve, dial or list on it). */
export class NetworkStoppedError extends Error {
  override readonly name = 'NetworkStoppedError'
  constructor (message = 'the network was stopped') {
    super(message)
  }
}
