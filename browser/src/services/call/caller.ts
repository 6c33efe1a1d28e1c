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
 *
 * The network, the peer connection, TURN, the return audio and the clock
 * are components (CallerComponents); in the app they come from the page's
 * NetworkService (browser-components.ts).
 *
 * @example
 * ```ts
 * const call = new CallerSession(network, { stationId, name, microphone: track, context })   // the app
 * const call = new CallerSession({ network, turn, createPeer, receiveAudio }, { stationId, name, microphone })   // a test
 * call.addEventListener('status:change', (e) => { render(e.detail.phase) })
 * await call.start({ signal })
 * await call.leave()
 * ```
 */
import { logger } from '@libp2p/logger'
import { RoomChannel, ROOM_AUTHORITY_DEFAULTS } from '@openstudio/network'
import { CHAT_MAX_CHARS, decodeChat, encodeChat, participantsOf, sanitizeLine, type ChatRefusal, type Manifest, type ParticipantView, type RoomMessage, type RoomRequest, type RoomState, type SignalMessage } from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import { Backoff, pause } from '../backoff.ts'
import type { NetworkService } from '../network.ts'
import { listenersFor } from '../listeners.ts'
import { ChatLog, type ChatEntry } from '../chat-log.ts'
import { browserCallerComponents } from './browser-components.ts'
import type { AbortOptions, CallerComponents } from './caller-components.ts'
import { CALL_DEFAULTS, CallRefusedError, humanCallError, TurnUnreachableError, UnexpectedMessageError } from './errors.ts'
import { PerfectNegotiation } from './negotiation.ts'
import { preferLowLatency, readCallStats, type MediaPath, type RemoteAudio, type TurnTransport } from './peer.ts'
import type { UploadEndpoint } from '../recording/uploads.ts'
import type { SignalEndpoint } from './signal-endpoint.ts'

const log = logger('openstudio:app:caller')

export type { CallerComponents, CallerNetwork, TurnCredentials } from './caller-components.ts'

export type CallPhase = 'connecting' | 'green-room' | 'on-air' | 'reconnecting' | 'ended' | 'failed'

/**
 * Where a dial is, while connecting or reconnecting: starting this page's
 * network, finding the station's record, reaching its studio through a relay,
 * then waiting for the studio's welcome.
 */
export type CallStep = 'network' | 'resolving' | 'reaching' | 'greeting'

export interface CallStatus {
  phase: CallPhase
  /** The dial's progress; undefined once the studio welcomed the call. */
  step?: CallStep
  /** Muted by the producer (in the program and every mix-minus). */
  producerMuted: boolean
  selfMuted: boolean
  path: MediaPath
  /** How this caller reaches its TURN server, when the call goes through its own. */
  turnTransport?: TurnTransport
  /** The producer granted this caller producer authority (a co-host invite): `others` can be run from here. */
  coHost?: boolean
  /** Everyone else in the room, for a co-host's controls. */
  others?: ParticipantView[]
  /** The show's listeners, as a relay the station lists reported them. */
  listeners?: number
  /** The producer is talking to this caller alone (talkback): the show is ducked under them. */
  hearsTalkback?: boolean
  /** This co-host's push-to-talk to the producer is held. */
  talkingBack?: boolean
  /** Why the studio refused this caller's last chat message, until the next one goes through. */
  chatRefused?: ChatRefusal
  /** Why the call ended or failed, for people. */
  error?: string
}

/** What a co-host may do to another participant: the producer's own controls. */
export type CoHostControl = Extract<RoomMessage, { type: 'mute' | 'unmute' | 'admit' | 'hold' }>

export interface CallerEvents {
  'status:change': CustomEvent<CallStatus>
  /** The studio's return feed started: connect it to hear the show. */
  'return:start': CustomEvent<AudioNode>
  /** A chat message: the producer's, verified, or this caller's own, sent. */
  'chat:message': CustomEvent<ChatEntry>
  /** The studio refused this caller's message (the entry, marked). */
  'chat:refuse': CustomEvent<ChatEntry>
  /** The studio started recording (`recording` names it) or stopped. */
  'recording:change': CustomEvent<{ recording?: string }>
}

