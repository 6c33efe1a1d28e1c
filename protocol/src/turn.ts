/**
 * Short-lived TURN credentials (the coturn `use-auth-secret` scheme, the
 * "TURN REST API"): the username is `<expiry-unix-seconds>:<name>` and the
 * password is padded base64(HMAC-SHA1(shared secret, username)). The relay and coturn
 * share the secret; browsers only ever see credentials that expire.
 */
import { hmac } from '@noble/hashes/hmac.js'
import { sha1 } from '@noble/hashes/legacy.js'
import { base64pad } from 'multiformats/bases/base64'
import { MalformedError } from './errors.ts'

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
