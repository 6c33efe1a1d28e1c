/**
 * The relay's persistent libp2p identity: a protobuf private key in
 * `DATA/peer.key` (mode 0600), created on first start.
 */
import { open, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@openstudio/node'
import type { PrivateKey } from '@libp2p/interface'

const KEY_FILE = 'peer.key'
const MAX_KEY_BYTES = 1024

/** Loads the relay key from the data directory, creating it if absent. */
export async function loadOrCreateRelayKey (dataDir: string): Promise<PrivateKey> {
  const path = join(dataDir, KEY_FILE)
  try {
    const bytes = await readFile(path)
    if (bytes.length > MAX_KEY_BYTES) throw new Error(`${path} is too large to be a key`)
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new Error(`cannot read relay key ${path}: ${(err as Error).message}`, { cause: err })
  }
  const key = await generateKeyPair('Ed25519')
  const handle = await open(path, 'wx', 0o600)
  try {
    await handle.writeFile(privateKeyToProtobuf(key))
  } finally {
    await handle.close()
  }
  return key
}