/** A call, whatever runs it. */
export interface CallerSettings {
  stationId: string
  name: string
  invite?: string
  /** What the caller wants to talk about: the producer sees it in the green room. */
  topic?: string
  microphone: MediaStreamTrack
  /** 'relay' sends everything through TURN. @default 'all' */
  iceTransportPolicy?: RTCIceTransportPolicy
}

/** A call in the app: the return is heard in `context`. */
export interface CallerInit extends CallerSettings {
  context: AudioContext
}

export class CallerSession extends TypedEventEmitter<CallerEvents> {
  status: CallStatus = { phase: 'connecting', producerMuted: false, selfMuted: false, path: 'connecting' }
  /** Aborted when the call ends: cancels every dial, read, pause and check. */
  private readonly shutdown = new AbortController()
  private readonly components: CallerComponents
  private readonly init: CallerSettings
  private readonly now: () => number
  private readonly pause: NonNullable<CallerComponents['pause']>
  private room?: RoomChannel
  private manifest?: Manifest
  private channel?: SignalEndpoint
  private pc?: RTCPeerConnection
  private remote?: RemoteAudio
  private negotiation?: PerfectNegotiation
  private iceServers?: RTCIceServer[]
  private starting?: Promise<void>
  private leaving?: Promise<void>
  private reconnecting = false
  private snapshotAskedAt = -Infinity
  /** The chat with the producer, as this page shows it. */
  readonly chat = new ChatLog()
  /** This caller's chat messages in this call. */
  private chatCount = 0
  /** The last producer's message shown from the current stream (docs/room.md, "Chat"). */
  private lastChatFromStudio = 0
  /** The studio's recording now, as it said. */
  studioRecording?: string

  /** The station this call dials. */
  get stationId (): string {
    return this.init.stationId
  }
  /** Clock exchanges waiting for the studio's answer, by `t0`. */
  private readonly clockAnswers = new Map<number, (t1: number) => void>()

  /** A call on the page's network. */
  constructor (network: NetworkService, init: CallerInit)
  /** A call on the components given (tests, other platforms). */
  constructor (components: CallerComponents, init: CallerSettings)
  constructor (network: NetworkService | CallerComponents, init: CallerInit | CallerSettings) {
    super()
    this.components = 'network' in network ? network : browserCallerComponents(network, init as CallerInit)
    this.init = init
    this.now = this.components.now ?? Date.now
    this.pause = this.components.pause ?? pause
  }

  /**
   * Dials and joins. Idempotent. A `leave` during it wins: it resolves, and
   * nothing runs; `signal` abandons it the same way, and it rejects.
   * @throws {CallRefusedError | TurnUnreachableError} and the last network error, when the first attempts fail
   */
  async start (options: AbortOptions = {}): Promise<void> {
    this.starting ??= this.begin(options.signal)
    await this.starting
  }

  /**
   * A co-host's control, signed with this caller's key and sent to the
   * studio, which carries it out while the station's grant to this key lasts
   * (docs/room.md); from anyone else it changes nothing.
   */
  async control (message: CoHostControl, options: AbortOptions = {}): Promise<void> {
    await this.sendRoom(message, options)
  }

  /**
   * A co-host's push-to-talk to the producer: while on, this caller's
   * microphone reaches the producer's headphones alone. The studio ignores
   * it from anyone without a co-host grant.
   */
  talkBack (on: boolean): void {
    if (on === (this.status.talkingBack ?? false)) return
    this.update({ talkingBack: on })
    void this.channel?.send({ type: 'talkback', on }).catch((err: Error) => { log('talkback not sent: %s', err.message) })
  }

