/**
 * Perfect negotiation (W3C WebRTC §10.7) over our signalling messages: both
 * sides may renegotiate or restart ICE at any time, and an offer collision is
 * resolved by role. The caller is polite (it rolls back); the studio is
 * impolite (its offer wins), so the studio's view of the call is never undone.
 */
import { logger } from '@libp2p/logger'
import type { SignalMessage } from '@openstudio/protocol'
import { tuneOpus, type OpusInit } from './opus.ts'
import type { NegotiationMessage } from './signal-endpoint.ts'

const log = logger('openstudio:app:negotiation')

type Send = (message: SignalMessage) => Promise<void>

export interface NegotiationInit {
  polite: boolean
  opus?: OpusInit
  /** A negotiation step failed (the call is probably lost). */
  onError?: (err: Error) => void
}

export class PerfectNegotiation {
  private makingOffer = false
  private ignoreOffer = false
  private answerPending = false
  /** Messages are handled one at a time, in arrival order. */
  private queue: Promise<void> = Promise.resolve()

  constructor (private readonly pc: RTCPeerConnection, private send: Send, private readonly init: NegotiationInit) {
    pc.addEventListener('negotiationneeded', () => { void this.offer() })
    pc.addEventListener('icecandidate', ({ candidate }) => {
      if (candidate === null) return
      void this.send({ type: 'candidate', candidate: candidate.toJSON() as never }).catch((err: Error) => { log('candidate not sent: %s', err.message) })
    })
  }

  /** Points outgoing messages at a new signalling stream (after a redial). */
  setSend (send: Send): void {
    this.send = send
  }

  /** Handles a description or candidate from the other side. */
  async handle (message: NegotiationMessage): Promise<void> {
    this.queue = this.queue.then(async () => this.apply(message)).catch((err: Error) => {
      log('negotiation failed: %s', err.message)
      this.init.onError?.(err)
    })
    return this.queue
  }

  private async offer (): Promise<void> {
    try {
      this.makingOffer = true
      await this.pc.setLocalDescription()
      await this.sendDescription()
    } catch (err) {
      log('offer failed: %s', (err as Error).message)
      this.init.onError?.(err as Error)
    } finally {
      this.makingOffer = false
    }
  }

  private async apply (message: NegotiationMessage): Promise<void> {
    const pc = this.pc
    if (message.type === 'candidate') {
      if (message.candidate === null) return
      try {
        await pc.addIceCandidate(message.candidate)
      } catch (err) {
        if (!this.ignoreOffer) throw err
      }
      return
    }
    const description = message.description
    const readyForOffer = !this.makingOffer && (pc.signalingState === 'stable' || this.answerPending)
    const collision = description.type === 'offer' && !readyForOffer
    this.ignoreOffer = !this.init.polite && collision
    if (this.ignoreOffer) {
      log('ignored a colliding offer (impolite side)')
      return
    }
    this.answerPending = description.type === 'answer'
    const sdp = description.sdp === undefined ? undefined : tuneOpus(description.sdp, this.init.opus)
    await pc.setRemoteDescription({ type: description.type, sdp })
    this.answerPending = false
    if (description.type === 'offer') {
      await pc.setLocalDescription()
      await this.sendDescription()
    }
  }

  private async sendDescription (): Promise<void> {
    const local = this.pc.localDescription
    if (local === null) return
    await this.send({ type: 'description', description: { type: local.type, sdp: local.sdp } })
  }
}
