/**
 * Errors of the station's own node (StationHost). Match on `name`.
 */

/** The station host was stopped (or its start abandoned): it runs once, and is not running now. */
export class StationHostStoppedError extends Error {
  override readonly name = 'StationHostStoppedError'
  constructor (message = 'the station\'s node was stopped') {
    super(message)
  }
}

/** Something that needs the station's running node was asked for before `start` finished or after `stop`. */
export class StationHostNotRunningError extends Error {
  override readonly name = 'StationHostNotRunningError'
  constructor (message = 'the station\'s node is not running') {
    super(message)
  }
}

/** The studio's state was to be published before the station's manifest ever was. */
export class NotPublishedError extends Error {
  override readonly name = 'NotPublishedError'
  constructor (message = 'publish the station before going on air') {
    super(message)
  }
}