  /**
   * Writes to the producer: one line of at most CHAT_MAX_CHARS, signed with
   * this caller's key. The studio may refuse it (status `chatRefused`).
   * @returns the entry as the chat shows it, or undefined while no signalling stream is open
   * @throws {MalformedError} for a text that is empty once cleaned
   */
  async sendChat (text: string, options: AbortOptions = {}): Promise<ChatEntry | undefined> {
    if (this.channel === undefined) return undefined
    const { identity } = this.components.network
    const at = this.now()
    const n = ++this.chatCount
    const envelope = encodeChat(identity, { room: this.init.stationId, to: this.init.stationId, n, at, text })
    // In the log before it goes: a refusal can come back at once.
    const entry = this.chat.add({ from: identity.id, to: this.init.stationId, text: sanitizeLine(text, CHAT_MAX_CHARS), at, n })
    await this.sendChatEnvelope(envelope, options)
    this.safeDispatchEvent('chat:message', { detail: entry })
    return entry
  }

  /** Sends a chat envelope as it is, signed or not (sendChat signs one; diagnostics send others). */
  async sendChatEnvelope (envelope: Uint8Array, options: AbortOptions = {}): Promise<void> {
    if (this.status.chatRefused !== undefined) this.update({ chatRefused: undefined })
    await this.channel?.send({ type: 'chat', envelope }, options).catch((err: Error) => { log('chat not sent: %s', err.message) })
  }

  setSelfMuted (muted: boolean): void {
    this.init.microphone.enabled = !muted
    this.update({ selfMuted: muted })
    void this.sendRoom({ type: 'self-mute', muted })
  }

  /** Leaves the show and hangs up: the call's stop. Idempotent; resolves once nothing runs. */
  async leave (options: AbortOptions = {}): Promise<void> {
    this.leaving ??= this.hangUp(options)
    await this.leaving
  }

  /**
   * Measures the studio's clock against this computer's over the signalling
   * stream: the offset (ms to add to this clock) of the exchange with the
   * shortest round trip of `rounds`.
   * @throws when no exchange is answered within its second
   */
  async measureClockOffset (rounds = 5): Promise<number> {
    let best: { rtt: number, offset: number } | undefined
    for (let i = 0; i < rounds; i++) {
      const t0 = this.now()
      const t1 = await new Promise<number | undefined>((resolve) => {
        this.clockAnswers.set(t0, resolve)
        void this.channel?.send({ type: 'clock', t0 }).catch(() => { resolve(undefined) })
        void this.pause(1000, { signal: this.shutdown.signal }).then(() => { resolve(undefined) }, () => { resolve(undefined) })
      })
      this.clockAnswers.delete(t0)
      const t3 = this.now()
      if (t1 !== undefined && (best === undefined || t3 - t0 < best.rtt)) best = { rtt: t3 - t0, offset: t1 - (t0 + t3) / 2 }
    }
    if (best === undefined) throw new Error('the studio did not answer the clock exchange')
    log('clock: studio is %d ms ahead (round trip %d ms)', best.offset, best.rtt)
    return best.offset
  }

  /**
   * Opens an upload stream to the studio (the double-ender).
   * @throws when this caller has no network to upload on, or no direct connection to the studio now
   */
  async openUpload (options: { signal: AbortSignal }): Promise<UploadEndpoint> {
    const { openUpload } = this.components.network
    if (openUpload === undefined || this.manifest === undefined) throw new Error('this call cannot upload')
    return openUpload(this.manifest.studio?.peer ?? this.manifest.id, options)
  }

  /** This caller's peer id: the key its room requests and chat messages are signed with. */
  get peerId (): string {
    return this.components.network.identity.id
  }

  /** For diagnostics and support: the room as this caller sees it. */
  get roomChannel (): RoomChannel | undefined {
    return this.room
  }

