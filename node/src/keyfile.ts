/**
 * Station key files on disk: written with mode 0600 and never overwritten;
 * read with a size cap and checked (see `decodeKeyFile` in protocol/).
 */
import { open } from 'node:fs/promises'
import { decodeKeyFile, encodeKeyFile, KeyFileError, MAX_KEY_FILE_CHARS, type StationKey } from '@openstudio/protocol'
import { readSmallTextFile } from './files.ts'

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
  const text = await readSmallTextFile(path, 'key file', MAX_KEY_FILE_CHARS, (message) => new KeyFileError(message))
  try {
    return decodeKeyFile(text)
  } catch (err) {
    throw new KeyFileError(`${path}: ${(err as Error).message}`)
  }
}
