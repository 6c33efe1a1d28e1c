/**
 * Station keys in the browser: kept in IndexedDB, encrypted with a passphrase
 * (PBKDF2-SHA-256 → AES-256-GCM, the station id as associated data). The
 * private key never leaves the browser unencrypted; exports are the encrypted
 * form. The plain key files of the CLI can be imported.
 *
 * A record also keeps the key's proof-of-work stamp in the clear once it was
 * paid for (see mintStamp): it is public (every published record carries it),
 * and its work is checked where it is used, so a stamp changed at rest costs
 * a new one, never a wrong record.
 */
import { decodeKeyFile, STAMP, stationKeyFromSeed, type StationKey } from '@openstudio/protocol'
import { base64 } from 'multiformats/bases/base64'
import { createStore, del, get, keys, set, update, type UseStore } from 'idb-keyval'
import { z } from 'zod'

/** PBKDF2 iterations (OWASP 2023 guidance for PBKDF2-HMAC-SHA256). */
export const PBKDF2_ITERATIONS = 600_000
const ENCRYPTED_TYPE = 'openstudio-station-key-encrypted'
const MAX_FILE_CHARS = 8192

export class WrongPassphraseError extends Error {
  override readonly name = 'WrongPassphraseError'
}

export class KeyImportError extends Error {
  override readonly name = 'KeyImportError'
}

const encryptedSchema = z.strictObject({
  type: z.literal(ENCRYPTED_TYPE),
  version: z.literal(1),
  id: z.string().max(64),
  createdAt: z.number().int().nonnegative(),
  kdf: z.strictObject({ name: z.literal('PBKDF2'), hash: z.literal('SHA-256'), iterations: z.number().int().min(100_000).max(10_000_000), salt: z.string().max(64) }),
  cipher: z.strictObject({ name: z.literal('AES-GCM'), iv: z.string().max(32) }),
  ciphertext: z.string().max(256),
  /** The key's proof-of-work stamp, once paid for: public, not encrypted. Keys stored before stamps have none. */
  stamp: z.number().int().nonnegative().max(STAMP.maxNonce).optional()
})

/** An encrypted station key, as stored and as exported. */
export type EncryptedKey = z.output<typeof encryptedSchema>

/**
 * Where the encrypted keys are kept, by station id: IndexedDB in the app
 * (indexedDbKeyRecords), a Map in tests.
 */
export interface KeyRecords {
  ids: () => Promise<string[]>
  get: (id: string) => Promise<EncryptedKey | undefined>
  set: (id: string, record: EncryptedKey) => Promise<void>
  /**
   * Replaces a record with `change(record)`, in one transaction.
   * @throws what `change` throws (nothing is written then)
   */
  update: (id: string, change: (record: EncryptedKey | undefined) => EncryptedKey) => Promise<void>
  delete: (id: string) => Promise<void>
}

/** The keys in an IndexedDB object store. @default the `openstudio-keys`/`keys` store */
export function indexedDbKeyRecords (store: UseStore = createStore('openstudio-keys', 'keys')): KeyRecords {
  return {
    ids: async () => keys<string>(store),
    get: async (id) => get<EncryptedKey>(id, store),
    set: async (id, record) => { await set(id, record, store) },
    update: async (id, change) => { await update<EncryptedKey>(id, change, store) },
    delete: async (id) => { await del(id, store) }
  }
}

export interface KeyStoreInit {
  /** @default PBKDF2_ITERATIONS */
  iterations?: number
  /** @default indexedDbKeyRecords() */
  records?: KeyRecords
}

export class KeyStore {
  private readonly records: KeyRecords
  private readonly iterations: number

  constructor (init: KeyStoreInit = {}) {
    this.records = init.records ?? indexedDbKeyRecords()
    this.iterations = init.iterations ?? PBKDF2_ITERATIONS
  }

  /** The stored keys (still encrypted), oldest first. */
  async list (): Promise<EncryptedKey[]> {
    const ids = await this.records.ids()
    const entries = await Promise.all(ids.map(async (id) => this.records.get(id)))
    return entries.filter((e): e is EncryptedKey => e !== undefined).sort((a, b) => a.createdAt - b.createdAt)
  }

  /** Encrypts and stores a key, with its stamp when it has one. */
  async save (key: StationKey, passphrase: string): Promise<EncryptedKey> {
    const encrypted = await encryptKey(key, passphrase, this.iterations)
    await this.records.set(key.id, encrypted)
    return encrypted
  }

  /**
   * Decrypts a stored key: the key, with its stamp when one was kept.
   * @throws {WrongPassphraseError | KeyImportError}
   */
  async unlock (id: string, passphrase: string): Promise<StationKey> {
    const encrypted = await this.records.get(id)
    if (encrypted === undefined) throw new KeyImportError(`no stored key for ${id}`)
    return decryptKey(encrypted, passphrase)
  }

