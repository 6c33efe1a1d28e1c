/** Reading the small files a user hands the CLI, without trusting them. */
import { open } from 'node:fs/promises'

/**
 * Reads a small text file. The size is checked before anything is read, so a
 * huge or endless file (a device, a FIFO) is refused, not loaded.
 * @param what names the file for people, such as "key file"
 * @param fail turns a problem into the caller's typed error
 */
export async function readSmallTextFile (path: string, what: string, maxBytes: number, fail: (message: string) => Error): Promise<string> {
  let handle
  try {
    handle = await open(path, 'r')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw fail(code === 'ENOENT' ? `no ${what} at ${path}` : `cannot read ${path}: ${code ?? (err as Error).message}`)
  }
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw fail(`${path} is not a file`)
    if (info.size > maxBytes) throw fail(`${path} is larger than ${maxBytes} bytes: too large to be a ${what}`)
    return await handle.readFile('utf8')
  } finally {
    await handle.close()
  }
}
