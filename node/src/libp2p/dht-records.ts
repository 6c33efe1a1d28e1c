/**
 * kad-dht adapters for station records: the protocol validator and selector,
 * keyed by the `openstudio` namespace, as every DHT server and client needs.
 */
import { DHT_NAMESPACE, selectStationRecord, validateStationRecord } from '@openstudio/protocol'
import type { SelectFn, ValidateFn } from '@libp2p/kad-dht'

/** Rejects forged, expired, oversized, mismatched and unknown-version records by throwing their typed error. */
export const validateRecord: ValidateFn = (key, value) => {
  const result = validateStationRecord(key, value, Date.now())
  if (!result.ok) throw result.error
}

/** Picks the valid record with the highest seq (deterministic tie-break). */
export const selectRecord: SelectFn = (key, records) => selectStationRecord(key, records, Date.now())

export const validators: Record<string, ValidateFn> = { [DHT_NAMESPACE]: validateRecord }
export const selectors: Record<string, SelectFn> = { [DHT_NAMESPACE]: selectRecord }
