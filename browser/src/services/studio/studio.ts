/**
 * The studio: the station's own node takes calls on `/openstudio/signal/1`,
 * runs the room as its one authority (RoomAuthority: the station key signs
 * every command; callers' and co-hosts' requests come on their signalling
 * streams and are judged there; see docs/room.md), and mixes everyone
 * locally: the program, and one mix-minus per caller, rebuilt from the room
 * state on every change.
 *
 * Everything outside the room's logic comes in as components
 * (StudioComponents): the host's audio, the signalling handler, the WebRTC
 * side of each call, the room topic, TURN and the clock. Signalling streams
 * come in through `handleChannel`; what changes goes out as typed events.
 * `StudioService.start(init)` wires the browser's components
 * (browser-components.ts); unit tests wire in-memory ones.
 *
 * @example
 * ```ts
 * // The app:
 * const studio = await StudioService.start({ key, node, access: () => 'open' }, { signal })
 * // A test (or another platform):
 * const studio = new StudioService({ audio, signal, calls, pubsub, invites }, { key })
 * await studio.start({ signal })
 * studio.addEventListener('callers:change', (e) => { render(e.detail) })
 * await studio.admit(peer)
 * await studio.stop()
 * ```
 */
import { logger } from '@libp2p/logger'
import { InviteBook, RoomAuthority, RoomChannel, type InviteEntry } from '@openstudio/network'
import {
  CALL_PASS_TTL_MS, CHAT_MAX_CHARS, CHAT_TO_ALL, ChatGate, createCallPass, encodeChat, isProducer, participantsOf, planMix, sanitizeLine,
  type ChatRefusal,
  type InviteRole, type MixParticipant, type ParticipantView, type RoomCommand, type RoomState, type StationKey, type Talkback
} from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import type { MixerLevels, ProcessingSettings } from '../../audio/index.ts'
import { CALL_DEFAULTS, UnexpectedMessageError } from '../call/errors.ts'
import type { CallStats } from '../call/peer.ts'
import type { SignalEndpoint } from '../call/signal-endpoint.ts'
import { ChatLog, type ChatEntry } from '../chat-log.ts'
import type { Broadcast, BroadcastInit } from '../program/broadcast.ts'
import type { RecordingInit, StudioRecorder } from '../recording/recorder.ts'
import type { UploadReceiver } from '../recording/uploads.ts'
import { browserStudioComponents, type BrowserStudioInit } from './browser-components.ts'
import type { AbortOptions, StudioAudio, StudioCall, StudioComponents, StudioMixerPart } from './components.ts'
import { StudioNotRunningError, StudioStoppedError } from './errors.ts'
import { RecordingDesk } from './recording-desk.ts'
import { ScreeningBook, type Screened } from './screening.ts'

export type { SignalHandler, StudioAudio, StudioCall, StudioCallInit, StudioComponents, StudioMixerPart } from './components.ts'

const log = logger('openstudio:app:studio')

/** The cart wall's place in the mixer (peer ids never look like this). */
export const CARTS_ID = 'carts'

/** Where the cart wall plays, and what it may do to the show. */
export interface CartOutput {
  context: BaseAudioContext
  /** Connect players here: the program, every caller's return and the host's monitor hear it. */
  input: AudioNode
  /** The voices in the program, for a bed that gives way to them. */
  voiceKey: AudioNode
  /** Takes the voices in the program to `db` (0: back up) over `seconds`. */
  duckVoices: (db: number, seconds?: number) => void
}

/** A caller as the producer sees it: room state plus the live call. */
export interface StudioCaller extends ParticipantView, Screened {
  connected: boolean
  stats?: CallStats
  privateTalk: boolean
  /** The producer is talking to this caller alone (talkback, push-to-talk). */
  hearsTalkback: boolean
  /** This co-host is talking to the producer alone (talkback, push-to-talk). */
  talkingBack: boolean
  /** The producer silenced this caller's chat: its messages are refused. */
  chatSilenced: boolean
}

export interface StudioEvents {
  /** The room or a call changed: re-render the callers. */
  'callers:change': CustomEvent<StudioCaller[]>
  /** The show went on or off air (also sent on every other room change). */
  'on-air:change': CustomEvent<{ onAir: boolean, since?: number }>
  /** A chat message: a caller's, accepted, or the producer's own, sent. */
  'chat:message': CustomEvent<ChatEntry>
  /** A caller's chat message was refused (the caller is told why). */
  'chat:refuse': CustomEvent<{ peer: string, reason: ChatRefusal }>
}