  private async begin (signal?: AbortSignal): Promise<void> {
    const aborted = signal === undefined ? this.shutdown.signal : AbortSignal.any([this.shutdown.signal, signal])
    const abandon = (): void => { this.end() }
    signal?.addEventListener('abort', abandon, { once: true })
    try {
      aborted.throwIfAborted()
      const { network } = this.components
      this.update({ step: 'network' })
      const components = await network.start({ signal: aborted })
      this.update({ step: 'resolving' })
      this.manifest = await network.resolve(this.init.stationId, { signal: aborted })
      aborted.throwIfAborted()
      const room = new RoomChannel(components, this.init.stationId, { id: network.identity.id, secretKey: network.identity.secretKey })
      room.addEventListener('state:change', (e) => { this.onRoom(e.detail.state) })
      // Commands came before the ones they follow: ask for the whole state, at most once a second.
      room.addEventListener('state:gap', () => {
        if (this.now() - this.snapshotAskedAt < ROOM_AUTHORITY_DEFAULTS.snapshotIntervalMs) return
        this.snapshotAskedAt = this.now()
        void this.sendRoom({ type: 'snapshot-request' })
      })
      room.addEventListener('listeners:report', (e) => {
        const shown = listenersFor(this.manifest as Manifest, [e.detail], this.now())
        if (shown !== undefined) this.update({ listeners: shown.count })
      })
      this.room = room
      room.start()
      await this.dial(CALL_DEFAULTS.firstDialAttempts, aborted)
    } catch (err) {
      if (this.shutdown.signal.aborted) {
        // Left, or abandoned, while it started: nothing runs.
        this.end()
        if (signal?.aborted === true) throw signal.reason
        return
      }
      this.fail(err as Error)
      throw err
    } finally {
      signal?.removeEventListener('abort', abandon)
    }
  }

  private async hangUp (options: AbortOptions): Promise<void> {
    if (this.shutdown.signal.aborted) return
    log.trace('leaving on %s', this.channel?.open === true ? 'an open stream' : 'no open stream')
    await this.sendRoom({ type: 'leave' }, options)
    await this.channel?.send({ type: 'bye', reason: 'caller left' }, options).catch((err: Error) => { log('bye not sent: %s', err.message) })
    this.end()
  }

  /**
   * One attempt: a signalling stream, hello, welcome, TURN, then the peer
   * connection (or, when only the signalling was lost, the same one).
   * @throws {CallRefusedError} when the studio refuses the hello
   */
  private async connect (signal: AbortSignal): Promise<void> {
    const manifest = this.manifest as Manifest
    const { network } = this.components
    this.update({ step: 'reaching' })
    await network.dial(manifest, { signal })
    this.update({ step: 'greeting' })
    const opening = AbortSignal.any([signal, AbortSignal.timeout(CALL_DEFAULTS.helloTimeoutMs)])
    const channel = await network.openSignal(manifest.studio?.peer ?? manifest.id, { signal: opening })
    const resume = this.pc?.connectionState === 'connected'
    try {
      opening.throwIfAborted()
      await channel.send({ type: 'hello', name: this.init.name, invite: this.init.invite, topic: this.init.topic, resume }, { signal: opening })
      const answer = await channel.read({ signal: opening })
      if (answer?.type === 'refused') throw new CallRefusedError(answer.reason)
      if (answer?.type !== 'welcome') throw new UnexpectedMessageError('welcome', answer?.type)
      // The hello put this caller in the room (a returning one keeps its place); the studio sends the room state next.
      // The welcome's pass opens the station's TURN (an invite, for a studio that sends none).
      const credentials = answer.pass === undefined ? { invite: this.init.invite } : { pass: answer.pass }
      this.iceServers ??= await this.components.turn(manifest, credentials, { policy: this.init.iceTransportPolicy ?? 'all', signal })
      signal.throwIfAborted()
    } catch (err) {
      void channel.close()
      throw err
    }
    // From here to the read loop nothing is awaited: a call that ended meanwhile has thrown above.
    this.channel = channel
    this.lastChatFromStudio = 0
    this.update({ step: undefined })
    if (resume && this.negotiation !== undefined) {
      // Only the signalling was lost (a relayed connection reached its limit, say): the audio never stopped.
      this.negotiation.setSend(async (m) => { await channel.send(m) })
      this.onRoom(this.room?.state)
    } else {
      this.startPeer(channel)
    }
    void this.readLoop(channel)
    if (this.status.selfMuted) await this.sendRoom({ type: 'self-mute', muted: true })
  }

