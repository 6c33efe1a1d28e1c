/**
 * Dial by key: reach a station's node from its id alone. The manifest names
 * the relays the station keeps a reservation on; the dial goes through one of
 * them and, first or in the background, upgrades to a direct WebRTC
 * connection (the relayed connection carries the WebRTC signalling). Where
 * WebRTC fails, the relayed connection is used as it is. docs/calls.md has
 * the timings and why a call does not wait for the upgrade.
 */
import { logger } from '@libp2p/logger'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Manifest } from '@openstudio/protocol'
import { NoRelayError } from './errors.ts'
import { connectionKind, pingStation, type ConnectionKind } from './ping.ts'
import type { Connection, Libp2p, PeerId } from '@libp2p/interface'

const log = logger('openstudio:dial')

export const DIAL_DEFAULTS = {
  timeoutMs: 25_000,
  /**
   * Time each WebRTC attempt may take before the next one. A healthy attempt
   * takes 0.1–0.5 s on a LAN; libp2p's dial queue cuts any one address at
   * 6 s (addressDialTimeout) whatever is given here. A stalled attempt (see
   * docs/calls.md, "The stalled upgrade") is hung up before the next.
   */
  webrtcAttemptsMs: [2_500, 5_500]
} as const

/**
 * When the direct WebRTC connection is tried:
 * - `first`: before the relayed one, which is the fallback (a connection test);
 * - `background`: after it. The dial returns as soon as the relayed connection
 *   answers a ping, and the upgrade runs on; streams opened once it is up use
 *   it. A call starts this way: its signalling runs as well over the relay;
 * - `never`: the relayed connection alone.
 */
export type UpgradeMode = 'first' | 'background' | 'never'

export interface DialInit {
  /** @default 'first' */
  upgrade?: UpgradeMode
  /** @default 25 s */
  timeoutMs?: number
  /** Time for each WebRTC attempt before the next. @default DIAL_DEFAULTS.webrtcAttemptsMs */
  webrtcAttemptsMs?: readonly number[]
  /** Ends the dial and, in `background` mode, the upgrade. */
  signal?: AbortSignal
}

export interface DialedStation {
  connection: Connection
  kind: ConnectionKind
  /** Round trip of the first ping, in milliseconds. */
  rttMs: number
  /** Time from the start of the dial to the ping's echo, in milliseconds. */
  totalMs: number
  /** In `background` mode: the direct connection once it is up, or undefined when every attempt failed. Never rejects. */
  upgrade?: Promise<Connection | undefined>
}

type DialingNode = Pick<Libp2p, 'dial' | 'dialProtocol' | 'hangUp' | 'getConnections'>

/** The addresses to reach `peer` through the manifest's relays: WebRTC ones first. */
export function stationAddresses (manifest: Pick<Manifest, 'id' | 'relays' | 'studio'>): { webrtc: Multiaddr[], relayed: Multiaddr[] } {
  const peer = manifest.studio?.peer ?? manifest.id
  const relays = manifest.relays.filter((r) => r.includes('/p2p/'))
  return {
    webrtc: relays.map((r) => multiaddr(`${r}/p2p-circuit/webrtc/p2p/${peer}`)),
    relayed: relays.map((r) => multiaddr(`${r}/p2p-circuit/p2p/${peer}`))
  }
}

/**
 * Dials the station a manifest describes and pings it.
 * @throws {NoRelayError} when the manifest names no relay
 */
export async function dialStation (node: DialingNode, manifest: Pick<Manifest, 'id' | 'relays' | 'studio'>, init: DialInit = {}): Promise<DialedStation> {
  const started = performance.now()
  const { webrtc, relayed } = stationAddresses(manifest)
  if (relayed.length === 0) throw new NoRelayError(`station ${manifest.id} lists no relay to reach it through`)
  const signal = AbortSignal.any([AbortSignal.timeout(init.timeoutMs ?? DIAL_DEFAULTS.timeoutMs), ...(init.signal === undefined ? [] : [init.signal])])
  const peer = peerIdFromString(manifest.studio?.peer ?? manifest.id)
  const attempts = init.webrtcAttemptsMs ?? DIAL_DEFAULTS.webrtcAttemptsMs
  const mode = init.upgrade ?? 'first'

  const connection = (mode === 'first' ? await upgradeTo(node, peer, webrtc, attempts, signal, undefined) : undefined) ??
    await node.dial(relayed, { signal })
  const rttMs = await pingStation(node, peer, { signal })
  const dialed: DialedStation = { connection, kind: connectionKind(connection), rttMs, totalMs: performance.now() - started }
  if (mode === 'background' && dialed.kind === 'relayed') {
    // The upgrade outlives the dial's own timeout: only the caller's signal ends it.
    const upgradeSignal = init.signal ?? new AbortController().signal
    dialed.upgrade = upgradeTo(node, peer, webrtc, attempts, upgradeSignal, connection).catch((err: Error) => {
      log('upgrade to %p ended: %s', peer, err.message)
      return undefined
    })
  }
  return dialed
}

/**
 * Tries the direct WebRTC connection, attempt by attempt.
 * @returns the direct connection, or undefined when every attempt failed or came back relayed
 * @throws when `signal` aborts
 */
async function upgradeTo (node: DialingNode, peer: PeerId, webrtc: Multiaddr[], attempts: readonly number[], signal: AbortSignal, keep: Connection | undefined): Promise<Connection | undefined> {
  for (const [attempt, attemptMs] of attempts.entries()) {
    signal.throwIfAborted()
    try {
      const dialed = await node.dial(webrtc, { signal: AbortSignal.any([signal, AbortSignal.timeout(attemptMs)]) })
      if (connectionKind(dialed) !== 'relayed') return dialed
      log('WebRTC dial to %p came back relayed (attempt %d)', peer, attempt + 1)
    } catch (err) {
      if (signal.aborted) throw err
      log('WebRTC dial to %p failed (attempt %d): %s', peer, attempt + 1, (err as Error).message)
      // Start the next attempt from nothing: a stalled negotiation can leave half a connection behind.
      await dropAllBut(node, peer, keep, signal)
    }
  }
  return undefined
}

/** Closes every connection to `peer` but `keep` (the relayed one a call is using). */
async function dropAllBut (node: DialingNode, peer: PeerId, keep: Connection | undefined, signal: AbortSignal): Promise<void> {
  try {
    if (keep === undefined) await node.hangUp(peer, { signal })
    else await Promise.all(node.getConnections(peer).filter((c) => c.id !== keep.id).map(async (c) => { await c.close({ signal }) }))
  } catch (err) {
    log('hang-up after a failed dial: %s', (err as Error).message)
  }
}
