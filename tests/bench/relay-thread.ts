/**
 * One relay in a worker thread (see relay-threads.ts): started with the
 * RelayThreadInit in `workerData`, it answers its parent's calls until it is
 * asked to stop.
 */
import '@openstudio/node/polyfill'
import { parentPort, workerData } from 'node:worker_threads'
import { dhtSize, selfWalk, startRelay } from '../src/network.ts'
import type { RelayCall, RelayReply, RelayThreadInit } from './relay-threads.ts'

const port = parentPort
if (port === null) throw new Error('relay-thread.ts runs in a worker thread')
const relay = await startRelay(workerData as RelayThreadInit)

port.on('message', (call: RelayCall) => {
  void answer(call).then((reply) => { port.postMessage(reply) })
})
port.postMessage({ id: 0, value: { peerId: relay.peerId, multiaddrs: relay.multiaddrs } } satisfies RelayReply)

async function answer ({ id, op }: RelayCall): Promise<RelayReply> {
  try {
    switch (op) {
      case 'dhtSize': return { id, value: dhtSize(relay.node) }
      case 'selfWalk': await selfWalk(relay.node); return { id }
      case 'stop':
        await relay.stop()
        port?.close()
        return { id }
    }
  } catch (err) {
    return { id, error: (err as Error).message }
  }
}
