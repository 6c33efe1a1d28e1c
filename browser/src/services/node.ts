/**
 * The browser's libp2p node: the shared factory from network/ with the
 * browser's transports (WebSockets to relays, WebRTC between browsers,
 * circuit relay), listening through relays so that it can be dialled.
 */
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { webRTC } from '@libp2p/webrtc'
import { webSockets } from '@libp2p/websockets'
import { createOpenStudioNode, DIRECTORY_READER_K, type OpenStudioNode } from '@openstudio/network'
import type { PrivateKey } from '@libp2p/interface'
import type { NetworkConfig } from './config.ts'

export interface BrowserNodeInit {
  config: NetworkConfig
  /** A station's own node uses the station key, so its PeerId is the station id. */
  privateKey?: PrivateKey
  /** Keep a relay reservation and accept WebRTC dials (stations). @default false */
  reachable?: boolean
  /** ICE servers for WebRTC. @default none (no public STUN: networks bring their own) */
  iceServers?: RTCIceServer[]
}

/** Relays a station's node keeps a reservation on, when it knows that many. */
const STATION_RESERVATIONS = 2

export async function createBrowserNode (init: BrowserNodeInit): Promise<OpenStudioNode> {
  return createOpenStudioNode({
    privateKey: init.privateKey,
    // Each /p2p-circuit listener holds a reservation on its own relay: with two, a station stays
    // dialable when one relay drops it (a starved page, a relay restart).
    listen: init.reachable === true ? [...Array<string>(Math.min(STATION_RESERVATIONS, init.config.relays.length)).fill('/p2p-circuit'), '/webrtc'] : [],
    allowPrivate: init.config.allowPrivate,
    dhtBucketSize: init.reachable === true ? undefined : DIRECTORY_READER_K,
    transports: [
      webSockets(),
      webRTC({ rtcConfiguration: { iceServers: init.iceServers ?? [] } }),
      circuitRelayTransport()
    ]
  })
}
