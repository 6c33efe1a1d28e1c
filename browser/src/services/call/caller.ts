/**
 * A caller's side of a call: dial the station by key, say hello (with an
 * invite where the station needs one), wait in the green room, talk on air.
 * The microphone goes to the studio as Opus on a plain RTCPeerConnection;
 * the studio's mix-minus comes back on the same connection. The room state
 * (green room, on air, muted by the producer) comes from the producer's
 * signed messages, on the room topic and on the signalling stream.
 *
 * If the network drops, an ICE restart is tried while the signalling stream
 * lives, and otherwise a fresh dial; the producer's room state puts the
 * caller back where it was.
 */
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { openSignal, RoomChannel, ROOM_AUTHORITY_DEFAULTS, type SignalChannel } from '@openstudio/network'
import { participantsOf, type Manifest, type ParticipantView, type RoomMessage, type RoomRequest, type RoomState, type SignalMessage } from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import type { NetworkService } from '../network.ts'
import { PerfectNegotiation } from './negotiation.ts'
import { createCallPeer, preferLowLatency, readCallStats, receiveAudio, type MediaPath, type RemoteAudio } from './peer.ts'
import { CALL_DEFAULTS, CallRefusedError, humanCallError, TurnUnreachableError } from './errors.ts'
import { turnServersFor } from './turn.ts'
import { listenersFor } from '../listeners.ts'

const log = logger('openstudio:app:caller')

export type CallPhase = 'connecting' | 'green-room' | 'on-air' | 'reconnecting' | 'ended' | 'failed'

export interface CallStatus {
  phase: CallPhase
  /** Muted by the producer (in the program and every mix-minus). */
  producerMuted: boolean
  selfMuted: boolean
  path: MediaPath
  /** The producer granted this caller producer authority (a co-host invite): `others` can be run from here. */
  coHost?: boolean
  /** Everyone else in the room, for a co-host's controls. */
  others?: ParticipantView[]
  /** The show's listeners, as a relay the station lists reported them. */
  listeners?: number
  /** Why the call ended or failed, for people. */
  error?: string
}

/** What a co-host may do to another participant: the producer's own controls. */
export type CoHostControl = Extract<RoomMessage, { type: 'mute' | 'unmute' | 'admit' | 'hold' }>

export interface CallerEvents {
  'status:change': CustomEvent<CallStatus>
  /** The studio's return feed started: connect it to hear the show. */
  'return:start': CustomEvent<AudioNode>
}

export interface CallerInit {
  stationId: string
  name: string
  invite?: string
  microphone: MediaStreamTrack
  context: AudioContext
  /** 'relay' sends everything through TURN. @default 'all' */
  iceTransportPolicy?: RTCIceTransportPolicy
}

export class CallerSession extends TypedEventEmitter<CallerEvents> {
  status: CallStatus = { phase: 'connecting', producerMuted: false, selfMuted: false, path: 'connecting' }
  private readonly shutdown = new AbortController()
  private room?: RoomChannel
  private manifest?: Manifest
  private channel?: SignalChannel
  private pc?: RTCPeerConnection
  private remote?: RemoteAudio
  private negotiation?: PerfectNegotiation
  private iceServers?: RTCIceServer[]
  private reconnecting = false
  private snapshotAskedAt = -Infinity

  constructor (private readonly network: NetworkService, private readonly init: CallerInit) {
    super()
  }

  /** Dials and joins. Rejects with a typed error when the first attempt fails. */
  async start (): Promise<void> {
    try {
      const node = await this.network.start()
      this.manifest = (await this.network.resolve(this.init.stationId, this.shutdown.signal)).manifest
      const identity = this.network.identity
      this.room = new RoomChannel(node.services, this.init.stationId, { id: identity.id, secretKey: identity.secretKey })
      this.room.addEventListener('state:change', (e) => { this.onRoom(e.detail.state) })
      // Commands came before the ones they follow: ask for the whole state, at most once a second.
      this.room.addEventListener('state:gap', () => {
        if (Date.now() - this.snapshotAskedAt < ROOM_AUTHORITY_DEFAULTS.snapshotIntervalMs) return
        this.snapshotAskedAt = Date.now()
        void this.sendRoom({ type: 'snapshot-request' })
      })
      this.room.addEventListener('listeners:report', (e) => {
        const shown = listenersFor(this.manifest as Manifest, [e.detail], Date.now())
        if (shown !== undefined) this.update({ listeners: shown.count })
      })
      this.room.start()
      await this.dial(CALL_DEFAULTS.firstDialAttempts)
    } catch (err) {
      this.fail(err as Error)
      throw err
    }
  }

