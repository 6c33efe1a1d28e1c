import { describe, expect, it } from 'vitest'
import { encodeKeyFile, stationKeyFromSeed } from '@openstudio/protocol'
import { decryptKey, encryptKey, KeyStore, type EncryptedKey, type KeyRecords } from '../src/services/key-store.ts'

const key = stationKeyFromSeed(new Uint8Array(32).fill(7))
const ITERATIONS = 100_000 // the minimum the format accepts; keeps the test fast
const PASSPHRASE = 'correct horse battery'

/** Key records in a Map: what IndexedDB keeps in the app. */
function memoryKeyRecords (): KeyRecords & { map: Map<string, EncryptedKey> } {
  const map = new Map<string, EncryptedKey>()
  return {
    map,
    ids: async () => [...map.keys()],
    get: async (id) => map.get(id),
    set: async (id, record) => { map.set(id, record) },
    update: async (id, change) => { map.set(id, change(map.get(id))) },
    delete: async (id) => { map.delete(id) }
  }
}

function keyStore (records = memoryKeyRecords()): { store: KeyStore, records: ReturnType<typeof memoryKeyRecords> } {
  return { store: new KeyStore({ records, iterations: ITERATIONS }), records }
}

describe('encrypted station keys', () => {
  it('round-trip with the right passphrase', async () => {
    const encrypted = await encryptKey(key, PASSPHRASE, ITERATIONS)
    expect(encrypted.ciphertext).not.toContain(Buffer.from(key.secretKey).toString('base64'))
    expect(encrypted).not.toHaveProperty('stamp')
    expect(await decryptKey(encrypted, PASSPHRASE)).toEqual(key)
  })

  it('keep the key\'s stamp beside the ciphertext, in the clear', async () => {
    const encrypted = await encryptKey({ ...key, stamp: 417 }, PASSPHRASE, ITERATIONS)
    expect(encrypted.stamp).toBe(417)
    expect(await decryptKey(encrypted, PASSPHRASE)).toEqual({ ...key, stamp: 417 })
    // The stamp is public, not bound to the ciphertext: a record without one (stored before stamps) still opens.
    const { stamp: _stamp, ...older } = encrypted
    expect(await decryptKey(older, PASSPHRASE)).toEqual(key)
  })

  it('refuses a wrong passphrase, a tampered ciphertext and a swapped id', async () => {
    const encrypted = await encryptKey(key, PASSPHRASE, ITERATIONS)
    await expect(decryptKey(encrypted, 'wrong horse battery')).rejects.toMatchObject({ name: 'WrongPassphraseError' })
    const flipped = encrypted.ciphertext.startsWith('A') ? `B${encrypted.ciphertext.slice(1)}` : `A${encrypted.ciphertext.slice(1)}`
    await expect(decryptKey({ ...encrypted, ciphertext: flipped }, PASSPHRASE)).rejects.toMatchObject({ name: 'WrongPassphraseError' })
    const other = stationKeyFromSeed(new Uint8Array(32).fill(8))
    await expect(decryptKey({ ...encrypted, id: other.id }, PASSPHRASE)).rejects.toMatchObject({ name: 'WrongPassphraseError' })
  })

  it('refuses short passphrases, malformed files and malformed stamps', async () => {
    await expect(encryptKey(key, 'short', ITERATIONS)).rejects.toMatchObject({ name: 'KeyImportError' })
    await expect(decryptKey({ type: 'x' } as never, PASSPHRASE)).rejects.toMatchObject({ name: 'KeyImportError' })
    const encrypted = await encryptKey(key, PASSPHRASE, ITERATIONS)
    for (const stamp of [-1, 1.5, Number.MAX_SAFE_INTEGER + 1, '417']) {
      await expect(decryptKey({ ...encrypted, stamp } as never, PASSPHRASE)).rejects.toMatchObject({ name: 'KeyImportError' })
    }
    await expect(encryptKey({ ...key, stamp: -1 }, PASSPHRASE, ITERATIONS)).rejects.toMatchObject({ name: 'RangeError' })
  })
})

describe('KeyStore', () => {
  it('keeps a stamp saved without the passphrase: unlock returns it, and the list and the export carry it', async () => {
    const { store, records } = keyStore()
    await store.save(key, PASSPHRASE)
    expect(await store.unlock(key.id, PASSPHRASE)).toEqual(key)

    await store.saveStamp(key.id, 417)
    expect(await store.unlock(key.id, PASSPHRASE)).toEqual({ ...key, stamp: 417 })
    expect((await store.list()).map((k) => k.stamp)).toEqual([417])
    // Only the stamp changed: the ciphertext is the one the passphrase made.
    const exported = JSON.parse(await store.exportFile(key.id)) as EncryptedKey
    expect(exported).toEqual(records.map.get(key.id))
    expect(exported.stamp).toBe(417)

    // Exported and imported elsewhere (under another passphrase), the key keeps its stamp.
    const elsewhere = keyStore().store
    expect(await elsewhere.importFile(JSON.stringify(exported), PASSPHRASE)).toEqual({ ...key, stamp: 417 })
    expect((await elsewhere.list())[0]?.stamp).toBe(417)
  })

  it('imports a plain CLI key file with its stamp', async () => {
    const { store } = keyStore()
    expect(await store.importFile(encodeKeyFile({ ...key, stamp: 9 }), PASSPHRASE)).toEqual({ ...key, stamp: 9 })
    expect(await store.unlock(key.id, PASSPHRASE)).toEqual({ ...key, stamp: 9 })
    const unstamped = keyStore().store
    expect(await unstamped.importFile(encodeKeyFile(key), PASSPHRASE)).toEqual(key)
    expect((await unstamped.list())[0]).not.toHaveProperty('stamp')
  })

  it('refuses a stamp for a key it does not hold, and a malformed stamp, and changes nothing', async () => {
    const { store, records } = keyStore()
    await expect(store.saveStamp(key.id, 417)).rejects.toMatchObject({ name: 'KeyImportError' })
    expect(records.map.size).toBe(0)
    await store.save({ ...key, stamp: 5 }, PASSPHRASE)
    for (const stamp of [-1, 0.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN]) {
      await expect(store.saveStamp(key.id, stamp)).rejects.toMatchObject({ name: 'RangeError' })
    }
    expect(await store.unlock(key.id, PASSPHRASE)).toEqual({ ...key, stamp: 5 })
  })
})
