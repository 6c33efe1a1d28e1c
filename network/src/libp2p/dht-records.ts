/**
 * kad-dht adapters for station records: the protocol validator and selector,
 * keyed by the `openstudio` namespace, as every DHT server and client needs.
 *
 * kad-dht validators see one record at a time and its PUT handler overwrites
 * whatever it stored, so a valid but older record would roll a station back.
 * With the node's datastore at hand, the validator also refuses a record that
 * loses to the one already stored.
 */
import { Libp2pRecord } from '@libp2p/record'
import { bytesEqual, DHT_NAMESPACE, isStationId, selectStationRecord } from '@openstudio/protocol'
import { Key, type Datastore } from 'interface-datastore'
import { base32 } from 'multiformats/bases/base32'
import { StaleRecordError } from '../errors.ts'
import { validateRecordCached } from './record-cache.ts'
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'
import type { CID } from 'multiformats/cid'

export interface RecordRules {
  validators: Record<string, ValidateFn>
  selectors: Record<string, SelectFn>
}

export interface RecordStore {
  datastore: Pick<Datastore, 'get' | 'has'>
  /** The kad-dht `datastorePrefix`. */
  prefix: string
}

/** Picks the valid record with the highest seq (deterministic tie-break). */
export const selectRecord: SelectFn = (key, records) => selectStationRecord(key, records, Date.now(), validateRecordCached)

/**
 * The validator and selector of station records. Given the datastore kad-dht
 * stores records in, the validator also rejects records older than the stored one.
 * `admit`, when given, runs first with the record's key, before any
 * verification, and refuses by throwing (a relay's allowance per host).
 */
export function recordRules (store?: RecordStore, admit?: (key: Uint8Array) => void): RecordRules {
  const validate: ValidateFn = async (key, value) => {
    admit?.(key)
    const now = Date.now()
    const result = validateRecordCached(key, value, now)
    if (!result.ok) throw result.error
    if (store === undefined) return
    const current = await storedValue(store, key)
    if (current === undefined || bytesEqual(current, value)) return
    if (selectStationRecord(key, [current, value], now, validateRecordCached) === 0 && validateRecordCached(key, current, now).ok) {
      throw new StaleRecordError(`record seq ${result.value.seq} is not newer than the stored one`)
    }
  }
  return { validators: { [DHT_NAMESPACE]: validate }, selectors: { [DHT_NAMESPACE]: selectRecord } }
}

async function storedValue (store: RecordStore, key: Uint8Array): Promise<Uint8Array | undefined> {
  const dsKey = recordDatastoreKey(store.prefix, key)
  if (!(await store.datastore.has(dsKey))) return undefined
  return Libp2pRecord.deserialize(await store.datastore.get(dsKey)).value
}

/** The datastore key kad-dht (with `datastorePrefix` = `prefix`) stores the record of DHT key `key` under. */
export function recordDatastoreKey (prefix: string, key: Uint8Array): Key {
  return new Key(`${prefix}/record/${base32.baseEncode(key)}`, false)
}

/** The DHT key and value of a datastore entry kad-dht wrote, or undefined when the bytes are not a libp2p record. */
export function readStoredRecord (bytes: Uint8Array): StoredRecord | undefined {
  try {
    const record = Libp2pRecord.deserialize(bytes)
    return { key: record.key, value: record.value }
  } catch {
    return undefined
  }
}

/** A DHT record as a server stores it: its key and value (unverified: verify before use). */
export interface StoredRecord {
  key: Uint8Array
  value: Uint8Array
}

/** Where a DHT server's stored records and providers are read from. */
export interface StoreQuery {
  datastore: Pick<Datastore, 'query' | 'queryKeys'>
  /** The kad-dht `datastorePrefix`. */
  prefix: string
}

/** Every station record a DHT server holds in its datastore. */
export async function * storedRecords (store: StoreQuery, signal?: AbortSignal): AsyncGenerator<StoredRecord> {
  for await (const { value } of store.datastore.query({ prefix: `${store.prefix}/record` }, { signal })) {
    // A datastore entry that is not a libp2p record is not ours to serve.
    const record = readStoredRecord(value)
    if (record !== undefined) yield record
  }
}

/**
 * The stations a DHT server stores as providers of `cid`, from kad-dht's
 * provider entries (`<prefix>/provider/<multihash in base32>/<peer id>`).
 */
export async function * storedProviders (store: StoreQuery, cid: CID, signal?: AbortSignal): AsyncGenerator<string> {
  for await (const key of store.datastore.queryKeys({ prefix: `${store.prefix}/provider/${base32.baseEncode(cid.multihash.bytes)}/` }, { signal })) {
    const id = key.baseNamespace()
    if (isStationId(id)) yield id
  }
}
