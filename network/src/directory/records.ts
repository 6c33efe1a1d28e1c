/**
 * `/openstudio/records/1`: a relay sends the station records it holds, one
 * length-prefixed record per frame, so that a listing does not need one DHT
 * get per station. The reader verifies every record exactly as one from the
 * DHT; a relay can leave stations out (the provider search still finds
 * them) but cannot forge or roll one back.
 */
import { logger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import {
  decodeRecordsRequest, encodeRecordsRequest, MAX_RECORD_BYTES, MAX_RECORDS_REQUEST_BYTES, MAX_SNAPSHOT_RECORDS, PROTOCOL
} from '@openstudio/protocol'
import { recordCache, validateRecordCached } from '../libp2p/record-cache.ts'
import type { StoredRecord } from '../libp2p/dht-records.ts'
import type { ResolvedStation } from '../station/resolve.ts'
import type { AbortOptions, Libp2p, PeerId, Stream } from '@libp2p/interface'

const log = logger('openstudio:directory:records')

export const RECORDS_DEFAULTS = {
  /** A relay stops serving a stream after this long. */
  handlerTimeoutMs: 10_000,
  /** Concurrent snapshot streams per connection. */
  maxInboundStreams: 2,
  /** Relays a listing in the browser asks for their records (each costs a verification per record). */
  relaysAsked: 2,
  /**
   * A relay sends its records in writes of about this many bytes. Each write
   * is a muxer frame and an encrypted message of its own: one per record
   * made 190 frames of a 190-record snapshot, each costing both sides.
   */
  batchBytes: 16 * 1024
} as const

/** Where a relay's records come from: its DHT store. */
export type RecordSource = (signal: AbortSignal) => AsyncIterable<StoredRecord>

/** Registers the relay's side: every verified record from `source`, at most MAX_SNAPSHOT_RECORDS. */
export async function handleRecords (node: Pick<Libp2p, 'handle'>, source: RecordSource): Promise<void> {
  await node.handle(PROTOCOL.records, async (stream: Stream, connection) => {
    const signal = AbortSignal.timeout(RECORDS_DEFAULTS.handlerTimeoutMs)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_RECORDS_REQUEST_BYTES })
      const request = decodeRecordsRequest((await lp.read({ signal })).subarray())
      const now = Date.now()
      let sent = 0
      let batch: Uint8Array[] = []
      let batchBytes = 0
      const flush = async (): Promise<void> => {
        if (batch.length > 0) await lp.writeV(batch, { signal })
        batch = []
        batchBytes = 0
      }
      for await (const { key, value } of source(signal)) {
        if (sent >= MAX_SNAPSHOT_RECORDS) break
        // The DHT validator verified this record when it was stored: the cache answers without a second signature check.
        const verdict = validateRecordCached(key, value, now)
        if (!verdict.ok || (request.tag !== undefined && !verdict.value.tags.includes(request.tag))) continue
        batch.push(value)
        batchBytes += value.byteLength
        sent++
        if (batchBytes >= RECORDS_DEFAULTS.batchBytes) await flush()
      }
      await flush()
      await stream.close({ signal })
      log('sent %d records to %p', sent, connection.remotePeer)
    } catch (err) {
      log('records stream: %s', (err as Error).message)
      stream.abort(err as Error)
    }
  }, { runOnLimitedConnection: false, maxInboundStreams: RECORDS_DEFAULTS.maxInboundStreams })
}

export interface FetchRecordsInit extends AbortOptions {
  tag?: string
}

/**
 * Reads a relay's records, verified; records that fail verification are
 * skipped and logged. Ends when the relay has sent them all.
 */
export async function * fetchRecords (node: Pick<Libp2p, 'dialProtocol'>, relay: PeerId, init: FetchRecordsInit = {}): AsyncGenerator<ResolvedStation> {
  const stream = await node.dialProtocol(relay, PROTOCOL.records, { signal: init.signal })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_RECORD_BYTES })
    await lp.write(encodeRecordsRequest({ tag: init.tag }), { signal: init.signal })
    for (let n = 0; n < MAX_SNAPSHOT_RECORDS; n++) {
      let frame
      try {
        frame = await lp.read({ signal: init.signal })
      } catch (err) {
        if ((err as Error).name === 'UnexpectedEOFError') return
        throw err
      }
      const record = frame.subarray()
      const station = verifyRecord(record)
      if (station === undefined) log('relay %p sent a record that does not verify', relay)
      else yield station
    }
  } finally {
    await stream.close().catch((err: Error) => { stream.abort(err) })
  }
}

/** Verifies a record on its own, as a DHT server does (its station id is inside); records seen before cost no second check. */
function verifyRecord (record: Uint8Array): ResolvedStation | undefined {
  const verdict = recordCache.verify(record, Date.now())
  return verdict.ok ? { manifest: verdict.value, record } : undefined
}
