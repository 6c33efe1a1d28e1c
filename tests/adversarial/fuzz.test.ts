/**
 * Random and almost-valid bytes to every protocol a relay process serves
 * (kad, records, program, TURN), from a stranger's node on its own loopback
 * address. No input may crash the relay or make it hold unbounded memory, and
 * well-behaved peers still work afterwards. Each property runs a bounded
 * number of streams, each bounded in time.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeProgramUp, encodeTurnRequest, generateStationKey, PROTOCOL } from '@openstudio/protocol'
import { attackerHost, lengthPrefixed, MEMORY_CEILING_BYTES, startTarget, strangerNode, wellBehaved, type Target } from '../src/adversary.ts'
import { removeDir, tempDir } from '../src/network.ts'
import type { OpenStudioNode } from '@openstudio/node'

/** Streams per protocol. */
const RUNS = 40

describe('a relay fed random and almost-valid bytes', () => {
  let target: Target
  let stranger: OpenStudioNode
  let dir: string
  let idleRss: number

  beforeAll(async () => {
    dir = await tempDir('openstudio-fuzz-')
    await writeFile(join(dir, 'turn-secret'), 'fuzz-turn-secret\n')
    await writeFile(join(dir, 'icecast-password'), 'fuzz\n')
    target = await startTarget([
      '--turn-url', 'turn:127.0.0.1:3478?transport=udp', '--turn-secret-file', join(dir, 'turn-secret'),
      // Nothing listens on port 9: the program ingest runs, and its Icecast never answers.
      '--icecast', 'http://127.0.0.1:9', '--icecast-password-file', join(dir, 'icecast-password')
    ])
    stranger = await strangerNode(target, attackerHost(10))
    idleRss = (await target.health()).memory.rssBytes
  })

  afterAll(async () => {
    await stranger?.stop()
    await target?.stop()
    if (dir !== undefined) await removeDir(dir)
  })

  /** Sends `bytes` on a new stream of `protocol`, reads what comes back for a moment, and lets go. */
  async function send (protocol: string, bytes: Uint8Array): Promise<void> {
    const signal = AbortSignal.timeout(3_000)
    let stream
    try {
      stream = await stranger.dialProtocol(multiaddr(target.tcp), protocol, { signal })
    } catch {
      // A refused stream (a limit) is an answer too.
      return
    }
    try {
      stream.send(bytes)
      await stream.close({ signal })
      for await (const _ of stream) { /* drain whatever the relay answers */ }
    } catch (err) {
      stream.abort(err as Error)
    }
  }

  /** Random bytes, a huge declared length, or a valid message with bytes changed, each length-prefixed or not. */
  function inputs (valid: Uint8Array[]): fc.Arbitrary<Uint8Array> {
    return fc.oneof(
      fc.uint8Array({ maxLength: 4096 }),
      fc.constant(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3)),
      fc.tuple(fc.constantFrom(...valid), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.boolean())
        .map(([message, flips, prefixed]) => {
          const out = Uint8Array.from(message)
          for (const [at, value] of flips) if (out.length > 0) out[at % out.length] = value
          return prefixed ? lengthPrefixed(out) : out
        })
    )
  }

  const station = generateStationKey().id
  const cases: Array<[string, Uint8Array[]]> = [
    [PROTOCOL.kad, [Uint8Array.of(0x08, 0x00, 0x12, 0x04, 1, 2, 3, 4)]],
    [PROTOCOL.records, [Uint8Array.of(0xa0)]],
    [PROTOCOL.program, [
      encodeProgramUp({ type: 'start', record: Uint8Array.of(1, 2, 3), format: 'ogg-opus', bitrate: 96, channels: 2, sampleRate: 48_000 }),
      encodeProgramUp({ type: 'data', bytes: new TextEncoder().encode('OggS') })
    ]],
    [PROTOCOL.turn, [encodeTurnRequest({ room: station })]]
  ]

  for (const [protocol, valid] of cases) {
    it(`survives ${RUNS} hostile streams on ${protocol}`, async () => {
      await fc.assert(fc.asyncProperty(inputs(valid), async (bytes) => {
        await send(protocol, bytes)
        expect(target.alive()).toBe(true)
      }), { numRuns: RUNS })
      expect((await target.health()).status).toBe('ok')
      expect((await target.health()).memory.rssBytes - idleRss).toBeLessThan(MEMORY_CEILING_BYTES)
    })
  }

  it('still serves well-behaved peers afterwards', async () => {
    await wellBehaved(target)
  })
})
