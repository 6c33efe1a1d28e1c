/**
 * Invite tokens: signed by the station key, naming a role, an expiry (at most
 * INVITE_MAX_TTL_MS ahead), a nonce and an optional label. Which nonces are
 * still good (not revoked, not used up) is the studio's own record; see
 * InviteBook in @openstudio/network and docs/room.md. They travel as a compact URL-safe string:
 * base64url(canonical CBOR `[v, payload, sig]`), where `sig` is Ed25519 over
 * `DOMAIN.invite || payload` and `payload` is canonical CBOR of the fields.
 */
import { base64url } from 'multiformats/bases/base64'
import { z } from 'zod'
import { decodeCanonical, encodeCanonical } from './cbor.ts'
import { decodeTokenText } from './token.ts'
import { DOMAIN, INVITE_LABEL_MAX, INVITE_MAX_TTL_MS, INVITE_NONCE_BYTES, INVITE_VERSION, MAX_INVITE_CHARS } from './constants.ts'
import { BadSignatureError, ExpiredError, MalformedError, UnsupportedVersionError, WrongStationError } from './errors.ts'
import { publicKeyFromStationIdBytes, signWithDomain, stationIdFromBytes, stationIdToBytes, verifyWithDomain, type StationKey } from './identity.ts'
import { bytesSchema, parseOrThrow, uintSchema } from './schema.ts'

export type InviteRole = 'host' | 'caller'

/** A verified invite. */
export interface Invite {
  stationId: string
  role: InviteRole
  /** Unix milliseconds after which the invite is refused. */
  expiresAt: number
  /** Random bytes that make each invite unique. */
  nonce: Uint8Array
  label?: string
}

export interface CreateInviteInit {
  role: InviteRole
  /** At most INVITE_MAX_TTL_MS after `now`. */
  expiresAt: number
  /** @default Date.now() */
  now?: number
  /** INVITE_NONCE_BYTES random bytes; the caller supplies randomness. */
  nonce: Uint8Array
  label?: string
}

/** Why an invite was refused. */
export type InviteFailure = 'malformed' | 'bad-signature' | 'expired' | 'wrong-station'

export type InviteResult =
  | { ok: true, invite: Invite }
  | { ok: false, reason: InviteFailure, error: Error }

const ROLE_CODES = { host: 0, caller: 1 } as const satisfies Record<InviteRole, number>
const ROLES_BY_CODE: readonly InviteRole[] = ['host', 'caller']
const MAX_INVITE_BYTES = Math.floor(MAX_INVITE_CHARS * 3 / 4)

const payloadSchema = z.strictObject({
  s: z.instanceof(Uint8Array),
  r: z.number().int().min(0).max(ROLES_BY_CODE.length - 1),
  e: uintSchema,
  n: bytesSchema(INVITE_NONCE_BYTES),
  l: z.string().min(1).max(INVITE_LABEL_MAX).optional()
})
const tokenSchema = z.tuple([z.literal(INVITE_VERSION), z.instanceof(Uint8Array), bytesSchema(64)])

/**
 * Creates a signed invite token for the key's station.
 * @throws {MalformedError} when the fields are out of range, or the expiry is further ahead than INVITE_MAX_TTL_MS
 */
export function createInvite (key: StationKey, init: CreateInviteInit): string {
  if (init.expiresAt > (init.now ?? Date.now()) + INVITE_MAX_TTL_MS) throw new MalformedError('an invite lasts at most a week')
  const payload = parseOrThrow(payloadSchema, {
    s: stationIdToBytes(key.id),
    r: ROLE_CODES[init.role],
    e: init.expiresAt,
    n: init.nonce,
    l: init.label === '' ? undefined : init.label
  }, 'invite')
  const payloadBytes = encodeCanonical(payload)
  const sig = signWithDomain(DOMAIN.invite, payloadBytes, key.secretKey)
  return base64url.baseEncode(encodeCanonical([INVITE_VERSION, payloadBytes, sig]))
}

export interface VerifyInviteInit {
  /** The station the invite must be for. */
  stationId: string
  now: number
}

/** Verifies an invite token string. Never throws. */
export function verifyInvite (token: unknown, init: VerifyInviteInit): InviteResult {
  try {
    return { ok: true, invite: verifyInviteOrThrow(token, init) }
  } catch (err) {
    const error = err instanceof Error ? err : new MalformedError(String(err))
    return { ok: false, reason: failureOf(error), error }
  }
}

function verifyInviteOrThrow (token: unknown, init: VerifyInviteInit): Invite {
  const outer = decodeTokenText(token, 'invite', MAX_INVITE_CHARS)
  if (Array.isArray(outer) && outer[0] !== INVITE_VERSION) throw new UnsupportedVersionError('invite', outer[0])
  const [, payloadBytes, sig] = parseOrThrow(tokenSchema, outer, 'invite')
  const payload = parseOrThrow(payloadSchema, decodeCanonical(payloadBytes, 'invite payload', MAX_INVITE_BYTES), 'invite payload')
  const stationId = stationIdFromBytes(payload.s)
  if (stationId !== init.stationId) throw new WrongStationError(`invite is for station ${stationId}`)
  if (!verifyWithDomain(DOMAIN.invite, payloadBytes, sig, publicKeyFromStationIdBytes(payload.s))) {
    throw new BadSignatureError('invite signature does not verify with the station key')
  }
  if (payload.e <= init.now) throw new ExpiredError(`invite expired at ${new Date(payload.e).toISOString()}`)
  // Nobody can make a longer one; a token that claims it was not made by this code.
  if (payload.e > init.now + INVITE_MAX_TTL_MS) throw new MalformedError('invite expiry is more than a week ahead')
  const invite: Invite = { stationId, role: ROLES_BY_CODE[payload.r] as InviteRole, expiresAt: payload.e, nonce: payload.n }
  if (payload.l !== undefined) invite.label = payload.l
  return invite
}

function failureOf (error: Error): InviteFailure {
  switch (error.name) {
    case 'BadSignatureError': return 'bad-signature'
    case 'ExpiredError': return 'expired'
    case 'WrongStationError': return 'wrong-station'
    default: return 'malformed'
  }
}
