/**
 * A bare libp2p peer for a child process that a test stops and resumes
 * (SIGSTOP/SIGCONT), as a busy browser stalls: it dials the relay given as
 * its argument, prints its peer id, and answers pings. It pings nobody
 * itself, so that only the relay's side of the connection is judged.
 */
import '@openstudio/node/polyfill'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { ping } from '@libp2p/ping'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'

const relay = process.argv[2]
if (relay === undefined) throw new Error('usage: stalling-peer.ts RELAY_MULTIADDR')
const node = await createLibp2p({
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionGater: { denyDialMultiaddr: () => false },
  connectionMonitor: { enabled: false },
  services: { identify: identify(), ping: ping() }
})
await node.dial(multiaddr(relay))
process.stdout.write(`${node.peerId.toString()}\n`)
process.on('SIGTERM', () => { void Promise.resolve(node.stop()).finally(() => process.exit(0)) })
