/**
 * Resolving a station by its id: DHT get, then validate every record found,
 * then select the best. Only a verified manifest is ever returned.
 */
import { logger } from '@libp2p/logger'
import { bytesEqual, selectStationRecord, stationIdToBytes, stationRecordKey, type Manifest } from '@openstudio/protocol'
import { validateRecordCached } from '../libp2p/record-cache.ts'
import { InvalidRecordError, StationNotFoundError, TimeoutError } from '../errors.ts'
import type { KadDHT } from '@libp2p/kad-dht'

const log = logger('openstudio:resolve')

/** Default time a resolve may take. */
export const RESOLVE_TIMEOUT_MS = 10_000

export interface ResolveComponents {
  dht: Pick<KadDHT, 'get'>
}

export interface ResolveInit {
  /** @default RESOLVE_TIMEOUT_MS */
  timeoutMs?: number
  signal?: AbortSignal
}

export interface ResolvedStation {
  manifest: Manifest
  /** The signed record the manifest came from. */
  record: Uint8Array
}

/**
 * Resolves a station id to its newest verified manifest.
 * @throws {InvalidStationIdError} for an id that is not an Ed25519 PeerId
 * @throws {StationNotFoundError} when no record exists
 * @throws {InvalidRecordError} when records exist but none verifies
 * @throws {TimeoutError} when the DHT did not answer in time
 */
export async function resolveStation (components: ResolveComponents, stationId: string, init: ResolveInit = {}): Promise<ResolvedStation> {
  stationIdToBytes(stationId)
  const key = stationRecordKey(stationId)
  const timeoutMs = init.timeoutMs ?? RESOLVE_TIMEOUT_MS
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = init.signal === undefined ? timeout : AbortSignal.any([init.signal, timeout])
  let found = await query(components, key, signal)
  // A query that failed outright (every peer erred) is worth one more try; a clean "not found" is not.
  if (found.records.length === 0 && found.failure !== undefined && found.failure.name !== 'NotFoundError' && !signal.aborted) {
    log('get %s failed (%s), trying again', stationId, found.failure.message)
    found = await query(components, key, signal)
  }
  if (found.records.length === 0) {
    if (timeout.aborted) throw new TimeoutError(`no answer for station ${stationId} within ${timeoutMs} ms`)
    if (init.signal?.aborted === true) throw init.signal.reason
  }
  return pickBest(stationId, key, found.records, found.rejections)
}

interface QueryOutcome {
  records: Uint8Array[]
  rejections: string[]
  failure?: Error
}

async function query (components: ResolveComponents, key: Uint8Array, signal: AbortSignal): Promise<QueryOutcome> {
  const outcome: QueryOutcome = { records: [], rejections: [] }
  try {
    for await (const event of components.dht.get(key, { signal })) {
      // Every server hands back its copy; most are the same bytes.
      if (event.name === 'VALUE') {
        if (!outcome.records.some((r) => bytesEqual(r, event.value))) outcome.records.push(event.value)
      } else if (event.name === 'QUERY_ERROR' && /invalid record/i.test(event.error.message)) {
        outcome.rejections.push(`${event.from.toString()}: ${event.error.message}`)
      }
    }
  } catch (err) {
    outcome.failure = err as Error
    log('get ended: %s', outcome.failure.message)
  }
  return outcome
}

function pickBest (stationId: string, key: Uint8Array, records: Uint8Array[], rejections: string[]): ResolvedStation {
  const now = Date.now()
  const verified: ResolvedStation[] = []
  const reasons = [...rejections]
  for (const record of records) {
    const verdict = validateRecordCached(key, record, now)
    if (verdict.ok) verified.push({ manifest: verdict.value, record })
    else reasons.push(`${verdict.error.name}: ${verdict.error.message}`)
  }
  if (verified.length === 0) {
    if (reasons.length > 0) throw new InvalidRecordError(`station ${stationId} has only invalid records`, reasons)
    throw new StationNotFoundError(`station ${stationId} was not found`)
  }
  return verified[selectStationRecord(key, verified.map((v) => v.record), now, validateRecordCached)] as ResolvedStation
}
