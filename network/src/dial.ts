/**
 * Dial by key: reach a station's node from its id alone. The manifest names
 * the relays the station keeps a reservation on; the dial goes through one of
 * them, then upgrades to a direct WebRTC connection (the relayed connection
 * only carries the WebRTC signalling). Where WebRTC fails, the relayed
 * connection is used as it is.
 */
import { logger } from '@libp2p/logger'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { peerIdFromString } from '@libp2p/peer-id'
import type { Manifest } from '@openstudio/protocol'
import { NoRelayError } from './errors.ts'
import { connectionKind, pingStation, type ConnectionKind } from './ping.ts'
import type { Connection, Libp2p } from '@libp2p/interface'

const log = logger('openstudio:dial')

export const DIAL_DEFAULTS = {
  timeoutMs: 25_000,
  /**
   * Time each WebRTC attempt may take before the next one; after the last,
   * the relayed connection is used. A healthy attempt takes 0.1–0.5 s on a
   * LAN. About one browser-to-browser dial in eight stalls: the initiator's
   * `init` data channel never opens although the answerer sees it, and the
   * answerer holds the half-open connection for about 5 s, failing any
   * redial until then. So the first attempt outlasts that, and the second
   * starts from a hung-up, clean state (measured: 3 of 4 stalls recover).
   */
  webrtcAttemptsMs: [6_500, 9_000]
} as const

export interface DialInit {
  /** Try only the relayed connection (no WebRTC upgrade). @default false */
  relayedOnly?: boolean
  /** @default 25 s */
  timeoutMs?: number
  /** Time for each WebRTC attempt before the next, then the relayed connection. @default DIAL_DEFAULTS.webrtcAttemptsMs */
  webrtcAttemptsMs?: readonly number[]
  signal?: AbortSignal
}

export interface DialedStation {
  connection: Connection
  kind: ConnectionKind
  /** Round trip of the first ping, in milliseconds. */
  rttMs: number
  /** Time from the start of the dial to the ping's echo, in milliseconds. */
  totalMs: number
}

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
export async function dialStation (node: Pick<Libp2p, 'dial' | 'dialProtocol' | 'hangUp'>, manifest: Pick<Manifest, 'id' | 'relays' | 'studio'>, init: DialInit = {}): Promise<DialedStation> {
  const started = performance.now()
  const { webrtc, relayed } = stationAddresses(manifest)
  if (relayed.length === 0) throw new NoRelayError(`station ${manifest.id} lists no relay to reach it through`)
  const signal = AbortSignal.any([AbortSignal.timeout(init.timeoutMs ?? DIAL_DEFAULTS.timeoutMs), ...(init.signal === undefined ? [] : [init.signal])])
  const peer = peerIdFromString(manifest.studio?.peer ?? manifest.id)

  let connection: Connection | undefined
  if (init.relayedOnly !== true) {
    for (const [attempt, attemptMs] of (init.webrtcAttemptsMs ?? DIAL_DEFAULTS.webrtcAttemptsMs).entries()) {
      if (connection !== undefined || signal.aborted) break
      try {
        const dialed = await node.dial(webrtc, { signal: AbortSignal.any([signal, AbortSignal.timeout(attemptMs)]) })
        if (connectionKind(dialed) === 'relayed') log('WebRTC dial to %p came back relayed (attempt %d)', peer, attempt + 1)
        else connection = dialed
      } catch (err) {
        if (signal.aborted) throw err
        log('WebRTC dial to %p failed (attempt %d): %s', peer, attempt + 1, (err as Error).message)
        // Start the next attempt from nothing: a stalled negotiation can leave half a connection behind.
        await node.hangUp(peer, { signal }).catch((e: Error) => { log('hang-up after a failed dial: %s', e.message) })
      }
    }
  }
  connection ??= await node.dial(relayed, { signal })
  const rttMs = await pingStation(node, peer, { signal })
  return { connection, kind: connectionKind(connection), rttMs, totalMs: performance.now() - started }
}
