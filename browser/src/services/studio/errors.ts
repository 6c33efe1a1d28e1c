/**
 * Studio errors.
 */

/** The studio was stopped (or its start abandoned): it runs once, and is not running now. */
export class StudioStoppedError extends Error {
  override readonly name = 'StudioStoppedError'
  constructor (message = 'the studio was stopped') {
    super(message)
  }
}

/** Something that needs the running studio (its audio) was asked for before `start` finished or after `stop`. */
export class StudioNotRunningError extends Error {
  override readonly name = 'StudioNotRunningError'
  constructor (message = 'the studio is not running') {
    super(message)
  }
}
