/**
 * A peer that stops answering for longer than libp2p's 5 s ping timeout and
 * then comes back, as a studio's browser does when a burst of calls keeps it
 * busy, keeps its connection to the relay, and with it its reservation.
 */
import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { peerIdFromString } from '@libp2p/peer-id'
import { PING_INTERVAL_MS, PING_TIMEOUT_MIN_MS } from '@openstudio/network'
import { afterAll, describe, expect, it } from 'vitest'
import { startRelay, tcpAddr } from '../src/network.ts'
import { waitUntil } from '../src/wait.ts'

const STALLING_PEER = fileURLToPath(new URL('../src/stalling-peer.ts', import.meta.url))
/** libp2p's own floor for a ping: a connection whose ping took longer was aborted. */
const LIBP2P_PING_TIMEOUT_MS = 5_000

describe('a peer that stalls', () => {
  const cleanup: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn()
  })

  it('keeps its relay connection through a stall longer than libp2p\'s ping timeout', async () => {
    expect(PING_TIMEOUT_MIN_MS).toBeGreaterThan(LIBP2P_PING_TIMEOUT_MS + 1_000)
    // Two pings on one connection would exceed its one outbound ping stream, and the monitor would abort it.
    expect(PING_INTERVAL_MS).toBeGreaterThan(PING_TIMEOUT_MIN_MS)
    const relay = await startRelay()
    cleanup.push(async () => relay.stop())
    const peer = spawn(process.execPath, ['--import', 'tsx', STALLING_PEER, tcpAddr(relay)], { stdio: ['ignore', 'pipe', 'inherit'] })
    cleanup.push(async () => {
      peer.kill('SIGCONT')
      peer.kill('SIGTERM')
      if (peer.exitCode === null) await once(peer, 'exit')
    })
    const [line] = await once(createInterface({ input: peer.stdout }), 'line') as [string]
    const peerId = peerIdFromString(line)
    const connection = await waitUntil('the peer\'s connection at the relay', () => relay.node.getConnections(peerId)[0])

    peer.kill('SIGSTOP')
    // The relay's next ping goes unanswered; with libp2p's defaults the connection was aborted 5 s into it.
    const stalledFor = LIBP2P_PING_TIMEOUT_MS + 1_000
    const stalled = await waitUntil(`a ping of the relay's unanswered for ${stalledFor} ms`, () => connection.status === 'open' &&
      connection.streams.find((s) => s.direction === 'outbound' && Date.now() - s.timeline.open > stalledFor), PING_INTERVAL_MS + stalledFor + 5_000)
    peer.kill('SIGCONT')

    // That ping is answered and ends, and the peer answers the next one on the same connection.
    await waitUntil('the stalled ping to end', () => stalled.status !== 'open')
    expect(stalled.status).toBe('closed')
    expect(await relay.node.services.ping.ping(peerId)).toBeGreaterThanOrEqual(0)
    expect(connection.status).toBe('open')
    expect(relay.node.getConnections(peerId)).toContain(connection)
  })
})
