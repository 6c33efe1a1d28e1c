/**
 * The studio's side of one caller: its signalling stream, its audio peer
 * connection (impolite in perfect negotiation), its microphone as a mixer
 * source, and its mix-minus going back as the return track.
 */
import { logger } from '@libp2p/logger'
import type { SignalChannel } from '@openstudio/network'
import type { SignalMessage } from '@openstudio/protocol'
import { PerfectNegotiation } from '../call/negotiation.ts'
import { createCallPeer, preferLowLatency, readCallStats, receiveAudio, type CallStats, type RemoteAudio } from '../call/peer.ts'

const log = logger('openstudio:app:studio:link')

export interface CallerLinkInit {
  id: string
  name: string
  context: AudioContext
  iceServers?: RTCIceServer[]
  iceTransportPolicy?: RTCIceTransportPolicy
  /** The caller's microphone is heard: add it to the mixer. */
  onSource: (source: AudioNode) => void
  /** Media statistics were read. */
  onStats: (stats: CallStats) => void
  /** The audio failed and no signalling is left to mend it: the caller is gone. */
  onLost: () => void
}

export class CallerLink {
  readonly pc: RTCPeerConnection
  readonly negotiation: PerfectNegotiation
  stats?: CallStats
  private remote?: RemoteAudio
  /** Connect the caller's mix-minus bus here: it is sent back as the return track. */
  readonly returnDestination: MediaStreamAudioDestinationNode
  private statsTimer?: ReturnType<typeof setInterval>
  private closed = false

  constructor (public channel: SignalChannel, private readonly init: CallerLinkInit) {
    this.pc = createCallPeer(init)
    this.returnDestination = init.context.createMediaStreamDestination()
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

  /** Moves the call onto a new signalling stream; the audio is untouched. */
  rebind (channel: SignalChannel): void {
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
    this.statsTimer = setInterval(() => {
      void readCallStats(this.pc, this.stats).then((stats) => {
        this.stats = stats
        this.init.onStats(stats)
      }).catch((err: Error) => { log('stats of %s: %s', this.init.id, err.message) })
    }, intervalMs)
  }

  async send (message: SignalMessage): Promise<void> {
    if (!this.channel.open) return
    await this.channel.send(message).catch((err: Error) => { log('to %s: %s', this.init.id, err.message) })
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
