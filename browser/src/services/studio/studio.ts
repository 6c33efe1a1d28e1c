/**
 * The studio: the station's own node takes calls on `/openstudio/signal/1`,
 * runs the room as its one authority (RoomAuthority: the station key signs
 * every command; callers' and co-hosts' requests come on their signalling
 * streams and are judged there; see docs/room.md), and mixes everyone
 * locally: the program, and one mix-minus per caller, rebuilt from the room
 * state on every change.
 */
import { logger } from '@libp2p/logger'
import { handleSignal, InviteBook, RoomAuthority, RoomChannel, type InviteEntry, type InviteStore, type SignalChannel } from '@openstudio/network'
import {
  CALL_PASS_TTL_MS, createCallPass, participantsOf, planMix,
  type InviteRole, type MixParticipant, type ParticipantView, type RoomCommand, type RoomState, type StationKey
} from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import { createStudioMixer, type MixerLevels, type StudioMixer } from '../../audio/index.ts'
import { CALL_DEFAULTS } from '../call/errors.ts'
import { createCallAudioContext, microphoneConstraints, type CallStats } from '../call/peer.ts'
import type { OpenStudioNode } from '@openstudio/network'
import { CallerLink } from './caller-link.ts'
import { localStorageInviteStore } from './invite-store.ts'
import { Broadcast, type BroadcastInit } from '../program/broadcast.ts'

const log = logger('openstudio:app:studio')

/** A caller as the producer sees it: room state plus the live call. */
export interface StudioCaller extends ParticipantView {
  connected: boolean
  stats?: CallStats
  privateTalk: boolean
}

export interface StudioEvents {
  /** The room or a call changed: re-render the callers. */
  'callers:change': CustomEvent<StudioCaller[]>
  'on-air:change': CustomEvent<{ onAir: boolean, since?: number }>
}

export interface StudioInit {
  key: StationKey
  node: OpenStudioNode
  /** The station's access policy, read at each call ('invite': callers need a valid invite token). */
  access: () => 'open' | 'invite'
  /** Echo cancellation, noise suppression and AGC on the host microphone. @default false (studio microphone on headphones) */
  voiceProcessing?: boolean
  /** TURN servers, asked for once the studio is in its room. @default none */
  iceServers?: () => Promise<RTCIceServer[]>
  iceTransportPolicy?: RTCIceTransportPolicy
  /** Where the invites this studio issues are kept. @default this browser's localStorage */
  invites?: InviteStore
}

export class StudioService extends TypedEventEmitter<StudioEvents> {
  readonly room: RoomChannel
  /** Decides everything that happens in the room. */
  readonly authority: RoomAuthority
  /** The invites this studio issued. */
  readonly invites: InviteBook
  /** A tap on the program, after the limiter (meters, diagnostics, the encoder). */
  readonly programAnalyser: AnalyserNode
  onAirSince?: number
  /** The program on its way to Icecast, while the show is live. */
  broadcast?: Broadcast
  private readonly links = new Map<string, CallerLink>()
  private readonly privateTalk = new Set<string>()
  private iceServers: RTCIceServer[] = []
  private stopped = false

  private constructor (private readonly init: StudioInit, readonly context: AudioContext, private readonly microphone: MediaStream, readonly mixer: StudioMixer) {
    super()
    this.programAnalyser = context.createAnalyser()
    this.programAnalyser.fftSize = 8192
    this.mixer.programOutput.connect(this.programAnalyser)
    this.room = new RoomChannel(init.node.services, init.key.id, { id: init.key.id, secretKey: init.key.secretKey })
    this.invites = new InviteBook({ key: init.key, store: init.invites ?? localStorageInviteStore(init.key.id) })
    this.authority = new RoomAuthority({ channel: this.room, invites: this.invites, access: init.access })
  }

  /** Opens the host microphone and starts taking calls. */
  static async start (init: StudioInit): Promise<StudioService> {
    const microphone = await navigator.mediaDevices.getUserMedia({ audio: microphoneConstraints(init.voiceProcessing ?? false) })
    const context = createCallAudioContext()
    await context.resume()
    const studio = new StudioService(init, context, microphone, await createStudioMixer(context))
    try {
      await studio.begin()
    } catch (err) {
      await studio.stop()
      throw err
    }
    return studio
  }

  get stationId (): string {
    return this.init.key.id
  }

  private async begin (): Promise<void> {
    this.mixer.addParticipant(this.stationId, this.context.createMediaStreamSource(this.microphone))
    // The host's headphones: everyone but the host.
    this.mixer.busOutput(this.stationId).connect(this.context.destination)
    this.room.addEventListener('state:change', () => { this.replan() })
    this.authority.start()
    await this.control({ type: 'present', peer: this.stationId, name: 'Host' })
    await this.control({ type: 'admit', peer: this.stationId })
    this.iceServers = await this.init.iceServers?.() ?? []
    await handleSignal(this.init.node, (channel) => { void this.answer(channel) })
    log('studio of %s is taking calls (%s)', this.stationId, this.init.access())
  }

