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

export async function createBrowserNode (init: BrowserNodeInit): Promise<OpenStudioNode> {
  return createOpenStudioNode({
    privateKey: init.privateKey,
    listen: init.reachable === true ? ['/p2p-circuit', '/webrtc'] : [],
    allowPrivate: init.config.allowPrivate,
    dhtBucketSize: init.reachable === true ? undefined : DIRECTORY_READER_K,
    transports: [
      webSockets(),
      webRTC({ rtcConfiguration: { iceServers: init.iceServers ?? [] } }),
      circuitRelayTransport()
    ]
  })
}