  private startPeer (channel: SignalEndpoint): void {
    this.pc?.close()
    this.remote?.stop()
    const pc = this.components.createPeer({ iceServers: this.iceServers, iceTransportPolicy: this.init.iceTransportPolicy })
    this.pc = pc
    const send = async (m: SignalMessage): Promise<void> => { await channel.send(m) }
    const negotiation = new PerfectNegotiation(pc, send, { polite: true, onError: (err) => { log('negotiation: %s', err.message) } })
    pc.addTransceiver(this.init.microphone, { direction: 'sendrecv' })
    pc.addEventListener('track', ({ track, receiver }) => {
      if (pc !== this.pc) return
      preferLowLatency(receiver)
      this.remote?.stop()
      this.remote = this.components.receiveAudio(track)
      this.safeDispatchEvent('return:start', { detail: this.remote.source })
    })
    const readPath = (): void => { this.readPath(pc) }
    pc.addEventListener('connectionstatechange', () => { this.onPeerState(pc, readPath) })
    this.negotiation = negotiation
  }

  /** The one reader of the signalling stream: negotiation, the room, the studio's refusal or bye. */
  private async readLoop (channel: SignalEndpoint): Promise<void> {
    try {
      for await (const message of channel.messages({ signal: this.shutdown.signal })) {
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
          case 'talkback':
            this.update({ hearsTalkback: message.on })
            break
          case 'chat':
            this.onChat(channel, message.envelope)
            break
          case 'recording':
            this.studioRecording = message.recording
            this.safeDispatchEvent('recording:change', { detail: { recording: message.recording } })
            break
          case 'clock':
            if (message.t1 !== undefined) this.clockAnswers.get(message.t0)?.(message.t1)
            break
          case 'chat-refused': {
            this.update({ chatRefused: message.reason })
            const marked = message.n === undefined ? undefined : this.chat.refuse(this.peerId, message.n, message.reason)
            if (marked !== undefined) this.safeDispatchEvent('chat:refuse', { detail: marked })
            break
          }
          case 'hello':
          case 'welcome':
            break
        }
      }
    } catch (err) {
      if (!this.shutdown.signal.aborted) log('signalling stream failed: %s', (err as Error).message)
    }
    if (this.channel === channel && !this.shutdown.signal.aborted) void this.reconnect('the signalling stream closed')
  }

  /** The producer's chat message: shown when the station signed it on this stream, for this caller or all, and newer than the last. */
  private onChat (channel: SignalEndpoint, envelope: Uint8Array): void {
    const decoded = decodeChat(envelope, this.init.stationId)
    const me = this.components.network.identity.id
    if (!decoded.ok) {
      log('chat from the studio dropped: %s', decoded.error.name)
      return
    }
    const message = decoded.value
    const fromStudio = message.from === this.init.stationId && channel.remotePeer.toString() === message.from
    if (!fromStudio || (message.to !== me && message.to !== 'all') || message.n <= this.lastChatFromStudio) {
      log('chat from the studio dropped: not the station\'s, not for this caller, or replayed')
      return
    }
    this.lastChatFromStudio = message.n
    this.safeDispatchEvent('chat:message', { detail: this.chat.add(message) })
  }

  private readPath (pc: RTCPeerConnection): void {
    void readCallStats(pc).then((s) => {
      if (pc === this.pc) this.update({ path: s.path, turnTransport: s.turnTransport })
    }, (err: Error) => { log('stats: %s', err.message) })
  }

  private onPeerState (pc: RTCPeerConnection, readPath: () => void): void {
    if (pc !== this.pc || this.shutdown.signal.aborted) return
    if (pc.connectionState === 'connected') {
      readPath()
      // ICE may nominate a better pair after it connects (a TURN pair first, then the
      // direct one), so the path is read again whenever the selected pair changes.
      // The same listener added twice is one listener.
      pc.getSenders()[0]?.transport?.iceTransport?.addEventListener('selectedcandidatepairchange', readPath)
      if (this.status.phase === 'reconnecting') this.onRoom(this.room?.state)
      return
    }
    if (pc.connectionState === 'disconnected' || pc.connectionState === 'failed') {
      if (this.channel?.open === true && pc.connectionState === 'failed') {
        log('media path failed: restarting ICE')
        pc.restartIce()
      }
      // A drop that an ICE restart has not mended in time becomes a fresh dial.
      this.pause(CALL_DEFAULTS.iceRestartGraceMs, { signal: this.shutdown.signal }).then(() => {
        if (pc === this.pc && pc.connectionState !== 'connected') void this.reconnect(`the media path is ${pc.connectionState}`)
      }, () => { /* the call ended first: nothing to check */ })
    }
  }

  private async reconnect (why: string): Promise<void> {
    if (this.reconnecting || this.shutdown.signal.aborted) return
    this.reconnecting = true
    log('reconnecting: %s', why)
    const audioFlows = this.pc?.connectionState === 'connected'
    if (!audioFlows) this.update({ phase: 'reconnecting' })
    void this.channel?.close()
    this.channel = undefined
    try {
      await this.pause(redialWait(audioFlows, this.components.random), { signal: this.shutdown.signal })
      await this.dial(Infinity, this.shutdown.signal)
    } catch (err) {
      if (err instanceof CallRefusedError) this.end(err)
      else if (!this.shutdown.signal.aborted) log('redial failed: %s', (err as Error).message)
    } finally {
      this.reconnecting = false
    }
  }

  /**
   * Dials until it works, backing off between attempts; a refusal ends it at once.
   * @throws the last error after `attempts` failures, the refusal, or the signal's reason
   */
  private async dial (attempts: number, signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ initialMs: CALL_DEFAULTS.redialFirstMs, maxMs: CALL_DEFAULTS.redialMaxMs })
    for (let attempt = 1; ; attempt++) {
      signal.throwIfAborted()
      try {
        await this.connect(signal)
        return
      } catch (err) {
        signal.throwIfAborted()
        if (err instanceof CallRefusedError || err instanceof TurnUnreachableError || attempt >= attempts) throw err
        log('dial attempt %d failed: %s', attempt, (err as Error).message)
        await this.pause(backoff.next(), { signal })
      }
    }
  }

  private onRoom (state: RoomState | undefined): void {
    if (this.shutdown.signal.aborted) return
    const me = state === undefined ? undefined : participantsOf(state, this.now()).find((p) => p.id === this.components.network.identity.id)
    if (me === undefined) return
    if (me.stage === 'kicked') {
      this.end(new CallRefusedError('kicked'))
      return
    }
    const phase = this.status.phase === 'reconnecting' && this.pc?.connectionState !== 'connected'
      ? 'reconnecting'
      : me.stage === 'on-air' ? 'on-air' : me.stage === 'left' ? this.status.phase : 'green-room'
    const others = me.producer ? participantsOf(state as RoomState, this.now()).filter((p) => p.id !== me.id && p.id !== this.init.stationId && p.stage !== 'left' && p.stage !== 'kicked') : undefined
    this.update({ phase, producerMuted: me.producerMuted, coHost: me.producer, others })
  }

  /** Sends the studio a request on the signalling stream (requests never go on the topic). */
  private async sendRoom (message: RoomRequest, options: AbortOptions = {}): Promise<void> {
    const envelope = this.room?.request(message)
    if (envelope !== undefined) await this.channel?.send({ type: 'room', envelope }, options).catch((err: Error) => { log('room message not sent on the stream: %s', err.message) })
  }

  /** The call is over (`err` says why, when it was not this caller's choice): nothing runs after it. */
  private end (err?: Error): void {
    if (this.status.phase === 'ended' || this.status.phase === 'failed') {
      this.close()
      return
    }
    this.close()
    this.update({ phase: 'ended', error: err === undefined ? undefined : humanCallError(err) })
  }

  private fail (err: Error): void {
    this.close()
    this.update({ phase: 'failed', error: humanCallError(err) })
  }

  /** Stops everything the call runs. Idempotent. */
  private close (): void {
    if (!this.shutdown.signal.aborted) this.shutdown.abort()
    this.room?.stop()
    this.remote?.stop()
    this.pc?.close()
    void this.channel?.close()
  }

  private update (patch: Partial<CallStatus>): void {
    if ('step' in patch && patch.step !== this.status.step) log('dial step: %s', patch.step ?? 'welcomed')
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
