/**
 * The studio's side of a room (room protocol 2, docs/room.md): the one place
 * that decides what happens in it. It holds the station's RoomChannel, signs
 * every command, and judges the requests participants send on their
 * signalling streams: a caller's own leave, mute switch and snapshot request,
 * and a co-host's producer controls while its grant lasts. What it grants, it
 * carries out as a command of the station; what it refuses changes nothing,
 * and is counted by reason.
 *
 * The studio tells it who is in a call (`present`, when its hello check let
 * a caller in; `absent`, when the call ended), so presence costs a live
 * signalling session. Stale records are forgotten after
 * ROOM_AUTHORITY_DEFAULTS.forgetAfterMs.
 *
 * @example
 * ```ts
 * const authority = new RoomAuthority({ channel: new RoomChannel(node.services, key.id, key) })
 * authority.start()
 * await authority.present(peer, 'Ada')          // the hello was accepted
 * const outcome = await authority.request(envelope, peer)  // a room message on that peer's stream
 * if (outcome.kind === 'command') fanOut(outcome.envelopes)
 * if (outcome.kind === 'snapshot') reply(outcome.envelope)
 * ```
 */
import { logger } from '@libp2p/logger'
import { isProducer, ROOM_LIMITS, ROOM_SENDERS, type RoomCommand, type RoomEvent } from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import type { RoomChannel } from './channel.ts'
import type { InviteBook, InviteRefusal } from './invites.ts'

const log = logger('openstudio:room:authority')

export const ROOM_AUTHORITY_DEFAULTS = {
  /** A participant who is not in a call is forgotten this long after it left (its place kept for a redial until then). */
  forgetAfterMs: 10 * 60 * 1000,
  /** One snapshot per participant per this long; more requests are refused. */
  snapshotIntervalMs: 1000
} as const

/** Why a request changed nothing. */
export type RequestRefusal =
  /** The envelope did not verify, or was signed by someone other than the stream's peer. */
  | 'unverified'
  /** The sender is not in a call with the studio (unknown, left, or kicked). */
  | 'not-in-call'
  /** Not newer than the sender's last request: a replay or a duplicate. */
  | 'replayed'
  /** A type only the station sends. */
  | 'station-only'
  /** A producer control from someone without a live grant. */
  | 'not-co-host'
  /** A producer control about someone not in the room, or about the station's own host. */
  | 'bad-target'
  /** Snapshot requests faster than one per ROOM_AUTHORITY_DEFAULTS.snapshotIntervalMs. */
  | 'rate-limited'

/** What a request came to. */
export type RequestOutcome =
  /** Carried out: send these commands, in order, to every caller (they are already on the topic). */
  | { kind: 'command', envelopes: Uint8Array[] }
  /** A snapshot for the requester only. */
  | { kind: 'snapshot', envelope: Uint8Array }
  | { kind: 'refused', reason: RequestRefusal }

export interface RoomAuthorityEvents {
  /** A request was refused (also counted in `refusals`). */
  'request:refuse': CustomEvent<{ peer: string, type?: string, reason: RequestRefusal }>
}

export interface RoomAuthorityComponents {
  /** The station's own channel (signed with the station key). */
  channel: Pick<RoomChannel, 'command' | 'snapshot' | 'verify' | 'state' | 'room' | 'start' | 'stop' | 'isStation'>
  /** The invites the studio issued. @default none: every invite is refused */
  invites?: Pick<InviteBook, 'use' | 'revoke'>
  /** The station's access policy, read at each hello. @default 'open' */
  access?: () => 'open' | 'invite'
  /** @default Date.now */
  now?: () => number
}

export interface RoomAuthorityInit {
  /** @default ROOM_AUTHORITY_DEFAULTS.forgetAfterMs */
  forgetAfterMs?: number
  /** @default ROOM_AUTHORITY_DEFAULTS.snapshotIntervalMs */
  snapshotIntervalMs?: number
}

type Command = Exclude<RoomCommand, { type: 'snapshot' }>

/** Why a hello does not get a caller in. */
export type AdmissionRefusal = 'kicked' | 'invite-required' | InviteRefusal

export type Admission =
  | { ok: true, /** A host invite: co-host authority until then. */ grantUntil?: number }
  | { ok: false, reason: AdmissionRefusal }

/** Every participant record is someone in a call, or kicked. */
export class RoomFullError extends Error {
  override name = 'RoomFullError'
}

export class RoomAuthority extends TypedEventEmitter<RoomAuthorityEvents> {
  /** Refused requests, by reason (for the studio's diagnostics). */
  readonly refusals: Partial<Record<RequestRefusal, number>> = {}
  private readonly now: () => number
  private readonly forgetAfterMs: number
  private readonly snapshotIntervalMs: number
  /** The newest request of each sender: its session and count. */
  private readonly lastRequest = new Map<string, { epoch: number, n: number }>()
  private readonly lastSnapshot = new Map<string, number>()
  /** Participants not in a call, and when they left. */
  private readonly leftAt = new Map<string, number>()
  /** Peers kicked this session: an invite never makes them co-hosts again (the station may still admit them). */
  private readonly kicked = new Set<string>()
  private forgetTimer?: ReturnType<typeof setInterval>

