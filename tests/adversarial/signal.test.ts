/**
 * Random and almost-valid bytes on `/openstudio/signal/1`, the protocol a
 * studio serves to callers through its relay: a stranger opens signalling
 * streams to the studio (tests/src/room-studio.ts: the room authority behind
 * the shared SignalChannel) and sends garbage, huge declared lengths, and
 * real hellos and room messages with bytes changed. The studio node stays up,
 * nobody gets into the room without a live call, and a real caller still
 * gets in and follows the producer. Each stream is bounded in time.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { encodeSignal, generateStationKey, PROTOCOL, type SignalMessage } from '@openstudio/protocol'
import type { Relay } from '@openstudio/relay'
import { lengthPrefixed } from '../src/adversary.ts'
import { startRelay } from '../src/network.ts'
import { RoomCaller, RoomStudio } from '../src/room-studio.ts'
import { waitUntil } from '../src/wait.ts'

/** Streams the property sends. */
const RUNS = 40

describe('a studio fed random and almost-valid signalling', () => {
  let relay: Relay
  let studio: RoomStudio
  let stranger: RoomCaller

  beforeAll(async () => {
    relay = await startRelay()
    studio = await RoomStudio.start(relay)
    stranger = await RoomCaller.start(relay, studio.id)
  })

  afterAll(async () => {
    await stranger?.stop()
    await studio?.stop()
    await relay?.stop()
  })

  /** Opens a signalling stream to the studio, sends `bytes`, reads what comes back for a moment, and lets go. */
  async function send (bytes: Uint8Array): Promise<void> {
    const signal = AbortSignal.timeout(3_000)
    try {
      const connection = await stranger.node.dial(multiaddr(studio.circuit), { signal })
      const stream = await connection.newStream(PROTOCOL.signal, { runOnLimitedConnection: true, signal })
      try {
        stream.send(bytes)
        await stream.close({ signal })
        for await (const _ of stream) { /* drain whatever the studio answers */ }
      } catch (err) {
        stream.abort(err as Error)
      }
    } catch {
      // A refused or reset stream is an answer too.
    }
  }

  const valid: SignalMessage[] = [
    { type: 'hello', name: 'Fuzz' },
    { type: 'room', envelope: Uint8Array.of(0xa3, 0x61, 0x62, 0x40) },
    { type: 'candidate', candidate: null },
    { type: 'bye' }
  ]
  const inputs = fc.oneof(
    fc.uint8Array({ maxLength: 4096 }),
    fc.constant(Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3)),
    // A hello, then a message with bytes changed, each framed (or one of them not).
    fc.tuple(fc.constantFrom(...valid.map(encodeSignal)), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }), fc.boolean())
      .map(([message, flips, framed]) => {
        const out = Uint8Array.from(message)
        for (const [at, value] of flips) if (out.length > 0) out[at % out.length] = value
        const hello = lengthPrefixed(encodeSignal({ type: 'hello', name: 'Fuzz' }))
        return Uint8Array.from([...hello, ...(framed ? lengthPrefixed(out) : out)])
      })
  )

  it(`survives ${RUNS} hostile signalling streams; nobody is in the room without a call, and a real caller still gets in`, async () => {
    await fc.assert(fc.asyncProperty(inputs, async (bytes) => {
      await send(bytes)
      expect(studio.node.status).toBe('started')
    }), { numRuns: RUNS })
    // The streams reached the studio (a third of the inputs start with a real hello), and whatever
    // got in came with a hello on a live stream: the stranger, and nobody else.
    expect(studio.state.participants[stranger.id]).toBeDefined()
    expect(Object.keys(studio.state.participants).every((id) => id === stranger.id || id === studio.id)).toBe(true)
    const caller = await RoomCaller.start(relay, studio.id, generateStationKey())
    try {
      expect(await caller.call(studio, { name: 'After the fuzz' })).toBe('welcome')
      await studio.command({ type: 'admit', peer: caller.id })
      await studio.command({ type: 'mute', peer: caller.id })
      await waitUntil('the caller to follow the producer', () => caller.room.state.participants[caller.id]?.producerMuted === true)
      expect(caller.room.state.participants[caller.id]?.stage).toBe('on-air')
    } finally {
      await caller.stop()
    }
  })
})
