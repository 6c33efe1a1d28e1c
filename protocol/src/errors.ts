/**
 * Typed protocol errors. Callers match on `name`, never on message text.
 */

/** Bytes or text that do not decode, or decode to the wrong shape. */
export class MalformedError extends Error {
  override readonly name = 'MalformedError'
  /** Field-by-field problems, when the shape was wrong. */
  readonly issues: readonly FieldIssue[]
  constructor (message: string, issues: readonly FieldIssue[] = []) {
    super(message)
    this.issues = issues
  }
}

/** Input larger than the protocol allows. Checked before anything else. */
export class TooLargeError extends Error {
  override readonly name = 'TooLargeError'
  constructor (what: string, readonly size: number, readonly max: number) {
    super(`${what} is ${size} bytes, more than the ${max} allowed`)
  }
}

/** A version this code does not speak. */
export class UnsupportedVersionError extends Error {
  override readonly name = 'UnsupportedVersionError'
  constructor (what: string, readonly version: unknown) {
    super(`${what} version ${String(version)} is not supported`)
  }
}

/** A signature that does not verify. */
export class BadSignatureError extends Error {
  override readonly name = 'BadSignatureError'
}

/** A signed object past its expiry (or issued implausibly far in the future). */
export class ExpiredError extends Error {
  override readonly name = 'ExpiredError'
}

/** A record or token that names a different station than expected. */
export class WrongStationError extends Error {
  override readonly name = 'WrongStationError'
}

/** A station id that is not an Ed25519 libp2p PeerId. */
export class InvalidStationIdError extends Error {
  override readonly name = 'InvalidStationIdError'
}

/** A record whose proof-of-work stamp is missing, made for another station, or cheaper than required. */
export class StampError extends Error {
  override readonly name = 'StampError'
}

/** One problem with one field of a schema-checked object. */
export interface FieldIssue {
  /** Dotted path, such as `streams.0.url`; empty for the whole object. */
  path: string
  message: string
}

/** Every error a verifier can report. */
export type VerifyError =
  | MalformedError
  | TooLargeError
  | UnsupportedVersionError
  | BadSignatureError
  | ExpiredError
  | WrongStationError
  | InvalidStationIdError
  | StampError

/** A station key file that is malformed or does not hold the key it names. */
export class KeyFileError extends Error {
  override readonly name = 'KeyFileError'
}
