/**
 * An RTCPeerConnection without media: it keeps the signalling state perfect
 * negotiation reads and writes (descriptions, candidates, ICE restarts), and
 * the test moves its connection state and gathers its candidates by hand.
 */
import type { CallPeerInit } from '../../src/services/call/peer.ts'

export class FakePeerConnection extends EventTarget {
  connectionState: RTCPeerConnectionState = 'new'
  signalingState: RTCSignalingState = 'stable'
  localDescription: RTCSessionDescriptionInit | null = null
  remoteDescription: RTCSessionDescriptionInit | null = null
  readonly tracks: MediaStreamTrack[] = []
  readonly remoteCandidates: Array<RTCIceCandidateInit | undefined> = []
  iceRestarts = 0
  /** What getStats reports; `selectPair` fills it. */
  stats: Array<Record<string, unknown> & { id: string, type: string }> = []
  /** The ICE transport of the one bundled sender; it fires `selectedcandidatepairchange`. */
  readonly iceTransport = new EventTarget()

  constructor (readonly config: CallPeerInit) {
    super()
  }

  addTransceiver (track: MediaStreamTrack, _init?: RTCRtpTransceiverInit): RTCRtpTransceiver {
    this.tracks.push(track)
    queueMicrotask(() => { this.dispatchEvent(new Event('negotiationneeded')) })
    return {} as RTCRtpTransceiver
  }

  getSenders (): RTCRtpSender[] {
    return this.tracks.map(() => ({ transport: { iceTransport: this.iceTransport } }) as unknown as RTCRtpSender)
  }

  async setLocalDescription (description?: RTCSessionDescriptionInit): Promise<void> {
    const type = description?.type ?? (this.signalingState === 'have-remote-offer' ? 'answer' : 'offer')
    this.localDescription = { type, sdp: description?.sdp ?? `v=0 fake ${type}` }
    this.signalingState = type === 'offer' ? 'have-local-offer' : 'stable'
  }

  async setRemoteDescription (description: RTCSessionDescriptionInit): Promise<void> {
    this.remoteDescription = description
    this.signalingState = description.type === 'offer' ? 'have-remote-offer' : 'stable'
  }

  async addIceCandidate (candidate?: RTCIceCandidateInit): Promise<void> {
    this.remoteCandidates.push(candidate)
  }

  restartIce (): void {
    this.iceRestarts++
  }

  async getStats (): Promise<RTCStatsReport> {
    return new Map(this.stats.map((s) => [s.id, s])) as unknown as RTCStatsReport
  }

  /** ICE selects a pair between candidates of these types ('host', 'srflx', 'relay'). */
  selectPair (local: string, remote: string, relayProtocol = 'udp'): void {
    this.stats = [
      { id: 'T', type: 'transport', selectedCandidatePairId: 'P' },
      { id: 'P', type: 'candidate-pair', localCandidateId: 'L', remoteCandidateId: 'R' },
      { id: 'L', type: 'local-candidate', candidateType: local, relayProtocol: local === 'relay' ? relayProtocol : undefined },
      { id: 'R', type: 'remote-candidate', candidateType: remote }
    ]
    this.iceTransport.dispatchEvent(new Event('selectedcandidatepairchange'))
  }

  close (): void {
    this.connectionState = 'closed'
    this.signalingState = 'closed'
  }

  get closed (): boolean {
    return this.connectionState === 'closed'
  }

  /** The media path changes (ICE connected, or lost). */
  move (state: RTCPeerConnectionState): void {
    this.connectionState = state
    this.dispatchEvent(new Event('connectionstatechange'))
  }

  /** ICE gathering found a local candidate. */
  gather (candidate: RTCIceCandidateInit): void {
    this.dispatchEvent(Object.assign(new Event('icecandidate'), { candidate: { toJSON: () => candidate } }))
  }

  /** The studio's return track arrived. */
  receive (track: MediaStreamTrack): void {
    this.dispatchEvent(Object.assign(new Event('track'), { track, receiver: {}, transceiver: {} }))
  }
}
