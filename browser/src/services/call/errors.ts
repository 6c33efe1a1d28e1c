/**
 * Call errors and defaults, and what a person is told about each failure.
 */
import type { SignalMessage } from '@openstudio/protocol'
import { humanError } from '../human-error.ts'

export const CALL_DEFAULTS = {
  /** The studio must answer a hello within this time. */
  helloTimeoutMs: 10_000,
  /** After a media drop, an ICE restart gets this long before a fresh dial. */
  iceRestartGraceMs: 2_500,
  /** Reaching the studio through a relay (dial and ping) is given up after this long, and tried again. */
  reachTimeoutMs: 8_000,
  /** A first call is tried this often before the caller is told it failed. */
  firstDialAttempts: 3,
  /** Redials back off from this… */
  redialFirstMs: 250,
  /** …to this. */
  redialMaxMs: 2_000,
  /**
   * A caller whose audio still flows redials its lost signalling after a
   * random wait of up to this long: callers that lost their way to the
   * studio together (a relay dropped them all) must not all land on the
   * studio's browser in the same second. A caller whose audio stopped
   * redials at once.
   */
  signallingRedialSpreadMs: 2_000,
  /** Calls a studio takes at once (the mixer is measured up to this many). */
  maxCallers: 15,
  /** How often the producer's view of each call's statistics is refreshed. */
  statsIntervalMs: 1_000
} as const

export type RefusalReason = Extract<SignalMessage, { type: 'refused' }>['reason'] | 'ended'

/** The studio refused the call, or ended it. */
export class CallRefusedError extends Error {
  override readonly name = 'CallRefusedError'
  constructor (readonly reason: RefusalReason, detail?: string) {
    super(detail === undefined ? `the studio refused the call: ${reason}` : `the studio ended the call: ${detail}`)
  }
}

/** Calls must run through TURN, and no TURN server could be had. */
export class TurnUnreachableError extends Error {
  override readonly name = 'TurnUnreachableError'
}

/** The other end of a signalling stream sent a message out of turn (anything but a hello first, or a welcome in answer). */
export class UnexpectedMessageError extends Error {
  override readonly name = 'UnexpectedMessageError'
  constructor (readonly expected: string, readonly got: SignalMessage['type'] | undefined) {
    super(`expected ${expected}, got ${got ?? 'nothing'}`)
  }
}

/** The microphone could not be opened. */
export class MicrophoneError extends Error {
  override readonly name = 'MicrophoneError'
}

const refusals: Record<RefusalReason, string> = {
  'invite-required': 'This station takes calls by invitation only. Ask the producer for an invite link.',
  'invite-invalid': 'This invite is not valid for this station. Ask the producer for a new invite link.',
  'invite-expired': 'This invite has expired. Ask the producer for a new invite link.',
  'invite-revoked': 'The producer withdrew this invite. Ask the producer for a new invite link.',
  'invite-used': 'This invite was for one caller only, and has been used. Ask the producer for a new invite link.',
  kicked: 'The producer removed you from the show.',
  full: 'The studio is full. Try again later.',
  'not-live': 'The studio is not taking calls right now.',
  ended: 'The studio ended the call.'
}

/** A message a caller can act on. */
export function humanCallError (err: Error): string {
  if (err instanceof CallRefusedError) return refusals[err.reason]
  switch (err.name) {
    case 'TurnUnreachableError': return `TURN unreachable: ${err.message}`
    case 'MicrophoneError': return err.message
    case 'NoRelayError':
    case 'TimeoutError':
    case 'AbortError':
      return `The studio is offline or unreachable: ${err.message}`
    default: return humanError(err)
  }
}
