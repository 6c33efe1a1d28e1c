/**
 * Whom a relay counts as one host, and whom it keeps: behind a trusted
 * proxy every peer counts as its own host (its connections all come from the
 * proxy's address), and a served station's studio is tagged so that
 * connection pruning drops it last. See docs/relay-limits.md.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { openClient, type OpenStudioNode } from '@openstudio/node'
import { generateStationKey } from '@openstudio/protocol'
import { STATION_TAG, type Relay } from '@openstudio/relay'
import { startRelay, tcpAddr } from '../src/network.ts'
import { waitUntil } from '../src/wait.ts'

const HOP = '/libp2p/circuit/relay/0.2.0/hop'

/** Whether a raw hop RESERVE from `node` gets status OK (100). */
async function reserves (node: OpenStudioNode, relay: Relay): Promise<boolean> {
  const stream = await node.dialProtocol(multiaddr(tcpAddr(relay)), HOP)
  stream.send(Uint8Array.of(0x02, 0x08, 0x00))
  const bytes: number[] = []
  for await (const chunk of stream) {
    bytes.push(...(chunk instanceof Uint8Array ? chunk : chunk.subarray()))
    if (bytes.length > 0 && bytes.length >= 1 + (bytes[0] as number)) break
  }
  await stream.close().catch((err: Error) => { stream.abort(err) })
  // HopMessage: the status field (5, varint) 100 is `28 64`.
  return bytes.some((b, i) => b === 0x28 && bytes[i + 1] === 100)
}

describe('relay hosts', () => {
  const nodes: OpenStudioNode[] = []
  const relays: Relay[] = []

  afterEach(async () => {
    await Promise.all(nodes.splice(0).map(async (n) => n.stop()))
    await Promise.all(relays.splice(0).map(async (r) => r.stop()))
  })

  async function peers (relay: Relay, n: number): Promise<OpenStudioNode[]> {
    const out = await Promise.all(Array.from({ length: n }, async () => openClient({ bootstrap: [tcpAddr(relay)], allowPrivate: true })))
    nodes.push(...out)
    return out
  }

  it('counts every peer behind a trusted proxy as its own host, and all others from one address as one', async () => {
    const strict = await startRelay({ limits: { reservationsPerHost: 1 } })
    const trusting = await startRelay({ limits: { reservationsPerHost: 1, inbound: { exemptHosts: ['127.0.0.1'] } } })
    relays.push(strict, trusting)
    const [a, b] = await peers(strict, 2) as [OpenStudioNode, OpenStudioNode]
    expect(await reserves(a, strict)).toBe(true)
    expect(await reserves(b, strict)).toBe(false)
    const [c, d] = await peers(trusting, 2) as [OpenStudioNode, OpenStudioNode]
    expect(await reserves(c, trusting)).toBe(true)
    expect(await reserves(d, trusting)).toBe(true)
  })

  it('tags a served station\'s studio so that pruning drops it last, and nobody else', async () => {
    const station = generateStationKey()
    const relay = await startRelay({ stations: [station.id] })
    relays.push(relay)
    const studio = await openClient({ bootstrap: [tcpAddr(relay)], stationKey: station, allowPrivate: true })
    nodes.push(studio)
    const [stranger] = await peers(relay, 1) as [OpenStudioNode]
    await waitUntil('the studio tagged', async () => (await relay.node.peerStore.get(studio.peerId)).tags.get(STATION_TAG)?.value === 100)
    expect((await relay.node.peerStore.get(stranger.peerId)).tags.has(STATION_TAG)).toBe(false)
  })
})
