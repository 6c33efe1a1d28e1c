/**
 * What the studio needs from outside (StudioComponents): the host's audio,
 * the signalling handler, the WebRTC side of each call, the room topic,
 * TURN, the broadcast and the clock. The browser's are in
 * browser-components.ts; unit tests use in-memory ones.
 */
import type { InviteStore, RoomChannelComponents } from '@openstudio/network'
import type { SignalMessage } from '@openstudio/protocol'
import type { StudioMixer } from '../../audio/index.ts'
import type { CallStats } from '../call/peer.ts'
import type { NegotiationMessage, SignalEndpoint } from '../call/signal-endpoint.ts'
import type { Broadcast, BroadcastInit } from '../program/broadcast.ts'
import type { StudioRecorder } from '../recording/recorder.ts'
import type { UploadEndpoint } from '../recording/uploads.ts'

export interface AbortOptions { signal?: AbortSignal }

/** The mixer, as the studio drives it (StudioMixer in the browser). */
export type StudioMixerPart = Pick<StudioMixer, 'addParticipant' | 'removeParticipant' | 'has' | 'apply' | 'busOutput' | 'levels' | 'resetLoudness' | 'processing' | 'setProcessing' | 'programOutput' | 'voiceKey' | 'duckVoices' | 'talkbackDuckDb' | 'setTalkbackDuck'>

/** The host's audio desk: what `StudioComponents.audio` opens. */
export interface StudioAudio {
  /** Mixes the host, every caller and the program. */
  readonly mixer: StudioMixerPart
  /** The host microphone, as a mixer source. */
  readonly microphone: AudioNode
  /** The host's headphones: the host's bus (everyone but the host) plays here. */
  readonly monitor: AudioNode
  /** The AudioContext it runs in (the page's render watch reads it). */
  readonly context?: AudioContext
  /** A tap on the program after the limiter (meters, diagnostics). */
  readonly programTap?: AnalyserNode
  /** Where the cart wall plays: the studio adds it to the mixer as a cart (heard in the program, every return and the monitor). */
  readonly carts?: AudioNode
  /** Records the program and every voice on its own track. @default none: the studio cannot record */
  readonly recorder?: StudioRecorder
  /** Stops the microphone, and closes the mixer and its context. Idempotent. */
  close: () => Promise<void>
}

/** What the studio tells the WebRTC side of one call. */
export interface StudioCallInit {
  /** The caller's peer id. */
  id: string
  name: string
  /** TURN servers of the station's relays. */
  iceServers: RTCIceServer[]
  /** The caller's mix-minus: send it back as the return track. */
  returnFeed: AudioNode
  /** The caller's microphone is heard: add it to the mixer. */
  onSource: (source: AudioNode) => void
  /** Media statistics were read. */
  onStats: (stats: CallStats) => void
  /** The audio failed and no signalling is left to mend it: the caller is gone. */
  onLost: () => void
}

/** The studio's side of one call's media (CallerLink in the browser). */
export interface StudioCall {
  /** The signalling stream the call negotiates on now. */
  readonly channel: SignalEndpoint
  /** True while the audio flows. */
  readonly connected: boolean
  /** The latest media statistics. */
  readonly stats?: CallStats
  /** A description or candidate from the caller. */
  negotiate: (message: NegotiationMessage) => void
  /** Moves the call onto a new signalling stream (and closes the old one); the audio is untouched. */
  rebind: (channel: SignalEndpoint) => void
  /** Sends on the current stream; a failure is logged, never thrown. */
  send: (message: SignalMessage, options?: AbortOptions) => Promise<void>
  /** Ends the media and the signalling stream. Idempotent. */
  close: () => void
}

/** Registers `onChannel` for every incoming signalling stream. @returns what unregisters it */
export type SignalHandler = (onChannel: (channel: SignalEndpoint) => void, options: AbortOptions) => Promise<() => Promise<void>>

export interface StudioComponents {
  /**
   * Opens the host's audio (the microphone, the mixer, the headphones).
   * @throws the signal's reason when it aborts; nothing stays open then
   */
  audio: (options: AbortOptions) => Promise<StudioAudio>
  /** Takes calls: the station node's handler for `/openstudio/signal/1`. */
  signal: SignalHandler
  /** Takes callers' own recordings: the station node's handler for `/openstudio/upload/1`. @default none */
  uploads?: (onChannel: (channel: UploadEndpoint) => void, options: AbortOptions) => Promise<() => Promise<void>>
  /** Opens the WebRTC side of one call on `channel`. */
  calls: (channel: SignalEndpoint, init: StudioCallInit) => StudioCall
  /** The room topic. */
  pubsub: RoomChannelComponents['pubsub']
  /** Where the invites this studio issues are kept. */
  invites: InviteStore
  /** TURN servers for the studio's side of calls, asked for once the studio is in its room. @default none */
  iceServers?: (options: AbortOptions) => Promise<RTCIceServer[]>
  /** Starts streaming the program to a relay. @default none: startBroadcast throws */
  broadcast?: (init: Omit<BroadcastInit, 'node'>, options: AbortOptions) => Promise<Broadcast>
  /** @default Date.now */
  now?: () => number
}
