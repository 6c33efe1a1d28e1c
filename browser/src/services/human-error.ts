/**
 * Errors in words a person can act on. Light: it matches on `name` only, so
 * pages that load no libp2p node use it too.
 */

/** An error message a person can act on. */
export function humanError (err: Error): string {
  switch (err.name) {
    case 'NoRelayError': return `No relay could be reached. Check your connection, or add a relay in Settings. (${err.message})`
    case 'TimeoutError': return `The network did not answer in time: ${err.message}`
    case 'ConfigError': return err.message
    case 'StationNotFoundError': return 'This station is not in the directory: it may never have been published, or its manifest expired.'
    case 'InvalidRecordError': return 'This station\'s records failed verification; they may be forged. Nothing from them is shown.'
    case 'InvalidStationIdError': return 'That is not a station id. Station ids start with 12D3KooW.'
    case 'DirectoryUnavailableError': return (err as { status?: number }).status === 429
      ? 'This relay is busy answering this address: the list is asked again in a moment.'
      : `This relay's directory could not be reached: ${err.message}`
    case 'DirectoryResponseError':
    case 'DirectoryTooLargeError': return `This relay's directory answered with something unreadable: ${err.message}`
    default: return err.message
  }
}
