/**
 * The outer layer of a signed token that travels as text (invites, call
 * passes): base64url of canonical CBOR, its size capped before decoding.
 */
import { base64url } from 'multiformats/bases/base64'
import { decodeCanonical } from './cbor.ts'
import { MalformedError, TooLargeError } from './errors.ts'

/**
 * Decodes the base64url text of a token into its CBOR value.
 * @throws {MalformedError | TooLargeError}
 */
export function decodeTokenText (token: unknown, what: string, maxChars: number): unknown {
  if (typeof token !== 'string') throw new MalformedError(`${what} is not a string`)
  if (token.length > maxChars) throw new TooLargeError(what, token.length, maxChars)
  if (!/^[A-Za-z0-9_-]+$/.test(token)) throw new MalformedError(`${what} is not base64url`)
  let bytes: Uint8Array
  try {
    bytes = base64url.baseDecode(token)
  } catch (err) {
    throw new MalformedError(`${what} is not base64url: ${(err as Error).message}`)
  }
  return decodeCanonical(bytes, what, Math.floor(maxChars * 3 / 4))
}
