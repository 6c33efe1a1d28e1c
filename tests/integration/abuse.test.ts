/**
 * Abuse: a flood of reservation requests from one peer and a flood of garbage
 * on the DHT protocol. The relay stays up, /health answers, and well-behaved
 * peers still publish and resolve.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { resolveStation } from '@openstudio/node'
import { PROTOCOL } from '@openstudio/protocol'
import type { Relay } from '@openstudio/relay'
import { STREAM_LIMITS } from '@openstudio/network'
import { waitUntil } from '../src/wait.ts'
import { clientOf, draftFor, publishThrough, startRelay, stopAll, tcpAddr } from '../src/network.ts'
import { rawClient, type RawClient } from '../src/raw-client.ts'

const HOP = '/libp2p/circuit/relay/0.2.0/hop'
/** A length-prefixed HopMessage { type: RESERVE }. */
const RESERVE = Uint8Array.of(0x02, 0x08, 0x00)

describe('relay under abuse', () => {
  let relay: Relay
  let attacker: RawClient

  beforeAll(async () => {
    relay = await startRelay({ http: { host: '127.0.0.1', port: 0 }, relayServer: { maxReservations: 64 } })
    attacker = await rawClient([tcpAddr(relay)])
  })

  afterAll(async () => {
    await attacker?.stop()
    await stopAll(relay === undefined ? [] : [relay])
  })

  async function health (): Promise<{ status: string, reservations: number }> {
    const { host, port } = relay.httpAddress ?? { host: '', port: 0 }
    const res = await fetch(`http://${host}:${port}/health`)
    expect(res.status).toBe(200)
    return res.json() as Promise<{ status: string, reservations: number }>
  }

  it('survives 200 reservation attempts from one peer', async () => {
    const target = multiaddr(tcpAddr(relay))
    const attempts = await inBatches(200, async () => {
      const stream = await attacker.dialProtocol(target, HOP)
      stream.send(RESERVE)
      await stream.close()
    })
    expect(attempts.filter((a) => a.status === 'fulfilled').length).toBeGreaterThan(150)
    const h = await health()
    expect(h.status).toBe('ok')
    expect(h.reservations).toBeLessThanOrEqual(1)
  })

  it('survives a flood of garbage on the DHT protocol', async () => {
    const target = multiaddr(tcpAddr(relay))
    const sent = await inBatches(200, async (i) => {
      const stream = await attacker.dialProtocol(target, PROTOCOL.kad)
      // Random bytes, a huge declared length, or a truncated frame.
      const payload = i % 3 === 0 ? randomBytes(512) : i % 3 === 1 ? Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0x0f, 1, 2, 3) : Uint8Array.of(0x40, 1, 2)
      stream.send(payload)
      await stream.close()
    })
    expect(sent.filter((a) => a.status === 'fulfilled').length).toBeGreaterThan(150)
    expect((await health()).status).toBe('ok')
  })

  it('holds at most its limit of one peer\'s streams of a protocol, and resets the rest', async () => {
    const target = multiaddr(tcpAddr(relay))
    // Each stream sends the start of a kad message and never the rest, so the relay's handler holds it.
    const streams = await Promise.all(Array.from({ length: STREAM_LIMITS.kad + 16 }, async () => {
      const stream = await attacker.dialProtocol(target, PROTOCOL.kad)
      if (stream.status === 'open') stream.send(Uint8Array.of(0x64, 0x08))
      return stream
    }))
    const held = (): number => relay.node.getConnections(attacker.peerId)
      .flatMap((c) => c.streams).filter((s) => s.direction === 'inbound' && s.protocol === PROTOCOL.kad).length
    await waitUntil('the relay to reset the streams past the limit', () => streams.filter((s) => s.status === 'reset').length >= 16)
    expect(held()).toBe(STREAM_LIMITS.kad)
    for (const stream of streams) stream.abort(new Error('done'))
    expect((await health()).status).toBe('ok')
  })

  it('still serves well-behaved peers', async () => {
    const published = await publishThrough(relay, draftFor(9))
    expect(published.storedOn).toBe(1)
    const client = await clientOf(relay)
    try {
      expect((await resolveStation(client.services, published.id)).manifest.name).toBe(draftFor(9).name)
    } finally {
      await client.stop()
    }
    expect(relay.node.status).toBe('started')
  })
})

/** Runs `n` attempts, 10 at a time (within a peer's stream limits, so each one reaches the relay). */
async function inBatches (n: number, attempt: (i: number) => Promise<void>): Promise<Array<PromiseSettledResult<void>>> {
  const results: Array<PromiseSettledResult<void>> = []
  for (let i = 0; i < n; i += 10) {
    results.push(...await Promise.allSettled(Array.from({ length: Math.min(10, n - i) }, async (_, j) => attempt(i + j))))
  }
  return results
}
