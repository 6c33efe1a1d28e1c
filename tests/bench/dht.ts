/**
 * DHT directory benchmark on 20 loopback relays: publish and resolve latency
 * over 50 stations and the time to list 200 stations, each beside a bare
 * kad-dht put/get of the same record bytes in the same run. Each relay runs
 * in a worker thread of its own (see relay-threads.ts); the publishers, the
 * reader and the bare client share the bench's thread.
 */
import { performance } from 'node:perf_hooks'
import { fetchSnapshot, listDirectory, openClient, publishStation, resolveStation } from '@openstudio/node'
import { generateStationKey, stationRecordKey } from '@openstudio/protocol'
import { clientOf, draftFor, publishThrough, stopAll, tcpAddr } from '../src/network.ts'
import { rawClient, rawPut } from '../src/raw-client.ts'
import { distribution, round } from './measure.ts'
import { startRelayThreads } from './relay-threads.ts'

const RELAYS = 20
const TIMED_STATIONS = 50
const LISTED_STATIONS = 200

export async function benchDht (): Promise<Record<string, unknown>> {
  const relays = await startRelayThreads(RELAYS)
  try {
    const routingTables = await Promise.all(relays.map(async (relay) => relay.dhtSize()))
    const publish: number[] = []
    const resolve: number[] = []
    const barePut: number[] = []
    const bareGet: number[] = []
    const failures: string[] = []
    const reader = await clientOf(relays[RELAYS - 1] ?? relays[0]!)
    const raw = await rawClient([tcpAddr(relays[RELAYS >> 1] ?? relays[0]!)])
    try {
      for (let i = 0; i < TIMED_STATIONS; i++) {
        const key = generateStationKey()
        const node = await openClient({ bootstrap: [tcpAddr(relays[i % RELAYS]!)], stationKey: key, allowPrivate: true })
        let record: Uint8Array
        try {
          const t0 = performance.now()
          record = (await publishStation({ ...node.services, peerId: node.peerId }, { key, draft: draftFor(i) })).record
          publish.push(performance.now() - t0)
        } finally {
          await node.stop()
        }
        const dhtKey = stationRecordKey(key.id)
        const t0 = performance.now()
        await rawPut(raw, dhtKey, record)
        barePut.push(performance.now() - t0)
        // Alternate which goes first, so neither gains from the other's warm connections.
        const ours = async (): Promise<void> => {
          const t = performance.now()
          try {
            await resolveStation(reader.services, key.id)
            resolve.push(performance.now() - t)
          } catch (err) {
            failures.push(`resolve ${key.id}: ${(err as Error).message}`)
          }
        }
        const bare = async (): Promise<void> => {
          const t = performance.now()
          for await (const _ of raw.services.dht.get(dhtKey)) { /* drain the query, as resolve does */ }
          bareGet.push(performance.now() - t)
        }
        if (i % 2 === 0) { await ours(); await bare() } else { await bare(); await ours() }
      }

      process.stderr.write(`bench: publishing ${LISTED_STATIONS - TIMED_STATIONS} more stations for the list…\n`)
      for (let i = TIMED_STATIONS; i < LISTED_STATIONS; i += 5) {
        await Promise.all([0, 1, 2, 3, 4].map(async (j) => {
          await publishThrough(relays[(i + j) % RELAYS]!, draftFor(i + j)).catch((err: Error) => { failures.push(`publish ${i + j}: ${err.message}`) })
        }))
      }
      // Our listing (relay record snapshots beside the provider search) against the DHT path alone.
      const t0 = performance.now()
      const listed = await listDirectory(reader.services, { snapshot: (relay, signal) => fetchSnapshot(reader, relay, { signal }), snapshotServers: reader.getPeers() })
      const listMs = performance.now() - t0
      const t1 = performance.now()
      const listedByDht = await listDirectory(reader.services)
      const dhtListMs = performance.now() - t1

      const resolveDist = distribution(resolve)
      const bareGetDist = distribution(bareGet)
      return {
        relays: RELAYS,
        layout: 'each relay in a worker thread of its own; publishers, reader and bare client in the bench\'s thread',
        routingTables: { min: Math.min(...routingTables), max: Math.max(...routingTables) },
        publishMs: { ...distribution(publish), bareDhtPut: distribution(barePut) },
        resolveMs: { ...resolveDist, bareDhtGet: bareGetDist, p50Ratio: round(resolveDist.p50 / bareGetDist.p50), goalRatio: 1.2 },
        list: { stations: listed.length, published: LISTED_STATIONS, ms: round(listMs), goalMs: 2000, dhtOnly: { stations: listedByDht.length, ms: round(dhtListMs) } },
        failures
      }
    } finally {
      await raw.stop()
      await reader.stop()
    }
  } finally {
    await stopAll(relays)
  }
}
