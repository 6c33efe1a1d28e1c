/**
 * What a call needs from outside (CallerComponents): the network, TURN, the
 * peer connection, the return audio and the clock. The browser's come from
 * the page's NetworkService (browser-components.ts); unit tests use
 * in-memory ones.
 */
import type { RoomChannelComponents } from '@openstudio/network'
import type { Manifest, StationKey } from '@openstudio/protocol'
import type { CallPeerInit, RemoteAudio } from './peer.ts'
import type { UploadEndpoint } from '../recording/uploads.ts'
import type { SignalEndpoint } from './signal-endpoint.ts'

export interface AbortOptions { signal?: AbortSignal }

/** The network as a call uses it (the page's NetworkService in the app). */
export interface CallerNetwork {
  /** This participant's identity: its key signs the room requests. */
  readonly identity: StationKey
  /** Joins the network (once); the room topic runs on what it returns. */
  start: (options: AbortOptions) => Promise<RoomChannelComponents>
  /** The station's current manifest. */
  resolve: (stationId: string, options: AbortOptions) => Promise<Manifest>
  /** Connects to the station, directly where it can. */
  dial: (manifest: Manifest, options: AbortOptions) => Promise<void>
  /** Opens a signalling stream to the studio's peer. */
  openSignal: (peer: string, options: AbortOptions) => Promise<SignalEndpoint>
  /** Opens an upload stream to the studio's peer, over a direct connection. @default none: this caller cannot upload */
  openUpload?: (peer: string, options: AbortOptions) => Promise<UploadEndpoint>
}

/** What opens the station's TURN servers to this caller: the welcome's call pass, or its invite. */
export interface TurnCredentials { pass?: string, invite?: string }

export interface CallerComponents {
  network: CallerNetwork
  /**
   * TURN servers for the call, from the relays that serve the station.
   * @throws {TurnUnreachableError} when `policy` is 'relay' and none could be had
   */
  turn: (manifest: Manifest, credentials: TurnCredentials, options: { policy: RTCIceTransportPolicy, signal?: AbortSignal }) => Promise<RTCIceServer[]>
  /** Builds the call's peer connection (createCallPeer in the browser). */
  createPeer: (init: CallPeerInit) => RTCPeerConnection
  /** Plays the studio's return track into Web Audio. */
  receiveAudio: (track: MediaStreamTrack) => RemoteAudio
  /**
   * Waits between attempts and before checks.
   * @default pause (backoff.ts)
   * @throws the signal's reason when it aborts
   */
  pause?: (ms: number, options: { signal?: AbortSignal }) => Promise<void>
  /** @default Date.now */
  now?: () => number
  /** @default Math.random */
  random?: () => number
}
