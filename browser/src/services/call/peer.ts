/**
 * The audio peer connection of one call, shared by the caller and the studio:
 * how it is configured, how a remote track is heard in Web Audio, and the
 * live statistics the producer sees.
 */

/** How a call's media actually flows. */
export type MediaPath = 'direct' | 'turn' | 'connecting'

/** The transport between a peer and its TURN server: UDP, or TCP (with TLS: `turns:` on 443) where UDP is blocked. */
export type TurnTransport = 'udp' | 'tcp' | 'tls'

/** A call's path for people: "direct", "TURN over UDP", "TURN over TLS", "TURN" (the other side's relay). */
export function pathLabel (s: { path: MediaPath, turnTransport?: TurnTransport }): string {
  if (s.path !== 'turn') return s.path
  return s.turnTransport === undefined ? 'TURN' : `TURN over ${s.turnTransport.toUpperCase()}`
}

export interface CallPeerInit {
  iceServers?: RTCIceServer[]
  /** 'relay' forces every packet through TURN. @default 'all' */
  iceTransportPolicy?: RTCIceTransportPolicy
}

export function createCallPeer (init: CallPeerInit): RTCPeerConnection {
  return new RTCPeerConnection({
    iceServers: init.iceServers ?? [],
    iceTransportPolicy: init.iceTransportPolicy ?? 'all',
    bundlePolicy: 'max-bundle',
    rtcpMuxPolicy: 'require'
  })
}

/** Asks the receiver for the smallest jitter buffer it can run with (about 20 ms here). */
export function preferLowLatency (receiver: RTCRtpReceiver): void {
  if ('jitterBufferTarget' in receiver) receiver.jitterBufferTarget = 0
}

export interface RemoteAudio {
  source: MediaStreamAudioSourceNode
  stop: () => void
}

/**
 * Feeds a remote track into Web Audio. Chromium keeps remote WebRTC audio
 * silent in Web Audio unless a media element plays the same stream, so a
 * muted `<audio>` element plays it too.
 */
export function receiveAudio (context: AudioContext, track: MediaStreamTrack): RemoteAudio {
  const stream = new MediaStream([track])
  const element = new Audio()
  element.muted = true
  element.srcObject = stream
  void element.play().catch(() => { /* muted playback is always allowed; a failure only means the page is closing */ })
  const source = context.createMediaStreamSource(stream)
  return {
    source,
    stop: () => {
      source.disconnect()
      element.pause()
      element.srcObject = null
    }
  }
}

/** Live statistics of a call, as the producer sees them. */
export interface CallStats {
  path: MediaPath
  /** How this side reaches its TURN server, when its own relay candidate carries the call. */
  turnTransport?: TurnTransport
  /** ICE round trip of the selected candidate pair. */
  rttMs?: number
  /** Packets lost since the previous reading, in percent. */
  lossPercent?: number
  /** Interarrival jitter of the incoming audio. */
  jitterMs?: number
  /** Average time incoming audio waits in the jitter buffer, since the call began. */
  jitterBufferMs?: number
  /** Incoming audio packets in total. */
  packetsReceived: number
  packetsLost: number
}

/**
 * Reads the statistics of `pc`. Loss counters are cumulative, so the
 * percentage is taken against the previous reading.
 */
export async function readCallStats (pc: RTCPeerConnection, previous?: CallStats): Promise<CallStats> {
  interface Stat { id: string, type: string, kind?: string, selectedCandidatePairId?: string, packetsReceived?: number, packetsLost?: number, jitter?: number, currentRoundTripTime?: number, localCandidateId?: string, remoteCandidateId?: string, candidateType?: string, relayProtocol?: string, jitterBufferDelay?: number, jitterBufferEmittedCount?: number }
  const stats = new Map<string, Stat>()
  ;(await pc.getStats()).forEach((s: Stat) => { stats.set(s.id, s) })
  const all = [...stats.values()]
  const pairId = all.find((s) => s.type === 'transport' && s.selectedCandidatePairId !== undefined)?.selectedCandidatePairId
  const inbound = all.find((s) => s.type === 'inbound-rtp' && s.kind === 'audio')
  const pair = pairId === undefined ? undefined : stats.get(pairId)
  const local = pair?.localCandidateId === undefined ? undefined : stats.get(pair.localCandidateId)
  const remote = pair?.remoteCandidateId === undefined ? undefined : stats.get(pair.remoteCandidateId)
  const packetsReceived = inbound?.packetsReceived ?? 0
  const packetsLost = inbound?.packetsLost ?? 0
  const received = packetsReceived - (previous?.packetsReceived ?? 0)
  const lost = packetsLost - (previous?.packetsLost ?? 0)
  const relayProtocol = local?.candidateType === 'relay' ? local.relayProtocol : undefined
  return {
    path: pair === undefined ? 'connecting' : local?.candidateType === 'relay' || remote?.candidateType === 'relay' ? 'turn' : 'direct',
    turnTransport: relayProtocol === 'udp' || relayProtocol === 'tcp' || relayProtocol === 'tls' ? relayProtocol : undefined,
    rttMs: pair?.currentRoundTripTime === undefined ? undefined : pair.currentRoundTripTime * 1000,
    lossPercent: received + lost > 0 ? Math.max(0, (100 * lost) / (received + lost)) : undefined,
    jitterMs: inbound?.jitter === undefined ? undefined : inbound.jitter * 1000,
    jitterBufferMs: inbound?.jitterBufferDelay === undefined || (inbound.jitterBufferEmittedCount ?? 0) === 0 ? undefined : (inbound.jitterBufferDelay * 1000) / (inbound.jitterBufferEmittedCount as number),
    packetsReceived,
    packetsLost
  }
}

/** Microphone constraints: voice processing is a per-participant choice. */
export function microphoneConstraints (voiceProcessing: boolean): MediaTrackConstraints {
  return {
    echoCancellation: voiceProcessing,
    noiseSuppression: voiceProcessing,
    autoGainControl: voiceProcessing,
    channelCount: 1,
    sampleRate: 48_000
  }
}

/** A 48 kHz context (Opus's rate), tuned for the lowest output latency. */
export function createCallAudioContext (): AudioContext {
  return new AudioContext({ sampleRate: 48_000, latencyHint: 'interactive' })
}
