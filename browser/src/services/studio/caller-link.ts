/**
 * The studio's side of one caller in the browser: its signalling stream, its
 * audio peer connection (impolite in perfect negotiation), its microphone as
 * a mixer source, and its mix-minus going back as the return track.
 */
import { logger } from '@libp2p/logger'
import type { SignalMessage } from '@openstudio/protocol'
import { PerfectNegotiation } from '../call/negotiation.ts'
import { createCallPeer, preferLowLatency, readCallStats, receiveAudio, type CallStats, type RemoteAudio } from '../call/peer.ts'
import type { NegotiationMessage, SignalEndpoint } from '../call/signal-endpoint.ts'
import type { StudioCall, StudioCallInit } from './components.ts'

const log = logger('openstudio:app:studio:link')

export interface CallerLinkInit extends StudioCallInit {
  /** The studio's AudioContext: the caller's microphone is heard in it, and the return track made there. */
  context: AudioContext
  /** 'relay' sends everything through TURN. @default 'all' */
  iceTransportPolicy?: RTCIceTransportPolicy
}

export class CallerLink implements StudioCall {
  readonly pc: RTCPeerConnection
  readonly negotiation: PerfectNegotiation
  stats?: CallStats
  private remote?: RemoteAudio
  /** The caller's mix-minus arrives here and is sent back as the return track. */
  readonly returnDestination: MediaStreamAudioDestinationNode
  private statsTimer?: ReturnType<typeof setInterval>
  private closed = false

  constructor (public channel: SignalEndpoint, private readonly init: CallerLinkInit) {
    this.pc = createCallPeer(init)
    this.returnDestination = init.context.createMediaStreamDestination()
    init.returnFeed.connect(this.returnDestination)
    const send = async (m: SignalMessage): Promise<void> => { await channel.send(m) }
    this.negotiation = new PerfectNegotiation(this.pc, send, { polite: false, onError: (err) => { log('negotiation with %s: %s', init.id, err.message) } })
    this.pc.addEventListener('track', ({ track, receiver, transceiver }) => {
      preferLowLatency(receiver)
      // Answer the caller's microphone with its mix-minus on the same transceiver.
      transceiver.direction = 'sendrecv'
      void transceiver.sender.replaceTrack(this.returnTrack)
      this.remote?.stop()
      this.remote = receiveAudio(init.context, track)
      init.onSource(this.remote.source)
    })
    this.pc.addEventListener('connectionstatechange', () => {
      log('%s media: %s', init.id, this.pc.connectionState)
      if (this.pc.connectionState !== 'failed') return
      if (this.channel.open) this.pc.restartIce()
      else init.onLost()
    })
  }

  /** True while the audio flows. */
  get connected (): boolean {
    return this.pc.connectionState === 'connected'
  }

  negotiate (message: NegotiationMessage): void {
    void this.negotiation.handle(message)
  }

  /** Moves the call onto a new signalling stream; the audio is untouched. */
  rebind (channel: SignalEndpoint): void {
    const old = this.channel
    this.channel = channel
    this.negotiation.setSend(async (m) => { await channel.send(m) })
    if (old !== channel) void old.close()
  }

  get id (): string {
    return this.init.id
  }

  get name (): string {
    return this.init.name
  }

  get returnTrack (): MediaStreamTrack {
    return this.returnDestination.stream.getAudioTracks()[0] as MediaStreamTrack
  }

  /** Starts reading media statistics every `intervalMs`. */
  watchStats (intervalMs: number): void {
    if (this.closed) return
    clearInterval(this.statsTimer)
    this.statsTimer = setInterval(() => {
      void readCallStats(this.pc, this.stats).then((stats) => {
        this.stats = stats
        this.init.onStats(stats)
      }).catch((err: Error) => { log('stats of %s: %s', this.init.id, err.message) })
    }, intervalMs)
  }

  async send (message: SignalMessage, options?: { signal?: AbortSignal }): Promise<void> {
    if (!this.channel.open) return
    await this.channel.send(message, options).catch((err: Error) => { log('to %s: %s', this.init.id, err.message) })
  }

  close (): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.statsTimer)
    this.remote?.stop()
    this.returnDestination.disconnect()
    this.pc.close()
    void this.channel.close()
  }
}
