/**
 * A caller's components in the browser: the page's NetworkService (its
 * libp2p node dials the station and carries the signalling and the room
 * topic), TURN from the station's relays, a real RTCPeerConnection, and the
 * return heard in the call's AudioContext.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { openSignal, openUpload } from '@openstudio/network'
import type { NetworkService } from '../network.ts'
import type { CallerComponents } from './caller-components.ts'
import { CALL_DEFAULTS } from './errors.ts'
import { createCallPeer, receiveAudio } from './peer.ts'
import { turnServersFor } from './turn.ts'

export function browserCallerComponents (network: NetworkService, init: { context: AudioContext }): CallerComponents {
  return {
    network: {
      identity: network.identity,
      start: async ({ signal }) => (await network.start({ signal })).services,
      resolve: async (stationId, { signal }) => (await network.resolve(stationId, { signal })).manifest,
      // A relayed dial answers in well under a second: one that hangs is given up, and the caller tries again.
      dial: async (manifest, { signal }) => { await network.dial(manifest, { signal, upgrade: 'background', timeoutMs: CALL_DEFAULTS.reachTimeoutMs }) },
      openSignal: async (peer, { signal }) => openSignal(await network.start({ signal }), peerIdFromString(peer), { signal }),
      openUpload: async (peer, { signal }) => openUpload(await network.start({ signal }), peerIdFromString(peer), { signal })
    },
    // The station's relays serve it, so they come first; then the app's own.
    turn: async (manifest, credentials, { policy, signal }) =>
      turnServersFor(await network.start({ signal }), [...manifest.relays, ...network.config?.relays ?? []], manifest.id, policy, { ...credentials, signal }),
    createPeer: createCallPeer,
    receiveAudio: (track) => receiveAudio(init.context, track)
  }
}