  constructor (private readonly components: RoomAuthorityComponents, init: RoomAuthorityInit = {}) {
    super()
    if (!components.channel.isStation) throw new Error('a room authority needs the station\'s own channel')
    this.now = components.now ?? Date.now
    this.forgetAfterMs = init.forgetAfterMs ?? ROOM_AUTHORITY_DEFAULTS.forgetAfterMs
    this.snapshotIntervalMs = init.snapshotIntervalMs ?? ROOM_AUTHORITY_DEFAULTS.snapshotIntervalMs
  }

  get room (): string {
    return this.components.channel.room
  }

  start (): void {
    this.components.channel.start()
    this.forgetTimer ??= setInterval(() => { void this.forgetStale() }, Math.max(1000, Math.floor(this.forgetAfterMs / 4)))
  }

  stop (): void {
    clearInterval(this.forgetTimer)
    this.forgetTimer = undefined
    this.components.channel.stop()
  }

  /** Signs and publishes a command of the station. */
  async command (message: Command): Promise<Uint8Array> {
    if (message.type === 'kick') this.kicked.add(message.peer)
    // A new hello is a new call: the caller's requests count afresh (its session may be older, if its clock went back).
    if (message.type === 'present') {
      this.leftAt.delete(message.peer)
      this.lastRequest.delete(message.peer)
    }
    if (message.type === 'absent' || message.type === 'kick') this.leftAt.set(message.peer, this.now())
    if (message.type === 'forget') this.leftAt.delete(message.peer)
    return this.components.channel.command(message)
  }

  /**
   * Judges a caller's hello: a kicked caller stays out; where the station
   * takes calls by invite, the invite must be one this studio issued and has
   * not revoked (or, single-use, used by someone else). A valid host invite
   * earns co-host authority until it expires. Records the invite's use.
   */
  admit (peer: string, invite: string | undefined): Admission {
    if (this.components.channel.state.participants[peer]?.kicked === true) return { ok: false, reason: 'kicked' }
    const byInvite = (this.components.access?.() ?? 'open') === 'invite'
    if (invite === undefined) return byInvite ? { ok: false, reason: 'invite-required' } : { ok: true }
    const verdict = this.components.invites?.use(invite, peer) ?? { ok: false, reason: 'invite-invalid' as const }
    // On an open station a bad invite only means no co-host authority.
    if (!verdict.ok) return byInvite ? { ok: false, reason: verdict.reason } : { ok: true }
    return verdict.invite.role === 'host' && !this.kicked.has(peer) ? { ok: true, grantUntil: verdict.invite.expiresAt } : { ok: true }
  }

  /**
   * Lets an admitted caller into the room: present, and with a host invite
   * its grant, straight on air.
   * @returns the commands, in order, to hand the caller on its own stream
   * @throws {RoomFullError} when every record is someone in a call, or kicked
   */
  async enter (peer: string, name: string, admission: Extract<Admission, { ok: true }>): Promise<Uint8Array[]> {
    const sent = [await this.present(peer, name)]
    if (admission.grantUntil !== undefined) {
      sent.push(await this.grant(peer, admission.grantUntil), await this.command({ type: 'admit', peer }))
    }
    return sent
  }

  /** Revokes an invite, and the grant of every co-host that came in with it. */
  async revokeInvite (nonce: string): Promise<Uint8Array[]> {
    const entry = this.components.invites?.revoke(nonce)
    if (entry === undefined) return []
    const sent: Uint8Array[] = []
    for (const peer of entry.usedBy) {
      const envelope = await this.revoke(peer)
      if (envelope !== undefined) sent.push(envelope)
    }
    return sent
  }

  /** Whether `peer` can enter now: it has a record, the room has space, or an absent record can be forgotten for it. */
  canEnter (peer: string): boolean {
    const participants = this.components.channel.state.participants
    if (participants[peer] !== undefined || Object.keys(participants).length < ROOM_LIMITS.participantsMax) return true
    return [...this.leftAt.keys()].some((id) => participants[id]?.kicked === false && !participants[id].present)
  }

  /**
   * A caller is in a live call (its hello check passed). A full room first
   * forgets whoever left longest ago.
   * @throws {RoomFullError} when every record is someone in a call, or kicked
   */
  async present (peer: string, name: string): Promise<Uint8Array> {
    const participants = this.components.channel.state.participants
    if (participants[peer] === undefined && Object.keys(participants).length >= ROOM_LIMITS.participantsMax) {
      const oldest = [...this.leftAt].filter(([id]) => participants[id]?.kicked === false).sort((a, b) => a[1] - b[1])[0]
      if (oldest === undefined) throw new RoomFullError(`the room holds ${ROOM_LIMITS.participantsMax} participants`)
      await this.command({ type: 'forget', peer: oldest[0] })
    }
    return this.command({ type: 'present', peer, name })
  }

