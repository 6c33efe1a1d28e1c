/**
 * Station key files: JSON with the station id and the base64 Ed25519 seed,
 * written with mode 0600 and never overwritten. Reading distrusts the file:
 * size cap, schema, and the id must match the key.
 */
import { open, readFile } from 'node:fs/promises'
import { stationKeyFromSeed, type StationKey } from '@openstudio/protocol'
import { base64 } from 'multiformats/bases/base64'
import { z } from 'zod'
import { KeyFileError } from './errors.ts'

const KEY_FILE_TYPE = 'openstudio-station-key'
const MAX_KEY_FILE_BYTES = 4096

const keyFileSchema = z.strictObject({
  type: z.literal(KEY_FILE_TYPE),
  version: z.literal(1),
  id: z.string(),
  secretKey: z.string().max(64)
})

/** The file body of a station key. Keep it secret. */
export function encodeKeyFile (key: StationKey): string {
  return JSON.stringify({ type: KEY_FILE_TYPE, version: 1, id: key.id, secretKey: base64.baseEncode(key.secretKey) }, null, 2) + '\n'
}

/**
 * Parses a key file body.
 * @throws {KeyFileError}
 */
export function decodeKeyFile (text: string): StationKey {
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
  return key
}

/**
 * Writes a new key file with mode 0600.
 * @throws {KeyFileError} when the file exists or cannot be written
 */
export async function writeKeyFile (path: string, key: StationKey): Promise<void> {
  let handle
  try {
    handle = await open(path, 'wx', 0o600)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new KeyFileError(code === 'EEXIST' ? `${path} already exists; refusing to overwrite a key` : `cannot create ${path}: ${code ?? (err as Error).message}`)
  }
  try {
    await handle.writeFile(encodeKeyFile(key), 'utf8')
  } finally {
    await handle.close()
  }
}

/**
 * Reads and checks a key file.
 * @throws {KeyFileError}
 */
export async function readKeyFile (path: string): Promise<StationKey> {
  let bytes: Buffer
  try {
    bytes = await readFile(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new KeyFileError(code === 'ENOENT' ? `no key file at ${path}` : `cannot read ${path}: ${code ?? (err as Error).message}`)
  }
  if (bytes.length > MAX_KEY_FILE_BYTES) throw new KeyFileError(`${path} is too large to be a station key file`)
  return decodeKeyFile(bytes.toString('utf8'))
}
