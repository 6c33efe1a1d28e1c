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
  timeoutMs: 15_000,
  /**
   * WebRTC attempts before settling for the relayed connection. About one
   * browser-to-browser WebRTC dial in five stalls after ICE candidates are
   * exchanged; a fresh attempt usually connects at once.
   */
  webrtcAttempts: 3,
  /** Time one WebRTC attempt may take (a healthy one takes 0.2–0.5 s on a LAN). */
  webrtcAttemptMs: 2_500
} as const

export interface DialInit {
  /** Try only the relayed connection (no WebRTC upgrade). @default false */
  relayedOnly?: boolean
  /** @default 15 s */
  timeoutMs?: number
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
export async function dialStation (node: Pick<Libp2p, 'dial' | 'dialProtocol'>, manifest: Pick<Manifest, 'id' | 'relays' | 'studio'>, init: DialInit = {}): Promise<DialedStation> {
  const started = performance.now()
  const { webrtc, relayed } = stationAddresses(manifest)
  if (relayed.length === 0) throw new NoRelayError(`station ${manifest.id} lists no relay to reach it through`)
  const signal = AbortSignal.any([AbortSignal.timeout(init.timeoutMs ?? DIAL_DEFAULTS.timeoutMs), ...(init.signal === undefined ? [] : [init.signal])])
  const peer = peerIdFromString(manifest.studio?.peer ?? manifest.id)

  let connection: Connection | undefined
  if (init.relayedOnly !== true) {
    for (let attempt = 0; attempt < DIAL_DEFAULTS.webrtcAttempts && connection === undefined && !signal.aborted; attempt++) {
      try {
        const dialed = await node.dial(webrtc, { signal: AbortSignal.any([signal, AbortSignal.timeout(DIAL_DEFAULTS.webrtcAttemptMs)]) })
        if (connectionKind(dialed) === 'relayed') log('WebRTC dial to %p came back relayed (attempt %d)', peer, attempt + 1)
        else connection = dialed
      } catch (err) {
        if (signal.aborted) throw err
        log('WebRTC dial to %p failed (attempt %d): %s', peer, attempt + 1, (err as Error).message)
      }
    }
  }
  connection ??= await node.dial(relayed, { signal })
  const rttMs = await pingStation(node, peer, { signal })
  return { connection, kind: connectionKind(connection), rttMs, totalMs: performance.now() - started }
}
