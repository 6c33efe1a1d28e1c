/**
 * Relay memory per 100 circuit relay reservations: a relay subprocess (as
 * station owners run it) is read through /health before and after 100
 * reachable clients reserved a slot on it.
 */
import { openClient, type OpenStudioNode } from '@openstudio/node'
import { generateStationKey } from '@openstudio/protocol'
import { startCliRelay } from '../src/cli.ts'
import { waitUntil } from '../src/wait.ts'

const CLIENTS = 100

interface Health { reservations: number, memory: { rssBytes: number, heapUsedBytes: number } }

export async function benchReservations (): Promise<Record<string, unknown>> {
  const relay = await startCliRelay(['--listen', '/ip4/127.0.0.1/tcp/0', '--http', '127.0.0.1:0', '--allow-private'])
  const health = async (): Promise<Health> => (await fetch(`${relay.http}/health`)).json() as Promise<Health>
  const clients: OpenStudioNode[] = []
  try {
    const idle = await health()
    for (let i = 0; i < CLIENTS; i += 10) {
      clients.push(...await Promise.all(Array.from({ length: 10 }, async () =>
        openClient({ bootstrap: [relay.addrs[0] as string], stationKey: generateStationKey(), allowPrivate: true }))))
    }
    const loaded = await waitUntil('100 reservations', async () => { const h = await health(); return h.reservations >= CLIENTS && h })
    const mib = (b: number): number => Math.round(b / 1024 / 1024 * 10) / 10
    return {
      reservations: loaded.reservations,
      idleRelay: { rssMiB: mib(idle.memory.rssBytes), heapUsedMiB: mib(idle.memory.heapUsedBytes) },
      per100Reservations: {
        rssMiB: mib(loaded.memory.rssBytes - idle.memory.rssBytes),
        heapUsedMiB: mib(loaded.memory.heapUsedBytes - idle.memory.heapUsedBytes)
      }
    }
  } finally {
    await Promise.all(clients.map(async (c) => c.stop()))
    await relay.stop()
  }
}