  /**
   * A co-host's control, signed with this caller's key and sent to the
   * studio, which carries it out while the station's grant to this key lasts
   * (docs/room.md); from anyone else it changes nothing.
   */
  async control (message: CoHostControl): Promise<void> {
    await this.sendRoom(message)
  }

  setSelfMuted (muted: boolean): void {
    this.init.microphone.enabled = !muted
    this.update({ selfMuted: muted })
    void this.sendRoom({ type: 'self-mute', muted })
  }

  /** Leaves the show and hangs up. */
  async leave (): Promise<void> {
    if (this.shutdown.signal.aborted) return
    await this.sendRoom({ type: 'leave' }).catch(() => {})
    await this.channel?.send({ type: 'bye', reason: 'caller left' }).catch(() => {})
    this.close()
    this.update({ phase: 'ended' })
  }

  /** For diagnostics and support: the room as this caller sees it. */
  get roomChannel (): RoomChannel | undefined {
    return this.room
  }

  private async connect (): Promise<void> {
    const manifest = this.manifest as Manifest
    const node = await this.network.start()
    await this.network.dial(manifest, { signal: this.shutdown.signal, webrtcAttemptsMs: CALL_DEFAULTS.webrtcAttemptsMs })
    const channel = await openSignal(node, peerIdFromString(manifest.studio?.peer ?? manifest.id), { signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(CALL_DEFAULTS.helloTimeoutMs)]) })
    const resume = this.pc?.connectionState === 'connected'
    await channel.send({ type: 'hello', name: this.init.name, invite: this.init.invite, resume })
    const answer = await channel.read({ signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(CALL_DEFAULTS.helloTimeoutMs)]) })
    if (answer?.type === 'refused') throw new CallRefusedError(answer.reason)
    if (answer?.type !== 'welcome') throw new Error(`the studio answered ${answer?.type ?? 'nothing'} to hello`)
    this.channel = channel
    // The hello put this caller in the room (a returning one keeps its place); the studio sends the room state next.
    if (this.status.selfMuted) await this.sendRoom({ type: 'self-mute', muted: true })
    // The station's relays serve it, so they come first; the welcome's pass opens their TURN (an invite, for a studio that sends none).
    const relays = [...manifest.relays, ...this.network.config?.relays ?? []]
    const credentials = answer.pass === undefined ? { invite: this.init.invite } : { pass: answer.pass }
    this.iceServers ??= await turnServersFor(node, relays, this.init.stationId, this.init.iceTransportPolicy ?? 'all', { ...credentials, signal: this.shutdown.signal })
    if (resume && this.negotiation !== undefined) {
      // Only the signalling was lost (a relayed connection reached its limit, say): the audio never stopped.
      this.negotiation.setSend(async (m) => { await channel.send(m) })
      this.onRoom(this.room?.state)
    } else {
      this.startPeer(channel)
    }
    void this.readLoop(channel)
  }

  private startPeer (channel: SignalChannel): void {
    this.pc?.close()
    this.remote?.stop()
    const pc = createCallPeer({ iceServers: this.iceServers, iceTransportPolicy: this.init.iceTransportPolicy })
    this.pc = pc
    const send = async (m: SignalMessage): Promise<void> => { await channel.send(m) }
    const negotiation = new PerfectNegotiation(pc, send, { polite: true, onError: (err) => { log('negotiation: %s', err.message) } })
    pc.addTransceiver(this.init.microphone, { direction: 'sendrecv' })
    pc.addEventListener('track', ({ track, receiver }) => {
      preferLowLatency(receiver)
      this.remote?.stop()
      this.remote = receiveAudio(this.init.context, track)
      this.safeDispatchEvent('return:start', { detail: this.remote.source })
    })
    pc.addEventListener('connectionstatechange', () => { this.onPeerState(pc) })
    this.negotiation = negotiation
  }

  private async readLoop (channel: SignalChannel): Promise<void> {
    try {
      for await (const message of channel.messages()) {
        switch (message.type) {
          case 'description':
          case 'candidate':
            void this.negotiation?.handle(message)
            break
          case 'room':
            this.room?.receive(message.envelope)
            break
          case 'refused':
            this.end(new CallRefusedError(message.reason))
            return
          case 'bye':
            this.end(new CallRefusedError('ended', message.reason))
            return
          case 'hello':
          case 'welcome':
            break
        }
      }
    } catch (err) {
      log('signalling stream failed: %s', (err as Error).message)
    }
    if (this.channel === channel && !this.shutdown.signal.aborted) void this.reconnect('the signalling stream closed')
  }

  private onPeerState (pc: RTCPeerConnection): void {
    if (pc !== this.pc) return
    if (pc.connectionState === 'connected') {
      void readCallStats(pc).then((s) => { this.update({ path: s.path }) })
      if (this.status.phase === 'reconnecting') this.onRoom(this.room?.state)
      return
    }
    if (pc.connectionState === 'disconnected' || pc.connectionState === 'failed') {
      if (this.channel?.open === true && pc.connectionState === 'failed') {
        log('media path failed: restarting ICE')
        pc.restartIce()
      }
      // A drop that an ICE restart has not mended in time becomes a fresh dial.
      const check = setTimeout(() => {
        if (pc === this.pc && pc.connectionState !== 'connected') void this.reconnect(`the media path is ${pc.connectionState}`)
      }, CALL_DEFAULTS.iceRestartGraceMs)
      this.shutdown.signal.addEventListener('abort', () => { clearTimeout(check) }, { once: true })
    }
  }

  private async reconnect (why: string): Promise<void> {
    if (this.reconnecting || this.shutdown.signal.aborted) return
    this.reconnecting = true
    log('reconnecting: %s', why)
    if (this.pc?.connectionState !== 'connected') this.update({ phase: 'reconnecting' })
    void this.channel?.close()
    this.channel = undefined
    try {
      await pause(redialWait(this.pc?.connectionState === 'connected'))
      await this.dial(Infinity)
    } catch (err) {
      if (err instanceof CallRefusedError) this.end(err)
    } finally {
      this.reconnecting = false
    }
  }

  /**
   * Dials until it works, backing off between attempts; a refusal ends it at once.
   * @throws the last error after `attempts` failures, or the refusal
   */
  private async dial (attempts: number): Promise<void> {
    let delay: number = CALL_DEFAULTS.redialFirstMs
    for (let attempt = 1; !this.shutdown.signal.aborted; attempt++) {
      try {
        await this.connect()
        return
      } catch (err) {
        if (err instanceof CallRefusedError || err instanceof TurnUnreachableError || attempt >= attempts) throw err
        log('dial attempt %d failed: %s', attempt, (err as Error).message)
        void this.channel?.close()
        this.channel = undefined
        await pause(delay)
        delay = Math.min(delay * 2, CALL_DEFAULTS.redialMaxMs)
      }
    }
  }

  private onRoom (state: RoomState | undefined): void {
    const me = state === undefined ? undefined : participantsOf(state).find((p) => p.id === this.network.identity.id)
    if (me === undefined) return
    if (me.stage === 'kicked') {
      this.end(new CallRefusedError('kicked'))
      return
    }
    const phase = this.status.phase === 'reconnecting' && this.pc?.connectionState !== 'connected'
      ? 'reconnecting'
      : me.stage === 'on-air' ? 'on-air' : me.stage === 'left' ? this.status.phase : 'green-room'
    const others = me.producer ? participantsOf(state as RoomState).filter((p) => p.id !== me.id && p.id !== this.init.stationId && p.stage !== 'left' && p.stage !== 'kicked') : undefined
    this.update({ phase, producerMuted: me.producerMuted, coHost: me.producer, others })
  }

  /** Sends the studio a request on the signalling stream (requests never go on the topic). */
  private async sendRoom (message: RoomRequest): Promise<void> {
    const envelope = this.room?.request(message)
    if (envelope !== undefined) await this.channel?.send({ type: 'room', envelope }).catch((err: Error) => { log('room message not sent on the stream: %s', err.message) })
  }

  private end (err: Error): void {
    this.close()
    this.update({ phase: 'ended', error: humanCallError(err) })
  }

  private fail (err: Error): void {
    this.close()
    this.update({ phase: 'failed', error: humanCallError(err) })
  }

  private close (): void {
    this.shutdown.abort()
    this.room?.stop()
    this.remote?.stop()
    this.pc?.close()
    void this.channel?.close()
  }

  private update (patch: Partial<CallStatus>): void {
    this.status = { ...this.status, ...patch }
    this.safeDispatchEvent('status:change', { detail: this.status })
  }
}

/**
 * How long a caller waits before it redials: at once when its audio stopped,
 * a random share of CALL_DEFAULTS.signallingRedialSpreadMs when only the
 * signalling was lost.
 */
export function redialWait (audioFlows: boolean, random: () => number = Math.random): number {
  return audioFlows ? Math.floor(random() * CALL_DEFAULTS.signallingRedialSpreadMs) : 0
}

async function pause (ms: number): Promise<void> {
  if (ms > 0) await new Promise((resolve) => setTimeout(resolve, ms))
}
