/**
 * Short-lived TURN credentials (the coturn `use-auth-secret` scheme, the
 * "TURN REST API"): the username is `<expiry-unix-seconds>:<name>` and the
 * password is padded base64(HMAC-SHA1(shared secret, username)). The relay and coturn
 * share the secret; browsers only ever see credentials that expire.
 *
 * `/openstudio/turn/1`: a peer in a call asks a relay for such credentials with a
 * {@link TurnRequest} and gets a {@link TurnResponse}; both are canonical CBOR,
 * size-capped and schema-checked, one length-prefixed message each way.
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha1 } from '@noble/hashes/legacy.js'
import { base64pad } from 'multiformats/bases/base64'
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from './cbor.ts'
import { MAX_CALL_PASS_CHARS, MAX_INVITE_CHARS } from './constants.ts'
import { MalformedError, TooLargeError } from './errors.ts'
import { parseOrThrow, stationIdSchema, uintSchema } from './schema.ts'

/** Default lifetime of TURN credentials. */
export const TURN_CREDENTIAL_TTL_S = 10 * 60

export interface TurnCredentials {
  username: string
  credential: string
  /** Unix seconds after which coturn refuses them. */
  expiresAt: number
}

export interface TurnCredentialInit {
  /** Who the credentials are for (a peer id); no colons. */
  name: string
  /** Unix seconds now. */
  now: number
  /** @default TURN_CREDENTIAL_TTL_S */
  ttlSeconds?: number
}

const utf8 = new TextEncoder()

/**
 * Derives credentials coturn accepts with `static-auth-secret`.
 * @throws {MalformedError} for an empty secret or a name with a colon
 */
export function turnCredentials (secret: Uint8Array, init: TurnCredentialInit): TurnCredentials {
  if (secret.length === 0) throw new MalformedError('the TURN secret is empty')
  if (init.name.includes(':') || init.name.length > 128) throw new MalformedError('a TURN user name has no colon and at most 128 characters')
  const expiresAt = Math.floor(init.now) + (init.ttlSeconds ?? TURN_CREDENTIAL_TTL_S)
  const username = `${expiresAt}:${init.name}`
  return { username, credential: base64pad.baseEncode(hmac(sha1, secret, utf8.encode(username))), expiresAt }
}

/** Largest `/openstudio/turn/1` request or response, in bytes. */
export const MAX_TURN_MESSAGE_BYTES = 4 * 1024
/** ICE servers in one grant, and URLs per server, at most. */
export const TURN_LIMITS = { serversMax: 4, urlsMax: 8, urlMax: 256, usernameMax: 256, credentialMax: 128 } as const

/** `turn:host:port?transport=udp`, `turns:…` or `stun:…`: an ICE server URL (RFC 7064/7065). */
export function isIceUrl (value: string): boolean {
  return value.length <= TURN_LIMITS.urlMax && /^(stun|stuns|turn|turns):[^\s/?#@]+(\?transport=(udp|tcp))?$/.test(value)
}

/**
 * What a peer in a call asks a relay for: TURN servers to use for the calls
 * of one station. The relay grants them when it serves `room` and the
 * requester is the studio itself, or shows a `pass` the studio signed for it,
 * or an `invite` the station signed (see docs/turn.md).
 */
export const turnRequestSchema = z.strictObject({
  /** The station whose calls the servers are for. */
  room: stationIdSchema,
  /** A call pass from the studio's welcome, naming the requester (call-pass.ts). */
  pass: z.string().min(1).max(MAX_CALL_PASS_CHARS).optional(),
  /** An invite token of the station (invite.ts), for a peer that has no pass. */
  invite: z.string().min(1).max(MAX_INVITE_CHARS).optional()
})

const iceServerSchema = z.strictObject({
  urls: z.array(z.string().refine(isIceUrl, 'not a stun:, turn: or turns: URL')).min(1).max(TURN_LIMITS.urlsMax),
  username: z.string().min(1).max(TURN_LIMITS.usernameMax),
  credential: z.string().min(1).max(TURN_LIMITS.credentialMax)
})

/**
 * Why a relay refused a TURN request: it does not serve the station
 * (`not-served`: ask a relay of the station), the requester is neither the
 * studio nor holds a valid pass or invite for it (`no-pass`), the request did
 * not decode (`malformed`), the peer or its host asked too often
 * (`rate-limited`), or the relay could not derive credentials (`unavailable`).
 */
export const TURN_REFUSALS = ['not-served', 'no-pass', 'malformed', 'rate-limited', 'unavailable'] as const

/** The relay's answer: short-lived credentials, or why not. */
export const turnResponseSchema = z.discriminatedUnion('ok', [
  z.strictObject({ ok: z.literal(true), iceServers: z.array(iceServerSchema).min(1).max(TURN_LIMITS.serversMax), expiresAt: uintSchema }),
  z.strictObject({ ok: z.literal(false), reason: z.enum(TURN_REFUSALS) })
])

export type TurnRequest = z.output<typeof turnRequestSchema>
export type TurnResponse = z.output<typeof turnResponseSchema>
export type TurnRefusal = typeof TURN_REFUSALS[number]

/**
 * Encodes a TURN request.
 * @throws {MalformedError}
 */
export function encodeTurnRequest (request: TurnRequest): Uint8Array {
  return encodeCanonical(parseOrThrow(turnRequestSchema, request, 'TURN request'))
}

/**
 * Decodes a TURN request from untrusted bytes.
 * @throws {MalformedError | TooLargeError}
 */
export function decodeTurnRequest (bytes: Uint8Array): TurnRequest {
  return parseOrThrow(turnRequestSchema, decodeCanonical(bytes, 'TURN request', MAX_TURN_MESSAGE_BYTES), 'TURN request')
}

/**
 * Encodes a TURN response.
 * @throws {MalformedError | TooLargeError}
 */
export function encodeTurnResponse (response: TurnResponse): Uint8Array {
  const bytes = encodeCanonical(parseOrThrow(turnResponseSchema, response, 'TURN response'))
  if (bytes.length > MAX_TURN_MESSAGE_BYTES) throw new TooLargeError('TURN response', bytes.length, MAX_TURN_MESSAGE_BYTES)
  return bytes
}

/**
 * Decodes a TURN response from untrusted bytes.
 * @throws {MalformedError | TooLargeError}
 */
export function decodeTurnResponse (bytes: Uint8Array): TurnResponse {
  return parseOrThrow(turnResponseSchema, decodeCanonical(bytes, 'TURN response', MAX_TURN_MESSAGE_BYTES), 'TURN response')
}
