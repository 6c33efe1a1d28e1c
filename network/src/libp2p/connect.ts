/**
 * Joining the network through relays: dial the given multiaddrs, and wait
 * until the DHT has a peer to ask (and, for a station's own node, until a relay
 * reservation gives it an address others can reach).
 */
import { logger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { NoRelayError, TimeoutError } from '../errors.ts'
import type { OpenStudioNode } from './create-node.ts'

const log = logger('openstudio:connect')

export const CONNECT_TIMEOUT_MS = 10_000

export interface ConnectInit {
  /** @default 10 s */
  timeoutMs?: number
  signal?: AbortSignal
  /** Also wait for a circuit relay address (a reservation). @default false */
  reachable?: boolean
}

/**
 * Dials the relays and waits until the node can use the DHT.
 * @throws {NoRelayError} when no relay could be dialled
 * @throws {TimeoutError} when the DHT (or a reservation) is not ready in time
 */
export async function connectToRelays (node: OpenStudioNode, relays: readonly string[], init: ConnectInit = {}): Promise<void> {
  const timeoutMs = init.timeoutMs ?? CONNECT_TIMEOUT_MS
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = init.signal === undefined ? timeout : AbortSignal.any([init.signal, timeout])
  const results = await Promise.allSettled(relays.map(async (addr) => node.dial(multiaddr(addr), { signal })))
  const failures = results.flatMap((r, i) => r.status === 'rejected' ? [`${relays[i]}: ${(r.reason as Error).message}`] : [])
  if (failures.length === relays.length) throw new NoRelayError(`no relay could be reached (${failures.join('; ')})`)
  for (const failure of failures) log('relay not reached: %s', failure)

  await waitFor(node, () => dhtPeers(node) > 0, signal, `a DHT peer within ${timeoutMs} ms`)
  if (init.reachable === true) {
    await waitFor(node, () => node.getMultiaddrs().some((ma) => ma.toString().includes('/p2p-circuit')), signal, `a relay reservation within ${timeoutMs} ms`)
  }
}

interface RoutingTableView extends Partial<EventTarget> { size: number }

function routingTable (node: OpenStudioNode): RoutingTableView | undefined {
  return (node.services.dht as unknown as { routingTable?: RoutingTableView }).routingTable
}

function dhtPeers (node: OpenStudioNode): number {
  return routingTable(node)?.size ?? 0
}

/** Resolves once `ready()` holds, re-checking on identify and address events. */
async function waitFor (node: OpenStudioNode, ready: () => boolean, signal: AbortSignal, what: string): Promise<void> {
  if (ready()) return
  await new Promise<void>((resolve, reject) => {
    const events = ['peer:identify', 'self:peer:update', 'connection:open'] as const
    const table = routingTable(node)
    const check = (): void => { if (ready()) done() }
    const onAbort = (): void => { cleanup(); reject(new TimeoutError(`waited for ${what}`)) }
    const done = (): void => { cleanup(); resolve() }
    const cleanup = (): void => {
      for (const e of events) node.removeEventListener(e, check)
      table?.removeEventListener?.('peer:add', check)
      signal.removeEventListener('abort', onAbort)
    }
    for (const e of events) node.addEventListener(e, check)
    table?.addEventListener?.('peer:add', check)
    signal.addEventListener('abort', onAbort)
    check()
  })
}