export interface StudioInit {
  key: StationKey
  /** The station's access policy, read at each call ('invite': callers need a valid invite token). @default () => 'open' */
  access?: () => 'open' | 'invite'
}

export class StudioService extends TypedEventEmitter<StudioEvents> {
  readonly room: RoomChannel
  /** Decides everything that happens in the room. */
  readonly authority: RoomAuthority
  /** The invites this studio issued. */
  readonly invites: InviteBook
  onAirSince?: number
  /** The program on its way to Icecast, while the show is live. */
  broadcast?: Broadcast
  private readonly links = new Map<string, StudioCall>()
  private readonly privateTalk = new Set<string>()
  /** The caller the producer's push-to-talk goes to now. */
  private talkbackTarget?: string
  /** Co-hosts talking to the producer now. */
  private readonly talkingBack = new Set<string>()
  /** Judges every chat message a caller sends. */
  readonly chatGate: ChatGate
  /** The chat, as the producer's screen shows it. */
  readonly chat = new ChatLog()
  /** The producer's chat messages in this session. */
  private chatCount = 0
  /** What the producer knows of each caller in the room beyond its state: topic, wait, note. */
  private readonly screening: ScreeningBook
  /** The voices, the recorder and the callers' uploads. */
  private readonly desk: RecordingDesk
  /** Aborted by `stop` (or a failed start): cancels the start, hello reads, and every call. */
  private readonly shutdown = new AbortController()
  private readonly now: () => number
  private iceServers: RTCIceServer[] = []
  private audio?: StudioAudio
  private unhandle?: () => Promise<void>
  private starting?: Promise<void>
  private stopping?: Promise<void>

  constructor (private readonly components: StudioComponents, private readonly init: StudioInit) {
    super()
    this.now = components.now ?? Date.now
    this.room = new RoomChannel({ pubsub: components.pubsub }, init.key.id, { id: init.key.id, secretKey: init.key.secretKey }, { now: this.now })
    this.invites = new InviteBook({ key: init.key, store: components.invites, now: this.now })
    this.authority = new RoomAuthority({ channel: this.room, invites: this.invites, access: init.access, now: this.now })
    this.chatGate = new ChatGate(init.key.id, { now: this.now })
    this.screening = new ScreeningBook(this.now)
    this.desk = new RecordingDesk({
      recorder: () => this.audio?.recorder,
      calls: () => this.links.values(),
      delayMs: (peer) => {
        const stats = this.links.get(peer)?.stats
        return (stats?.rttMs ?? 0) / 2 + (stats?.jitterBufferMs ?? 0)
      }
    })
    this.room.addEventListener('state:change', () => { this.replan() })
  }

  /**
   * The app's studio: opens the host microphone and starts taking calls on
   * the station's node.
   * @throws the signal's reason when `signal` aborted the start (nothing runs then), or why the start failed (rolled back)
   */
  static async start (init: BrowserStudioInit, options: AbortOptions = {}): Promise<StudioService> {
    const studio = new StudioService(browserStudioComponents(init), init)
    await studio.start(options)
    return studio
  }

  get stationId (): string {
    return this.init.key.id
  }

  /**
   * Opens the host's audio, puts the host in the room and starts taking
   * calls. Idempotent. A studio runs once: a `stop`, or `signal`, during it
   * leaves nothing running; so does a failure.
   * @throws {StudioStoppedError} when stopped before or during it
   * @throws the signal's reason when `signal` aborted it, or a component's error (the start is rolled back)
   */
  async start (options: AbortOptions = {}): Promise<void> {
    this.starting ??= this.begin(options.signal)
    await this.starting
    if (this.shutdown.signal.aborted) throw new StudioStoppedError()
  }

  /** Ends every call and closes the audio. Idempotent; resolves once nothing runs. */
  async stop (): Promise<void> {
    this.stopping ??= this.halt()
    await this.stopping
  }

  /** Everyone in the room but the host, with live call data. */
  get callers (): StudioCaller[] {
    return participantsOf(this.room.state, this.now()).filter((p) => p.id !== this.stationId).map((p) => {
      const link = this.links.get(p.id)
      return {
        ...p,
        connected: link !== undefined,
        ...this.screening.get(p.id),
        stats: link?.stats,
        privateTalk: this.privateTalk.has(p.id),
        hearsTalkback: this.talkbackTarget === p.id,
        talkingBack: this.talkingBack.has(p.id),
        chatSilenced: this.chatGate.isSilenced(p.id)
      }
    })
  }

