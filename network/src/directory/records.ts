/**
 * `/openstudio/records/2`: a relay sends the station records it holds, one
 * length-prefixed record per frame, then the directory providers it holds,
 * so that a listing needs neither one DHT get per station nor a provider
 * query. The reader verifies every record exactly as one from the DHT; a
 * relay can leave stations out (other relays' answers still hold them) but
 * cannot forge or roll one back.
 */
import { logger } from '@libp2p/logger'
import { lpStream } from '@libp2p/utils'
import {
  decodeProviderFrame, decodeRecordsRequest, directoryCid, encodeProviderFrame, encodeRecordsRequest, MAX_RECORD_BYTES, MAX_RECORDS_REQUEST_BYTES,
  MAX_SNAPSHOT_PROVIDERS, MAX_SNAPSHOT_RECORDS, PROTOCOL, PROVIDERS_PER_FRAME
} from '@openstudio/protocol'
import { recordCache, validateRecordCached } from '../libp2p/record-cache.ts'
import type { StoredRecord } from '../libp2p/dht-records.ts'
import type { ResolvedStation } from '../station/resolve.ts'
import type { AbortOptions, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

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

/** Where a relay's answer comes from: its DHT store. */
export interface SnapshotSource {
  /** The records to send, best first; those with `tag` when one is asked for (others are skipped here all the same). */
  records: (signal: AbortSignal, tag?: string) => AsyncIterable<StoredRecord>
  /** The station ids stored as providers of a directory key. */
  providers: (cid: CID, signal: AbortSignal) => AsyncIterable<string>
}

/** One item of a relay's answer: a verified station, or station ids that provide the directory key asked for. */
export type SnapshotItem = { station: ResolvedStation } | { providers: string[] }

/**
 * Registers the relay's side: every verified record from `source`, at most MAX_SNAPSHOT_RECORDS, then the providers.
 * @returns `unhandle`, which unregisters it
 */
export async function handleRecords (node: Pick<Libp2p, 'handle' | 'unhandle'>, source: SnapshotSource): Promise<() => Promise<void>> {
  await node.handle(PROTOCOL.records, async (stream: Stream, connection) => {
    const signal = AbortSignal.timeout(RECORDS_DEFAULTS.handlerTimeoutMs)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_RECORDS_REQUEST_BYTES })
      const request = decodeRecordsRequest((await lp.read({ signal })).subarray())
      const now = Date.now()
      const out = batchedWriter(lp, signal)
      let sent = 0
      for await (const { key, value } of source.records(signal, request.tag)) {
        if (sent >= MAX_SNAPSHOT_RECORDS) break
        // The DHT validator verified this record when it was stored: the cache answers without a second signature check.
        const verdict = validateRecordCached(key, value, now)
        if (!verdict.ok || (request.tag !== undefined && !verdict.value.tags.includes(request.tag))) continue
        await out.write(value)
        sent++
      }
      // An empty frame ends the records (a record is never empty).
      await out.write(new Uint8Array(0))
      let ids: string[] = []
      let providers = 0
      for await (const id of source.providers(directoryCid(request.tag), signal)) {
        if (providers >= MAX_SNAPSHOT_PROVIDERS) break
        ids.push(id)
        providers++
        if (ids.length === PROVIDERS_PER_FRAME) {
          await out.write(encodeProviderFrame(ids))
          ids = []
        }
      }
      if (ids.length > 0) await out.write(encodeProviderFrame(ids))
      await out.flush()
      await stream.close({ signal })
      log('sent %d records and %d providers to %p', sent, providers, connection.remotePeer)
    } catch (err) {
      log('records stream: %s', (err as Error).message)
      stream.abort(err as Error)
    }
  }, { runOnLimitedConnection: false, maxInboundStreams: RECORDS_DEFAULTS.maxInboundStreams })
  return async () => { await node.unhandle(PROTOCOL.records) }
}

/** Length-prefixed frames, written in batches of about RECORDS_DEFAULTS.batchBytes. */
function batchedWriter (lp: ReturnType<typeof lpStream>, signal: AbortSignal): { write: (frame: Uint8Array) => Promise<void>, flush: () => Promise<void> } {
  let batch: Uint8Array[] = []
  let bytes = 0
  const flush = async (): Promise<void> => {
    if (batch.length > 0) await lp.writeV(batch, { signal })
    batch = []
    bytes = 0
  }
  return {
    write: async (frame) => {
      batch.push(frame)
      bytes += frame.byteLength
      if (bytes >= RECORDS_DEFAULTS.batchBytes) await flush()
    },
    flush
  }
}

export interface FetchSnapshotInit extends AbortOptions {
  tag?: string
}

/**
 * Reads a relay's answer: its records, verified (records that fail
 * verification are skipped and logged), then the providers it holds. Ends
 * when the relay has sent it all; too many records or a provider frame that
 * does not decode end it with an error (what came before counts).
 */
export async function * fetchSnapshot (node: Pick<Libp2p, 'dialProtocol'>, relay: PeerId, init: FetchSnapshotInit = {}): AsyncGenerator<SnapshotItem> {
  const stream = await node.dialProtocol(relay, PROTOCOL.records, { signal: init.signal })
  try {
    const lp = lpStream(stream, { maxDataLength: MAX_RECORD_BYTES })
    await lp.write(encodeRecordsRequest({ tag: init.tag }), { signal: init.signal })
    const read = async (): Promise<Uint8Array | undefined> => {
      try {
        return (await lp.read({ signal: init.signal })).subarray()
      } catch (err) {
        if ((err as Error).name === 'UnexpectedEOFError') return undefined
        throw err
      }
    }
    for (let n = 0; ; n++) {
      const record = await read()
      if (record === undefined) return
      if (record.byteLength === 0) break
      if (n >= MAX_SNAPSHOT_RECORDS) throw new Error(`relay ${relay.toString()} sent more than ${MAX_SNAPSHOT_RECORDS} records`)
      const station = verifyRecord(record)
      if (station === undefined) log('relay %p sent a record that does not verify', relay)
      else yield { station }
    }
    for (let n = 0; n < MAX_SNAPSHOT_PROVIDERS; n += PROVIDERS_PER_FRAME) {
      const frame = await read()
      if (frame === undefined) return
      yield { providers: decodeProviderFrame(frame) }
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