  /**
   * Keeps a key's proof-of-work stamp (PublishResult.stamp) with the stored
   * key, so that it is paid for once. Needs no passphrase: the stamp is public.
   * @throws {KeyImportError} when no key is stored for `id`, or its record is malformed
   * @throws {RangeError} for a stamp that is not an integer from 0 to STAMP.maxNonce
   */
  async saveStamp (id: string, stamp: number): Promise<void> {
    checkStamp(stamp)
    await this.records.update(id, (record) => {
      if (record === undefined) throw new KeyImportError(`no stored key for ${id}`)
      const parsed = encryptedSchema.safeParse({ ...record, stamp })
      if (!parsed.success) throw new KeyImportError(`the stored key of ${id} is malformed`)
      return parsed.data
    })
  }

  async remove (id: string): Promise<void> {
    await this.records.delete(id)
  }

  /** The file body to export a stored key with (still encrypted; its stamp too). */
  async exportFile (id: string): Promise<string> {
    const encrypted = await this.records.get(id)
    if (encrypted === undefined) throw new KeyImportError(`no stored key for ${id}`)
    return JSON.stringify(encrypted, null, 2) + '\n'
  }

  /**
   * Imports an exported (encrypted) key file, or a plain CLI key file, and
   * stores it encrypted with `passphrase`; either's stamp is kept.
   * @throws {KeyImportError | WrongPassphraseError}
   */
  async importFile (text: string, passphrase: string): Promise<StationKey> {
    if (text.length > MAX_FILE_CHARS) throw new KeyImportError('this file is too large to be a station key')
    let json: unknown
    try {
      json = JSON.parse(text)
    } catch {
      throw new KeyImportError('this file is not a station key (not JSON)')
    }
    const encrypted = encryptedSchema.safeParse(json)
    const key = encrypted.success ? await decryptKey(encrypted.data, passphrase) : decodeKeyFile(text)
    await this.save(key, passphrase)
    return key
  }
}

/** @throws {RangeError} for a stamp that is not an integer from 0 to STAMP.maxNonce */
function checkStamp (stamp: number): void {
  if (!Number.isSafeInteger(stamp) || stamp < 0) throw new RangeError(`a stamp is an integer from 0 to ${STAMP.maxNonce}, not ${stamp}`)
}

async function deriveKey (passphrase: string, salt: Uint8Array, iterations: number): Promise<CryptoKey> {
  const material = await crypto.subtle.importKey('raw', new TextEncoder().encode(passphrase), 'PBKDF2', false, ['deriveKey'])
  return crypto.subtle.deriveKey({ name: 'PBKDF2', hash: 'SHA-256', salt: own(salt), iterations }, material, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt'])
}

/** A copy backed by its own ArrayBuffer, as WebCrypto's types ask for. */
function own (bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  return new Uint8Array(bytes)
}

/**
 * Encrypts a key with a passphrase; its stamp, if any, is kept beside the ciphertext.
 * @throws {KeyImportError} for a passphrase shorter than 8 characters
 * @throws {RangeError} for a malformed stamp
 */
export async function encryptKey (key: StationKey, passphrase: string, iterations = PBKDF2_ITERATIONS): Promise<EncryptedKey> {
  if (passphrase.length < 8) throw new KeyImportError('choose a passphrase of at least 8 characters')
  if (key.stamp !== undefined) checkStamp(key.stamp)
  const salt = crypto.getRandomValues(new Uint8Array(16))
  const iv = crypto.getRandomValues(new Uint8Array(12))
  const aes = await deriveKey(passphrase, salt, iterations)
  const ciphertext = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-GCM', iv, additionalData: new TextEncoder().encode(key.id) }, aes, own(key.secretKey)))
  return {
    type: ENCRYPTED_TYPE,
    version: 1,
    id: key.id,
    createdAt: Date.now(),
    kdf: { name: 'PBKDF2', hash: 'SHA-256', iterations, salt: base64.baseEncode(salt) },
    cipher: { name: 'AES-GCM', iv: base64.baseEncode(iv) },
    ciphertext: base64.baseEncode(ciphertext),
    ...(key.stamp === undefined ? {} : { stamp: key.stamp })
  }
}

/**
 * Decrypts a key: the key, with the record's stamp when it has one.
 * @throws {WrongPassphraseError | KeyImportError}
 */
export async function decryptKey (encrypted: EncryptedKey, passphrase: string): Promise<StationKey> {
  const parsed = encryptedSchema.safeParse(encrypted)
  if (!parsed.success) throw new KeyImportError('this is not an OpenStudio key file')
  const { kdf, cipher, id, stamp } = parsed.data
  const aes = await deriveKey(passphrase, base64.baseDecode(kdf.salt), kdf.iterations)
  let seed: Uint8Array
  try {
    seed = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-GCM', iv: own(base64.baseDecode(cipher.iv)), additionalData: new TextEncoder().encode(id) }, aes, own(base64.baseDecode(parsed.data.ciphertext))))
  } catch {
    throw new WrongPassphraseError('wrong passphrase')
  }
  if (seed.length !== 32) throw new KeyImportError('the key file holds a malformed key')
  const key = stationKeyFromSeed(seed)
  if (key.id !== id) throw new KeyImportError(`the key file names ${id} but holds the key of ${key.id}`)
  return stamp === undefined ? key : { ...key, stamp }
}