  get host (): ParticipantView | undefined {
    return participantsOf(this.room.state, this.now()).find((p) => p.id === this.stationId)
  }

  /** The AudioContext the studio mixes in. @throws {StudioNotRunningError} */
  get context (): AudioContext {
    return this.running().context ?? notRunning('the studio\'s audio has no context')
  }

  /** A tap on the program, after the limiter (meters, diagnostics, the encoder). @throws {StudioNotRunningError} */
  get programAnalyser (): AnalyserNode {
    return this.running().programTap ?? notRunning('the studio\'s audio has no program tap')
  }

  /** The program processor's target, ceiling and switch. @throws {StudioNotRunningError} */
  get processing (): ProcessingSettings {
    return this.running().mixer.processing
  }

  /** Changes the program processor's target, ceiling or switch. @throws {StudioNotRunningError} */
  setProcessing (change: Partial<ProcessingSettings>): void {
    this.running().mixer.setProcessing(change)
  }

  /** Starts the program's loudness measurement afresh (integrated, range, peaks). @throws {StudioNotRunningError} */
  resetLoudness (): void {
    this.running().mixer.resetLoudness()
  }

  /** The mixer (diagnostics and benchmarks tap its program). @throws {StudioNotRunningError} */
  get mixer (): StudioMixerPart {
    return this.running().mixer
  }

  /** Where the cart wall plays. @throws {StudioNotRunningError} (also when this studio's audio has no cart input) */
  get cartOutput (): CartOutput {
    const { mixer, carts, context } = this.running()
    if (carts === undefined || context === undefined) notRunning('this studio has no cart input')
    return { context, input: carts, voiceKey: mixer.voiceKey, duckVoices: (db, seconds) => { mixer.duckVoices(db, seconds) } }
  }

  /** The multitrack recorder, when this studio's audio has one. @throws {StudioNotRunningError} */
  get recorder (): StudioRecorder | undefined {
    return this.running().recorder
  }

  /**
   * Starts recording the program, the host and every caller, each on its
   * own track (callers who come later get theirs as they come).
   * @throws {StudioNotRunningError} without a recorder; RecorderStateError while one runs
   */
  async startRecording (init: RecordingInit): Promise<void> {
    const { recorder, mixer } = this.running()
    if (recorder === undefined) notRunning('this studio cannot record')
    await this.desk.start(recorder, init, mixer.programOutput)
  }

  /** Stops the recording and finishes its files; callers stop theirs and finish their uploads. */
  async stopRecording (): Promise<void> {
    await this.desk.stop()
  }

  /** Callers' own recordings (the double-ender), while this studio records or just did. */
  get uploads (): UploadReceiver | undefined {
    return this.desk.uploads
  }

  /** Every meter. @throws {StudioNotRunningError} */
  levels (): MixerLevels {
    return this.running().mixer.levels()
  }

  admit = async (peer: string, options?: AbortOptions): Promise<void> => {
    this.privateTalk.delete(peer)
    await this.control({ type: 'admit', peer }, options)
  }

  hold = async (peer: string, options?: AbortOptions): Promise<void> => { await this.control({ type: 'hold', peer }, options) }
  mute = async (peer: string, options?: AbortOptions): Promise<void> => { await this.control({ type: 'mute', peer }, options) }
  unmute = async (peer: string, options?: AbortOptions): Promise<void> => { await this.control({ type: 'unmute', peer }, options) }
  setGain = async (peer: string, db: number, options?: AbortOptions): Promise<void> => { await this.control({ type: 'gain', peer, db }, options) }
  goOnAir = async (options?: AbortOptions): Promise<void> => { await this.control({ type: 'on-air' }, options) }
  goOffAir = async (options?: AbortOptions): Promise<void> => { await this.control({ type: 'off-air' }, options) }

  /** Removes a caller, and ends its co-host grant if it holds one. */
  async kick (peer: string, options?: AbortOptions): Promise<void> {
    await this.control({ type: 'kick', peer }, options)
    await this.links.get(peer)?.send({ type: 'refused', reason: 'kicked' }, options)
    this.drop(peer)
  }

