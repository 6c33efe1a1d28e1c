import { describe, expect, it } from 'vitest'
import { stationKeyFromSeed } from '@openstudio/protocol'
import { decryptKey, encryptKey } from '../src/services/key-store.ts'

const key = stationKeyFromSeed(new Uint8Array(32).fill(7))
const ITERATIONS = 100_000 // the minimum the format accepts; keeps the test fast

describe('encrypted station keys', () => {
  it('round-trip with the right passphrase', async () => {
    const encrypted = await encryptKey(key, 'correct horse battery', ITERATIONS)
    expect(encrypted.ciphertext).not.toContain(Buffer.from(key.secretKey).toString('base64'))
    expect(await decryptKey(encrypted, 'correct horse battery')).toEqual(key)
  })

  it('refuses a wrong passphrase, a tampered ciphertext and a swapped id', async () => {
    const encrypted = await encryptKey(key, 'correct horse battery', ITERATIONS)
    await expect(decryptKey(encrypted, 'wrong horse battery')).rejects.toMatchObject({ name: 'WrongPassphraseError' })
    const flipped = encrypted.ciphertext.startsWith('A') ? `B${encrypted.ciphertext.slice(1)}` : `A${encrypted.ciphertext.slice(1)}`
    await expect(decryptKey({ ...encrypted, ciphertext: flipped }, 'correct horse battery')).rejects.toMatchObject({ name: 'WrongPassphraseError' })
    const other = stationKeyFromSeed(new Uint8Array(32).fill(8))
    await expect(decryptKey({ ...encrypted, id: other.id }, 'correct horse battery')).rejects.toMatchObject({ name: 'WrongPassphraseError' })
  })

  it('refuses short passphrases and malformed files', async () => {
    await expect(encryptKey(key, 'short', ITERATIONS)).rejects.toMatchObject({ name: 'KeyImportError' })
    await expect(decryptKey({ type: 'x' } as never, 'correct horse battery')).rejects.toMatchObject({ name: 'KeyImportError' })
  })
})