  /** Everyone in the room, with live call data. */
  get callers (): StudioCaller[] {
    return participantsOf(this.room.state).filter((p) => p.id !== this.stationId).map((p) => {
      const link = this.links.get(p.id)
      return { ...p, connected: link !== undefined, stats: link?.stats, privateTalk: this.privateTalk.has(p.id) }
    })
  }

  get host (): ParticipantView | undefined {
    return participantsOf(this.room.state).find((p) => p.id === this.stationId)
  }

  levels (): MixerLevels {
    return this.mixer.levels()
  }

  admit = async (peer: string): Promise<void> => { this.privateTalk.delete(peer); await this.control({ type: 'admit', peer }) }
  hold = async (peer: string): Promise<void> => { await this.control({ type: 'hold', peer }) }
  mute = async (peer: string): Promise<void> => { await this.control({ type: 'mute', peer }) }
  unmute = async (peer: string): Promise<void> => { await this.control({ type: 'unmute', peer }) }
  setGain = async (peer: string, db: number): Promise<void> => { await this.control({ type: 'gain', peer, db }) }
  goOnAir = async (): Promise<void> => { await this.control({ type: 'on-air' }) }
  goOffAir = async (): Promise<void> => { await this.control({ type: 'off-air' }) }

  /**
   * Starts encoding the program and streaming it to a relay. The returned
   * broadcast reports how that goes; `endBroadcast` ends it.
   */
  async startBroadcast (init: Omit<BroadcastInit, 'input' | 'node'>): Promise<Broadcast> {
    await this.endBroadcast()
    this.broadcast = await Broadcast.start({ ...init, node: this.init.node, input: this.mixer.programOutput })
    return this.broadcast
  }

  async endBroadcast (): Promise<void> {
    const running = this.broadcast
    this.broadcast = undefined
    await running?.stop()
  }

  /** Removes a caller, and ends its co-host grant if it holds one. */
  async kick (peer: string): Promise<void> {
    await this.control({ type: 'kick', peer })
    const link = this.links.get(peer)
    await link?.send({ type: 'refused', reason: 'kicked' })
    this.drop(peer)
  }

  /**
   * Signs an invite link token for this station and records it.
   * @throws {MalformedError} when it would last longer than a week
   */
  createInvite (init: { role: InviteRole, validForMs: number, label?: string, singleUse?: boolean }): string {
    return this.invites.issue(init).token
  }

  /** Revokes an invite; a co-host who came in with it loses its grant at once. */
  async revokeInvite (nonce: string): Promise<InviteEntry[]> {
    await this.fanOut(await this.authority.revokeInvite(nonce))
    return this.invites.list()
  }

  /** Talks privately with a caller in the green room (the program does not hear it). */
  setPrivateTalk (peer: string, on: boolean): void {
    if (on) this.privateTalk.add(peer)
    else this.privateTalk.delete(peer)
    this.replan()
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    await this.endBroadcast()
    for (const peer of [...this.links.keys()]) this.drop(peer)
    await this.init.node.unhandle('/openstudio/signal/1').catch(() => {})
    this.authority.stop()
    for (const track of this.microphone.getTracks()) track.stop()
    this.mixer.dispose()
    await this.context.close()
  }

  /** Signs a command as the station, applies it, and sends it on every path. */
  private async control (message: Exclude<RoomCommand, { type: 'snapshot' }>): Promise<void> {
    await this.fanOut([await this.authority.command(message)])
  }

  /** Hands commands (already on the topic) to every caller on its own stream too. */
  private async fanOut (envelopes: Uint8Array[]): Promise<void> {
    // A caller whose stream just broke misses them here and gets them on the topic, or in the snapshot when it is back.
    for (const envelope of envelopes) {
      const sent = await Promise.allSettled([...this.links.values()].map(async (link) => link.send({ type: 'room', envelope })))
      for (const result of sent) if (result.status === 'rejected') log('room message not sent on a stream: %s', (result.reason as Error).message)
    }
  }