  /**
   * Starts encoding the program and streaming it to a relay. The returned
   * broadcast reports how that goes; `endBroadcast` ends it.
   * @throws {StudioNotRunningError} before start, after stop, or without a broadcast component
   */
  async startBroadcast (init: Omit<BroadcastInit, 'input' | 'node'>, options: AbortOptions = {}): Promise<Broadcast> {
    const start = this.components.broadcast ?? notRunning('this studio has no way to broadcast')
    const input = this.running().mixer.programOutput
    await this.endBroadcast()
    const broadcast = await start({ ...init, input }, { signal: this.signalWith(options.signal) })
    // A stop while it started: the studio's teardown has run already, so this one ends here.
    if (this.shutdown.signal.aborted) {
      await broadcast.stop()
      throw new StudioStoppedError()
    }
    this.broadcast = broadcast
    return broadcast
  }

  async endBroadcast (): Promise<void> {
    const running = this.broadcast
    this.broadcast = undefined
    await running?.stop()
  }

  /**
   * Signs an invite link token for this station and records it.
   * @throws {MalformedError} when it would last longer than a week
   */
  createInvite (init: { role: InviteRole, validForMs: number, label?: string, singleUse?: boolean }): string {
    return this.invites.issue(init).token
  }

  /** Revokes an invite; a co-host who came in with it loses its grant at once. */
  async revokeInvite (nonce: string, options?: AbortOptions): Promise<InviteEntry[]> {
    await this.fanOut(await this.authority.revokeInvite(nonce), options)
    return this.invites.list()
  }

  /** Talks privately with a caller in the green room (the program does not hear it). */
  setPrivateTalk (peer: string, on: boolean): void {
    if (on) this.privateTalk.add(peer)
    else this.privateTalk.delete(peer)
    this.replan()
  }

  /**
   * Sends a chat message, signed by the station, to one caller in a call or
   * to all of them (CHAT_TO_ALL). The text is made one line of at most
   * CHAT_MAX_CHARS.
   * @returns the entry as the chat shows it, or undefined for nobody in a call
   * @throws {MalformedError} for a text that is empty once cleaned
   */
  async sendChat (to: string, text: string, options: AbortOptions = {}): Promise<ChatEntry | undefined> {
    const links = to === CHAT_TO_ALL ? [...this.links.values()] : [this.links.get(to)].filter((l) => l !== undefined)
    if (links.length === 0) return undefined
    const at = this.now()
    const envelope = encodeChat({ id: this.stationId, secretKey: this.init.key.secretKey }, { room: this.stationId, to, n: ++this.chatCount, at, text })
    await Promise.all(links.map(async (link) => { await link.send({ type: 'chat', envelope }, options) }))
    const entry = this.chat.add({ from: this.stationId, to, text: sanitizeLine(text, CHAT_MAX_CHARS), at })
    this.safeDispatchEvent('chat:message', { detail: entry })
    return entry
  }

  /** Silences a caller's chat (its messages are refused as 'silenced', across redials), or lets it write again. */
  silenceChat (peer: string, silenced: boolean): void {
    if (silenced) this.chatGate.silence(peer)
    else this.chatGate.unsilence(peer)
    this.emitCallers()
  }

  /** Keeps the producer's note on a caller while it is in the room (see ScreeningBook.setNote). */
  setNote (peer: string, text: string): void {
    if (this.screening.setNote(peer, text)) this.emitCallers()
  }

  /**
   * Talkback (IFB): while `peer` is set, the producer's microphone goes to
   * that caller alone, over the show ducked by `talkbackDuckDb`, and leaves
   * the program and every other return. `undefined` ends it. The caller's
   * page is told either way. A caller not in a call is ignored.
   */
  talkTo (peer: string | undefined): void {
    const target = peer !== undefined && this.links.has(peer) ? peer : undefined
    if (target === this.talkbackTarget) return
    const previous = this.talkbackTarget
    this.talkbackTarget = target
    if (previous !== undefined) void this.links.get(previous)?.send({ type: 'talkback', on: false })
    if (target !== undefined) void this.links.get(target)?.send({ type: 'talkback', on: true })
    this.replan()
  }

  /** How far (dB) a caller's return takes the show down under the producer's talkback. @throws {StudioNotRunningError} */
  get talkbackDuckDb (): number {
    return this.running().mixer.talkbackDuckDb
  }

