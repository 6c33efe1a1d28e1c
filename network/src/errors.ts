/**
 * Typed errors of the network layer. Match on `name`, never on message text.
 */
import type { ProgramRefusal, TurnRefusal } from '@openstudio/protocol'

/** No record of the station was found in the DHT. */
export class StationNotFoundError extends Error {
  override readonly name = 'StationNotFoundError'
}

/** Records of the station exist, but none of them verifies. */
export class InvalidRecordError extends Error {
  override readonly name = 'InvalidRecordError'
  constructor (message: string, readonly reasons: readonly string[] = []) {
    super(message)
  }
}

/** A network operation ran out of time. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError'
}

/** A DHT put that no server accepted. */
export class NotStoredError extends Error {
  override readonly name = 'NotStoredError'
  constructor (message: string, readonly errors: readonly string[] = []) {
    super(message)
  }
}

/** No relay could be reached. */
export class NoRelayError extends Error {
  override readonly name = 'NoRelayError'
}

/** A DHT record that is valid but older than the one already stored. */
export class StaleRecordError extends Error {
  override readonly name = 'StaleRecordError'
}

/** A relay refused to hand out TURN credentials; `reason` says why. */
export class TurnRefusedError extends Error {
  override readonly name = 'TurnRefusedError'
  constructor (message: string, readonly reason: Exclude<TurnRefusal, 'unavailable'>) {
    super(message)
  }
}

/** A relay offers no TURN service, or could not issue credentials. */
export class TurnUnavailableError extends Error {
  override readonly name = 'TurnUnavailableError'
}

/**
 * A relay refused (or ended) a program stream; `reason` says why. A relay
 * that does not speak `/openstudio/program/1` at all refuses as `not-station`.
 */
export class ProgramRefusedError extends Error {
  override readonly name = 'ProgramRefusedError'
  constructor (message: string, readonly reason: ProgramRefusal) {
    super(message)
  }
}
