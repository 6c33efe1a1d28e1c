/** Secrets from files (TURN's shared secret, Icecast's source password), read with care. */
import { open } from 'node:fs/promises'
import { MAX_SECRET_FILE_BYTES } from './constants.ts'

/**
 * Reads a secret: at most MAX_SECRET_FILE_BYTES, surrounding whitespace trimmed.
 * @throws {E} naming `what` when the file is missing, unreadable, too large or empty
 */
export async function readSecretFile<E extends Error> (file: string, what: string, ErrorClass: new (message: string) => E): Promise<string> {
  let text: string
  try {
    const handle = await open(file, 'r')
    try {
      const buffer = Buffer.alloc(MAX_SECRET_FILE_BYTES + 1)
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, 0)
      if (bytesRead > MAX_SECRET_FILE_BYTES) throw new ErrorClass(`${what} ${file} is more than ${MAX_SECRET_FILE_BYTES} bytes`)
      text = buffer.subarray(0, bytesRead).toString('utf8').trim()
    } finally {
      await handle.close()
    }
  } catch (err) {
    if (err instanceof ErrorClass) throw err
    const code = (err as NodeJS.ErrnoException).code
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable' : `cannot be read (${code ?? (err as Error).message})`
    throw new ErrorClass(`${what} ${file} ${why}`)
  }
  if (text === '') throw new ErrorClass(`${what} ${file} is empty`)
  return text
}
