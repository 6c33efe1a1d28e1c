/**
 * The plain station key file format of the CLI: JSON with the station id,
 * the base64 Ed25519 seed and, once paid for, the key's proof-of-work stamp.
 * Decoding distrusts the text: size cap, schema, and the id must match the
 * key (a stamp's work is checked where it is used).
 */
import { base64 } from 'multiformats/bases/base64'
import { z } from 'zod'
import { KeyFileError } from './errors.ts'
import { stationKeyFromSeed, type StationKey } from './identity.ts'

const KEY_FILE_TYPE = 'openstudio-station-key'
/** Largest key file accepted, in characters. */
export const MAX_KEY_FILE_CHARS = 4096

const keyFileSchema = z.strictObject({
  type: z.literal(KEY_FILE_TYPE),
  version: z.literal(1),
  id: z.string().max(64),
  secretKey: z.string().max(64),
  stamp: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional()
})

/** The text of a key file. Keep it secret. */
export function encodeKeyFile (key: StationKey): string {
  return JSON.stringify({ type: KEY_FILE_TYPE, version: 1, id: key.id, secretKey: base64.baseEncode(key.secretKey), stamp: key.stamp }, null, 2) + '\n'
}

/**
 * Parses a key file's text.
 * @throws {KeyFileError}
 */
export function decodeKeyFile (text: string): StationKey {
  if (text.length > MAX_KEY_FILE_CHARS) throw new KeyFileError('too large to be a station key file')
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    throw new KeyFileError('not a station key file (not JSON)')
  }
  const parsed = keyFileSchema.safeParse(json)
  if (!parsed.success) throw new KeyFileError('not a station key file (missing or wrong fields)')
  let seed: Uint8Array
  try {
    seed = base64.baseDecode(parsed.data.secretKey)
  } catch {
    throw new KeyFileError('station key file has a malformed secretKey')
  }
  if (seed.length !== 32) throw new KeyFileError('station key file has a malformed secretKey')
  const key = stationKeyFromSeed(seed)
  if (key.id !== parsed.data.id) throw new KeyFileError(`station key file names ${parsed.data.id} but holds the key of ${key.id}`)
  return parsed.data.stamp === undefined ? key : { ...key, stamp: parsed.data.stamp }
}
