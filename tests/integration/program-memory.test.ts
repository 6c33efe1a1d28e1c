/**
 * A hostile studio cannot grow the relay's memory through its program: Ogg
 * pages whose granule position never advances claim no audio, so a ring
 * bounded by time alone kept every one of them. A relay whose Icecast is
 * unreachable takes ~20 MiB of such pages over the real protocol from the
 * station's own node, and holds no more than its `bufferBytes`.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openClient, ProgramSender, type OpenStudioNode, type SourceStatus } from '@openstudio/node'
import { buildManifest, generateStationKey, OGG_FLAG, opusHead, opusTags, signManifest, writeOggPage, type ProgramStart, type StationKey } from '@openstudio/protocol'
import type { Relay } from '@openstudio/relay'
import { draftFor, startRelay, tcpAddr } from '../src/network.ts'
import { waitUntil } from '../src/wait.ts'

/** The ring's bound in this test. */
const BUFFER_BYTES = 256 * 1024
/** What the studio sends: 20 MiB, 80 times the bound. */
const TOTAL_BYTES = 20 * 1024 * 1024
/** Audio packet per page (a 4 KiB page: 320 kb/s would make that 100 ms, but the granule says 0). */
const PACKET_BYTES = 4096
/** The sender's queue is topped up to this, then drained below `QUEUE_LOW_BYTES` (the studio's queue drops its oldest beyond 2 MiB). */
const QUEUE_HIGH_BYTES = 1024 * 1024
const QUEUE_LOW_BYTES = 256 * 1024
/** The relay's memory may grow this much: well under what was sent, so a ring that kept the pages fails. */
const MAX_GROWTH_BYTES = 16 * 1024 * 1024
/** Where nothing listens (the discard port): the source keeps reconnecting, and nothing leaves the ring. */
const NO_ICECAST = 'http://127.0.0.1:9'

/** V8's collector, so that memory is read without garbage (node is not started with --expose-gc). */
const collect = ((): () => void => {
  setFlagsFromString('--expose-gc')
  return runInNewContext('gc') as () => void
})()

/** Memory the process holds after a full collection: the JS heap and the array buffers outside it (Ogg pages live there). */
function heldBytes (): number {
  collect()
  collect()
  const { heapUsed, arrayBuffers } = process.memoryUsage()
  return heapUsed + arrayBuffers
}

describe('program memory: a relay holds at most bufferBytes of a program it cannot deliver', () => {
  let relay: Relay
  let station: StationKey
  let node: OpenStudioNode

  beforeAll(async () => {
    station = generateStationKey()
    // The studio's pages as they came (no lean pages), so that the ring's bytes in are the bytes sent. The repager's
    // own bound (a page never holds more than 64 KiB, whatever the granules say) is tested in protocol/test/ogg.test.ts.
    relay = await startRelay({ program: { stations: ['*'], icecastUrl: NO_ICECAST, icecastPassword: 'x', bufferBytes: BUFFER_BYTES, oggPageMs: 0 } })
    // The studio's node is the station: its libp2p identity is the station key.
    node = await openClient({ bootstrap: [tcpAddr(relay)], stationKey: station, allowPrivate: true })
  }, 60_000)

  afterAll(async () => {
    await node?.stop()
    await relay?.stop()
  })

  it('keeps ~20 MiB of pages whose granule never advances within the byte bound, drops the oldest, and counts them lost', async () => {
    const start: ProgramStart = {
      type: 'start',
      record: signManifest(buildManifest(station.id, draftFor(1), { seq: 1, now: Date.now() }), station).record,
      format: 'ogg-opus',
      bitrate: 256,
      channels: 2,
      sampleRate: 48_000
    }
    const sender = await ProgramSender.open(node, relay.node.peerId, start)
    const status = (): SourceStatus | undefined => relay.program?.current?.status
    const serial = 0x05ca1ab1
    sender.send(writeOggPage({ flags: OGG_FLAG.bos, granule: 0n, serial, sequence: 0, packets: [opusHead({ channels: 2, preSkip: 312 })] }))
    sender.send(writeOggPage({ granule: 0n, serial, sequence: 1, packets: [opusTags('program-memory test')] }))
    await waitUntil('the relay to take the program', () => relay.program?.current !== undefined)

    const before = heldBytes()
    const packet = new Uint8Array(PACKET_BYTES).fill(0x5a)
    let sent = 0
    let sequence = 2
    let maxBuffered = 0
    while (sent < TOTAL_BYTES) {
      while (sent < TOTAL_BYTES && sender.queuedBytes < QUEUE_HIGH_BYTES) {
        // The same granule on every page: no audio, as far as the granule says.
        const page = writeOggPage({ granule: 960n, serial, sequence: sequence++, packets: [packet] })
        sender.send(page)
        sent += page.length
      }
      await waitUntil('the link to take the studio\'s queue', () => !sender.open || sender.queuedBytes < QUEUE_LOW_BYTES)
      expect(sender.open).toBe(true)
      maxBuffered = Math.max(maxBuffered, status()?.bufferedBytes ?? 0)
    }
    expect(sender.bytesDropped).toBe(0)
    const last = await waitUntil('the relay to have every page', () => {
      const s = status()
      return s !== undefined && s.bytesIn >= sent ? s : undefined
    })
    const growth = heldBytes() - before

    expect(last.bytesIn).toBe(sent)
    expect(last.bytesOut).toBe(0)
    expect(Math.max(maxBuffered, last.bufferedBytes)).toBeLessThanOrEqual(BUFFER_BYTES)
    // The ring is full, the rest was dropped oldest first and counted: nothing reached Icecast, so what is not held is lost.
    expect(last.bufferedBytes).toBeGreaterThan(BUFFER_BYTES / 2)
    expect(last.lostBytes + last.bufferedBytes).toBe(sent)
    expect(last.lostMs).toBe(0)
    expect(last.bufferedMs).toBe(0)
    expect(growth).toBeLessThan(MAX_GROWTH_BYTES)
    await sender.end()
  }, 60_000)
})