  /** A caller's call ended; its record stays for a redial until forgotten. */
  async absent (peer: string): Promise<Uint8Array | undefined> {
    const p = this.components.channel.state.participants[peer]
    if (p === undefined || !p.present) return undefined
    return this.command({ type: 'absent', peer })
  }

  /** Removes a participant and ends its grant. */
  async kick (peer: string): Promise<Uint8Array> {
    return this.command({ type: 'kick', peer })
  }

  /** Gives `peer` co-host authority until `expiresAt`. */
  async grant (peer: string, expiresAt: number): Promise<Uint8Array> {
    return this.command({ type: 'grant', peer, expiresAt })
  }

  /** Ends `peer`'s grant at once; it holds wherever the co-host is, since only the studio carries out its controls. */
  async revoke (peer: string): Promise<Uint8Array | undefined> {
    if (this.components.channel.state.participants[peer]?.grantExpiresAt === undefined) return undefined
    return this.command({ type: 'revoke', peer })
  }

  /** The state as of the last command, signed, for one replica. */
  snapshot (): Uint8Array {
    return this.components.channel.snapshot()
  }

  /**
   * Judges a room message that `peer` sent on its own signalling stream.
   * Never throws.
   */
  async request (envelope: Uint8Array, peer: string): Promise<RequestOutcome> {
    const event = this.components.channel.verify(envelope, peer)
    if (event === undefined) return this.refuse(peer, undefined, 'unverified')
    const refusal = this.judge(event)
    if (refusal !== undefined) return this.refuse(peer, event.message.type, refusal)
    this.lastRequest.set(peer, { epoch: event.epoch, n: event.n })
    const message = event.message
    try {
      switch (message.type) {
        case 'snapshot-request':
          this.lastSnapshot.set(peer, this.now())
          return { kind: 'snapshot', envelope: this.snapshot() }
        case 'leave':
          // Leaving gives up one's place; a dropped call (absent alone) keeps it.
          return { kind: 'command', envelopes: [await this.command({ type: 'hold', peer }), await this.command({ type: 'absent', peer })] }
        case 'self-mute':
          return { kind: 'command', envelopes: [await this.command({ type: 'self-muted', peer, muted: message.muted })] }
        case 'admit': case 'hold': case 'mute': case 'unmute': case 'gain':
          log('co-host %s: %s %s', peer, message.type, message.peer)
          return { kind: 'command', envelopes: [await this.command(message)] }
        default:
          return this.refuse(peer, message.type, 'station-only')
      }
    } catch (err) {
      log('request %s from %s failed: %s', message.type, peer, (err as Error).message)
      return this.refuse(peer, message.type, 'unverified')
    }
  }

  /** Why a verified request from its sender changes nothing, if it does not. */
  private judge (event: RoomEvent): RequestRefusal | undefined {
    const state = this.components.channel.state
    const sender = state.participants[event.from]
    const type = event.message.type
    if (ROOM_SENDERS[type] === 'station') return 'station-only'
    if (event.from !== this.room && (sender === undefined || !sender.present || sender.kicked)) return 'not-in-call'
    const last = this.lastRequest.get(event.from)
    if (last !== undefined && (event.epoch < last.epoch || (event.epoch === last.epoch && event.n <= last.n))) return 'replayed'
    if (type === 'snapshot-request' && this.now() - (this.lastSnapshot.get(event.from) ?? -Infinity) < this.snapshotIntervalMs) return 'rate-limited'
    if (ROOM_SENDERS[type] === 'co-host') {
      if (!isProducer(state, event.from, this.now())) return 'not-co-host'
      const target = state.participants[(event.message as { peer: string }).peer]
      // Only the station lets a kicked caller back.
      if (target === undefined || target.id === this.room || target.kicked) return 'bad-target'
    }
    return undefined
  }

  private refuse (peer: string, type: string | undefined, reason: RequestRefusal): RequestOutcome {
    this.refusals[reason] = (this.refusals[reason] ?? 0) + 1
    log('refused %s from %s: %s', type ?? 'a room message', peer, reason)
    this.safeDispatchEvent('request:refuse', { detail: { peer, type, reason } })
    return { kind: 'refused', reason }
  }

  /** Forgets participants that left longer ago than forgetAfterMs. */
  private async forgetStale (): Promise<void> {
    const cutoff = this.now() - this.forgetAfterMs
    for (const [peer, at] of this.leftAt) {
      const p = this.components.channel.state.participants[peer]
      if (p === undefined) {
        this.leftAt.delete(peer)
        continue
      }
      // A kicked caller's record is what keeps it out.
      if (at > cutoff || p.present || p.kicked) continue
      this.lastRequest.delete(peer)
      this.lastSnapshot.delete(peer)
      await this.command({ type: 'forget', peer }).catch((err: Error) => { log('forget %s: %s', peer, err.message) })
    }
  }
}