  private async answer (channel: SignalChannel): Promise<void> {
    const peer = channel.remotePeer.toString()
    try {
      const hello = await channel.read({ signal: AbortSignal.timeout(CALL_DEFAULTS.helloTimeoutMs) })
      if (hello?.type !== 'hello') throw new Error(`expected hello, got ${hello?.type ?? 'nothing'}`)
      const full = this.links.size >= CALL_DEFAULTS.maxCallers && !this.links.has(peer)
      const admission = full ? { ok: false as const, reason: 'full' as const } : this.authority.admit(peer, hello.invite)
      if (!admission.ok) {
        log('refused %s (%s): %s', peer, hello.name, admission.reason)
        await channel.send({ type: 'refused', reason: admission.reason })
        await channel.close()
        return
      }
      // The pass gets the caller TURN credentials from the station's relays; a resumed call gets a fresh one.
      await channel.send({ type: 'welcome', pass: createCallPass(this.init.key, { peer, expiresAt: Date.now() + CALL_PASS_TTL_MS }) })
      const existing = this.links.get(peer)
      if (hello.resume === true && existing?.connected === true) {
        log('%s is back on a new signalling stream; the call goes on', peer)
        existing.rebind(channel)
        await this.sendSnapshot(existing)
        await this.serve(existing)
        return
      }
      if (existing !== undefined) this.drop(peer)
      const link = new CallerLink(channel, {
        id: peer,
        name: hello.name,
        context: this.context,
        iceServers: this.iceServers,
        iceTransportPolicy: this.init.iceTransportPolicy,
        onSource: (source) => {
          if (this.links.get(peer) !== link) return
          // A second track from the same caller swaps the source and keeps the routing.
          this.mixer.addParticipant(peer, source)
          this.replan()
        },
        onStats: () => { this.emitCallers() },
        onLost: () => { if (this.links.get(peer) === link) this.drop(peer) }
      })
      this.links.set(peer, link)
      this.mixer.busOutput(peer).connect(link.returnDestination)
      link.watchStats(CALL_DEFAULTS.statsIntervalMs)
      // In the room (a host invite: with a grant, and straight on air); everyone else hears of it, the caller gets the whole state.
      const entered = await this.authority.enter(peer, hello.name, admission)
      await this.fanOut(entered)
      await this.sendSnapshot(link)
      log('%s (%s) is in%s', hello.name, peer, admission.grantUntil === undefined ? '' : ' as a co-host')
      await this.serve(link)
    } catch (err) {
      log('call from %s: %s', peer, (err as Error).message)
      channel.abort(err as Error)
    }
  }

  /** Brings a caller up to date: the room state as of the last command, signed, on its own stream only. */
  private async sendSnapshot (link: CallerLink): Promise<void> {
    await link.send({ type: 'room', envelope: this.authority.snapshot() })
  }

  private async serve (link: CallerLink): Promise<void> {
    const channel = link.channel
    for await (const message of channel.messages()) {
      switch (message.type) {
        case 'description':
        case 'candidate':
          void link.negotiation.handle(message)
          break
        case 'room': {
          // The caller's own signed request: the authority judges it; what it carries out, everyone hears.
          const outcome = await this.authority.request(message.envelope, link.id)
          if (outcome.kind === 'command') void this.fanOut(outcome.envelopes)
          if (outcome.kind === 'snapshot') void link.send({ type: 'room', envelope: outcome.envelope }).catch(() => {})
          break
        }
        case 'bye':
          this.drop(link.id)
          return
        case 'hello':
        case 'welcome':
        case 'refused':
          break
      }
    }
    // The stream ended without a bye: the caller may redial, and its room
    // state stays. While the audio flows, the call waits for new signalling.
    if (this.links.get(link.id) === link && link.channel === channel && !link.connected) this.drop(link.id)
  }

  /** Ends a call: the caller is no longer present (its record stays a while, for a redial). */
  private drop (peer: string): void {
    const link = this.links.get(peer)
    if (link === undefined) return
    this.links.delete(peer)
    link.close()
    this.mixer.removeParticipant(peer)
    this.privateTalk.delete(peer)
    this.replan()
    if (!this.stopped) void this.authority.absent(peer).then(async (envelope) => { await this.fanOut(envelope === undefined ? [] : [envelope]) })
  }

  private replan (): void {
    const state: RoomState = this.room.state
    const views = participantsOf(state)
    const participants: MixParticipant[] = views
      .filter((p) => p.id === this.stationId || this.mixer.has(p.id))
      .map((p) => ({ id: p.id, kind: p.id === this.stationId ? 'host' : 'caller', onAir: p.stage === 'on-air', muted: p.muted }))
    const plan = planMix(participants, { privateTalk: [...this.privateTalk] })
    this.mixer.apply(plan, Object.fromEntries(views.map((p) => [p.id, p.gainDb])))
    const onAir = state.onAir
    if (onAir && this.onAirSince === undefined) this.onAirSince = Date.now()
    if (!onAir) this.onAirSince = undefined
    this.safeDispatchEvent('on-air:change', { detail: { onAir, since: this.onAirSince } })
    this.emitCallers()
  }

  private emitCallers (): void {
    this.safeDispatchEvent('callers:change', { detail: this.callers })
  }
}