  /** Sets how far (dB, at most 0) the show goes down under talkback. @throws {StudioNotRunningError} */
  setTalkbackDuck (db: number): void {
    this.running().mixer.setTalkbackDuck(db)
  }

  /**
   * Takes one incoming signalling stream (the signal handler hands each
   * here): the caller's hello, then its call until the stream ends. A caller
   * whose audio still flows and who says hello again with `resume` keeps its
   * call, now on the new stream. Never throws: a bad stream is aborted.
   */
  async handleChannel (channel: SignalEndpoint): Promise<void> {
    const peer = channel.remotePeer.toString()
    try {
      const hello = await channel.read({ signal: AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(CALL_DEFAULTS.helloTimeoutMs)]) })
      if (hello?.type !== 'hello') throw new UnexpectedMessageError('hello', hello?.type)
      this.running()
      // Full: every call line is taken, or every room record is someone in a call or kicked.
      const full = (this.links.size >= CALL_DEFAULTS.maxCallers && !this.links.has(peer)) || !this.authority.canEnter(peer)
      const admission = full ? { ok: false as const, reason: 'full' as const } : this.authority.admit(peer, hello.invite)
      if (!admission.ok) {
        log('refused %s (%s): %s', peer, hello.name, admission.reason)
        await channel.send({ type: 'refused', reason: admission.reason })
        await channel.close()
        return
      }
      // The pass gets the caller TURN credentials from the station's relays; a resumed call gets a fresh one.
      await channel.send({ type: 'welcome', pass: createCallPass(this.init.key, { peer, expiresAt: this.now() + CALL_PASS_TTL_MS }) })
      this.screening.handleHello(peer, hello.topic)
      const existing = this.links.get(peer)
      if (hello.resume === true && existing?.connected === true) {
        log('%s is back on a new signalling stream; the call goes on', peer)
        existing.rebind(channel)
        await this.sendSnapshot(existing)
        if (this.desk.recording) await this.desk.announce(existing)
        await this.serve(existing)
        return
      }
      if (existing !== undefined) this.drop(peer)
      // A new call counts its chat messages from 1 again.
      this.chatGate.forget(peer)
      // Checked again with nothing awaited until the call is in `links`, so that a stop's teardown ends it.
      const mixer = this.running().mixer
      const link = this.components.calls(channel, {
        id: peer,
        name: hello.name,
        iceServers: this.iceServers,
        returnFeed: mixer.busOutput(peer),
        onSource: (source) => {
          if (this.links.get(peer) !== link) return
          // A second track from the same caller swaps the source and keeps the routing.
          this.audio?.mixer.addParticipant(peer, source)
          this.desk.hear(peer, hello.name, source)
          this.replan()
        },
        onStats: () => { this.emitCallers() },
        onLost: () => { if (this.links.get(peer) === link) this.drop(peer) }
      })
      this.links.set(peer, link)
      // In the room (a host invite: with a grant, and straight on air); everyone else hears of it, the caller gets the whole state.
      const entered = await this.authority.enter(peer, hello.name, admission)
      await this.fanOut(entered)
      await this.sendSnapshot(link)
      if (this.desk.recording) await this.desk.announce(link)
      log('%s (%s) is in%s', hello.name, peer, admission.grantUntil === undefined ? '' : ' as a co-host')
      await this.serve(link)
    } catch (err) {
      log('call from %s: %s', peer, (err as Error).message)
      channel.abort(err as Error)
      // A call whose stream failed and whose audio does not flow is over.
      const link = this.links.get(peer)
      if (link?.channel === channel && !link.connected) this.drop(peer)
    }
  }

  private async begin (signal?: AbortSignal): Promise<void> {
    const aborted = this.signalWith(signal)
    try {
      aborted.throwIfAborted()
      this.audio = await this.components.audio({ signal: aborted })
      aborted.throwIfAborted()
      const { mixer, microphone, monitor, carts } = this.audio
      mixer.addParticipant(this.stationId, microphone)
      this.desk.hear(this.stationId, 'Host', microphone)
      if (carts !== undefined) mixer.addParticipant(CARTS_ID, carts, 'cart')
      // The host's headphones: everyone but the host.
      mixer.busOutput(this.stationId).connect(monitor)
      this.authority.start()
      await this.control({ type: 'present', peer: this.stationId, name: 'Host' }, { signal: aborted })
      await this.control({ type: 'admit', peer: this.stationId }, { signal: aborted })
      this.iceServers = await this.components.iceServers?.({ signal: aborted }) ?? []
      aborted.throwIfAborted()
      this.unhandle = await this.components.signal((channel) => { void this.handleChannel(channel) }, { signal: aborted })
      aborted.throwIfAborted()
      await this.desk.openUploads(this.components.uploads, this.shutdown.signal, { signal: aborted })
      aborted.throwIfAborted()
      log('studio of %s is taking calls (%s)', this.stationId, this.init.access?.() ?? 'open')
    } catch (err) {
      // Stopped or aborted: say so (a component may have failed its own way on the abort); otherwise the failure itself.
      // Decided before the rollback below aborts the shutdown signal, which `aborted` follows.
      const cause: unknown = aborted.aborted ? aborted.reason : err
      // A studio runs once: a failed or abandoned start leaves nothing running.
      if (!this.shutdown.signal.aborted) this.shutdown.abort(new StudioStoppedError('the studio did not start'))
      await this.teardown()
      throw cause
    }
  }

  private async halt (): Promise<void> {
    if (!this.shutdown.signal.aborted) this.shutdown.abort(new StudioStoppedError())
    // A start in progress sees the abort and rolls itself back.
    await this.starting?.catch(() => {})
    await this.teardown()
  }

  /** Releases everything the start took, in reverse. Idempotent. */
  private async teardown (): Promise<void> {
    await this.endBroadcast().catch((err: Error) => { log('broadcast did not stop cleanly: %s', err.message) })
    // A recording ends with the studio, its files finished.
    await this.desk.close()
    for (const peer of [...this.links.keys()]) this.drop(peer)
    const unhandle = this.unhandle
    this.unhandle = undefined
    await unhandle?.().catch((err: Error) => { log('signal handler not removed: %s', err.message) })
    this.authority.stop()
    const audio = this.audio
    this.audio = undefined
    await audio?.close()
  }

  /** The shutdown signal, and `signal` too when given. */
  private signalWith (signal?: AbortSignal): AbortSignal {
    return signal === undefined ? this.shutdown.signal : AbortSignal.any([this.shutdown.signal, signal])
  }

  /** The audio of the running studio. @throws {StudioNotRunningError} before start and after stop */
  private running (): StudioAudio {
    if (this.audio === undefined || this.shutdown.signal.aborted) throw new StudioNotRunningError()
    return this.audio
  }

  /** Signs a command as the station, applies it, and sends it on every path. */
  private async control (message: Exclude<RoomCommand, { type: 'snapshot' }>, options: AbortOptions = {}): Promise<void> {
    options.signal?.throwIfAborted()
    await this.fanOut([await this.authority.command(message)], options)
  }

  /** Hands commands (already on the topic) to every caller on its own stream too. */
  private async fanOut (envelopes: Uint8Array[], options: AbortOptions = {}): Promise<void> {
    // A caller whose stream just broke misses them here and gets them on the topic, or in the snapshot when it is back.
    for (const envelope of envelopes) {
      const sent = await Promise.allSettled([...this.links.values()].map(async (link) => { await link.send({ type: 'room', envelope }, options) }))
      for (const result of sent) if (result.status === 'rejected') log('room message not sent on a stream: %s', (result.reason as Error).message)
    }
  }

  /** Brings a caller up to date: the room state as of the last command, signed, on its own stream only. */
  private async sendSnapshot (link: StudioCall): Promise<void> {
    await link.send({ type: 'room', envelope: this.authority.snapshot() })
  }

  /** The one reader of a call's stream while it is the call's: negotiation, requests, bye. */
  private async serve (link: StudioCall): Promise<void> {
    const channel = link.channel
    const peer = channel.remotePeer.toString()
    for await (const message of channel.messages({ signal: this.shutdown.signal })) {
      switch (message.type) {
        case 'description':
        case 'candidate':
          link.negotiate(message)
          break
        case 'room': {
          // The caller's own signed request: the authority judges it; what it carries out, everyone hears.
          log.trace('room request from %s', peer)
          const outcome = await this.authority.request(message.envelope, peer)
          log.trace('room request from %s: %s', peer, outcome.kind)
          if (outcome.kind === 'command') void this.fanOut(outcome.envelopes)
          if (outcome.kind === 'snapshot') void link.send({ type: 'room', envelope: outcome.envelope })
          break
        }
        case 'talkback':
          this.onTalkback(peer, message.on)
          break
        case 'clock':
          // The caller's clock against the studio's, for its own recording's place on the timeline.
          if (message.t1 === undefined) void link.send({ type: 'clock', t0: message.t0, t1: this.now() })
          break
        case 'chat':
          this.onChat(link, peer, message.envelope)
          break
        case 'bye':
          log.trace('bye from %s', peer)
          this.drop(peer)
          return
        case 'hello':
        case 'welcome':
        case 'refused':
        case 'chat-refused':
        case 'recording':
          break
      }
    }
    // The stream ended without a bye: the caller may redial, and its room
    // state stays. While the audio flows, the call waits for new signalling.
    if (this.links.get(peer) === link && link.channel === channel && !link.connected) this.drop(peer)
  }

  /** A caller's chat message: shown when the gate accepts it; otherwise the caller is told why, and nothing changes. */
  private onChat (link: StudioCall, peer: string, envelope: Uint8Array): void {
    const verdict = this.chatGate.judge(envelope, peer)
    if (!verdict.ok) {
      log('chat from %s refused: %s', peer, verdict.reason)
      void link.send({ type: 'chat-refused', reason: verdict.reason, n: verdict.n })
      this.safeDispatchEvent('chat:refuse', { detail: { peer, reason: verdict.reason } })
      return
    }
    this.safeDispatchEvent('chat:message', { detail: this.chat.add(verdict.message) })
  }

  /** A co-host's push-to-talk to the producer; anyone without a live grant changes nothing. */
  private onTalkback (peer: string, on: boolean): void {
    if (on && !isProducer(this.room.state, peer, this.now())) {
      log('talkback from %s refused: not a co-host', peer)
      return
    }
    if (on === this.talkingBack.has(peer)) return
    if (on) this.talkingBack.add(peer)
    else this.talkingBack.delete(peer)
    this.replan()
  }

  /** Ends a call: the caller is no longer present (its record stays a while, for a redial). */
  private drop (peer: string): void {
    const link = this.links.get(peer)
    if (link === undefined) return
    this.links.delete(peer)
    link.close()
    this.audio?.mixer.removeParticipant(peer)
    this.desk.leave(peer)
    this.privateTalk.delete(peer)
    this.talkingBack.delete(peer)
    if (this.talkbackTarget === peer) this.talkbackTarget = undefined
    this.replan()
    if (!this.shutdown.signal.aborted) void this.authority.absent(peer).then(async (envelope) => { await this.fanOut(envelope === undefined ? [] : [envelope]) })
  }

  /** Routes the mixer by the room: who is in the program, and what each bus hears. */
  private replan (): void {
    const mixer = this.audio?.mixer
    if (mixer === undefined) return
    const state = this.room.state
    const views = participantsOf(state, this.now())
    const participants: MixParticipant[] = views
      .filter((p) => p.id === this.stationId || mixer.has(p.id))
      .map((p): MixParticipant => ({ id: p.id, kind: p.id === this.stationId ? 'host' : 'caller', onAir: p.stage === 'on-air', muted: p.muted }))
    if (mixer.has(CARTS_ID)) participants.push({ id: CARTS_ID, kind: 'cart', onAir: true, muted: false })
    const plan = planMix(participants, { privateTalk: [...this.privateTalk], talkback: this.talkback(state) })
    this.screening.handleRoom(views)
    mixer.apply(plan, Object.fromEntries(views.map((p) => [p.id, p.gainDb])))
    const onAir = state.onAir
    if (onAir && this.onAirSince === undefined) this.onAirSince = this.now()
    if (!onAir) this.onAirSince = undefined
    this.safeDispatchEvent('on-air:change', { detail: { onAir, since: this.onAirSince } })
    this.emitCallers()
  }

  /** Talkback now: the producer's to its target, and each co-host's (while its grant lasts) to the producer. */
  private talkback (state: RoomState): Talkback[] {
    const now = this.now()
    for (const peer of this.talkingBack) if (!isProducer(state, peer, now)) this.talkingBack.delete(peer)
    const back = [...this.talkingBack].map((from) => ({ from, to: this.stationId }))
    return this.talkbackTarget === undefined ? back : [{ from: this.stationId, to: this.talkbackTarget }, ...back]
  }

  private emitCallers (): void {
    this.safeDispatchEvent('callers:change', { detail: this.callers })
  }
}

function notRunning (message: string): never {
  throw new StudioNotRunningError(message)
}
