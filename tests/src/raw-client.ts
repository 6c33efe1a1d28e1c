/**
 * A raw libp2p DHT client with no OpenStudio rules: it accepts and pushes any
 * record, as an attacker's node would.
 */
import { identify } from '@libp2p/identify'
import { kadDHT, passthroughMapper, type KadDHT } from '@libp2p/kad-dht'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { PROTOCOL } from '@openstudio/protocol'
import { createLibp2p, type Libp2p } from 'libp2p'
import { dhtSize } from './network.ts'
import { waitUntil } from './wait.ts'
import type { OpenStudioNode } from '@openstudio/node'

export type RawClient = Libp2p<{ dht: KadDHT, identify: ReturnType<ReturnType<typeof identify>>, ping: ReturnType<ReturnType<typeof ping>> }>

export async function rawClient (relays: string[]): Promise<RawClient> {
  const node = await createLibp2p({
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionGater: { denyDialMultiaddr: () => false },
    services: {
      identify: identify(),
      ping: ping(),
      dht: kadDHT({
        protocol: PROTOCOL.kad,
        clientMode: true,
        peerInfoMapper: passthroughMapper,
        validators: { openstudio: () => {} },
        selectors: { openstudio: () => 0 },
        initialQuerySelfInterval: 0
      })
    }
  })
  await Promise.all(relays.map(async (addr) => node.dial(multiaddr(addr))))
  await waitUntil('the raw client to have DHT peers', () => dhtSize(node as unknown as OpenStudioNode) > 0)
  return node
}

/** Pushes a record into the DHT; returns the peers that confirmed storing it. */
export async function rawPut (client: RawClient, key: Uint8Array, value: Uint8Array): Promise<{ stored: string[], refused: number }> {
  const stored: string[] = []
  let refused = 0
  for await (const event of client.services.dht.put(key, value)) {
    if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE') stored.push(event.from.toString())
    if (event.name === 'QUERY_ERROR') refused++
  }
  return { stored, refused }
}
