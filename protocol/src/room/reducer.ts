/**
 * The room state, as a pure reducer: `reduceRoom(state, event) => state`.
 * The rules are written down in docs/room.md.
 *
 * The room is a replicated state machine with one writer, the station. Its
 * commands carry its session (`epoch`) and a count `n` with no gaps, and
 * every replica applies them in `n` order, each exactly once:
 *
 * - a command of an older session, or one already applied, changes nothing;
 * - one of a newer session starts that session from an empty room;
 * - one that comes early waits (at most ROOM_LIMITS.pendingMax) until the
 *   ones before it arrive, or a snapshot covers them;
 * - a snapshot replaces the state as of its `n`: the count of the last
 *   command it covers (it takes no count of its own, so the studio can send
 *   one to a single replica without leaving a gap at the others).
 *
 * A message from anyone else never changes the state, the session or the
 * count: it is a request, for the studio to decide (see RoomAuthority in
 * @openstudio/network). So no sequence of messages from non-producers can
 * stop the station's next command from taking effect.
 */
import { ROOM_LIMITS } from '../constants.ts'
import type { ParticipantSnapshot, RoomEvent, RoomMessage, SnapshotState, Stage } from './messages.ts'

/** One participant, as the room holds it. */
export type ParticipantState = ParticipantSnapshot

export interface RoomState {
  /** The station id: the one writer of this room. */
  readonly room: string
  /** The station session these commands belong to (0: none heard yet). */
  readonly epoch: number
  /** The last command applied in this session. */
  readonly n: number
  readonly onAir: boolean
  readonly participants: Readonly<Record<string, ParticipantState>>
  /** Commands of this session that came before the ones they follow, in `n` order. */
  readonly pending: readonly RoomEvent[]
}

/** A participant as the UI and the mixer see it. */
export interface ParticipantView {
  id: string
  name: string
  stage: Stage | 'left' | 'kicked'
  /** Silenced in the program and every mix-minus (by the producer, or by themselves). */
  muted: boolean
  producerMuted: boolean
  selfMuted: boolean
  gainDb: number
  /** The station itself, or a holder of a grant that has not ended. */
  producer: boolean
}

/** An empty room; the station's own replica passes its session. */
export function createRoomState (room: string, epoch = 0): RoomState {
  return { room, epoch, n: 0, onAir: false, participants: {}, pending: [] }
}

/** True while `peer` may have the studio carry out co-host requests: the station, or a holder of a live grant. */
export function isProducer (state: RoomState, peer: string, now: number): boolean {
  if (peer === state.room) return true
  const p = state.participants[peer]
  return p !== undefined && !p.kicked && p.grantExpiresAt !== undefined && p.grantExpiresAt > now
}

/** True while commands are waiting for earlier ones: the replica should ask for a snapshot. */
export function hasGap (state: RoomState): boolean {
  return state.pending.length > 0
}

/** Applies one verified message. Returns the same object when nothing changed. */
export function reduceRoom (state: RoomState, event: RoomEvent): RoomState {
  if (event.room !== state.room || event.from !== state.room) return state
  if (event.epoch < state.epoch) return state
  const base = event.epoch > state.epoch ? createRoomState(state.room, event.epoch) : state
  if (event.n <= base.n) return state
  if (event.message.type === 'snapshot') {
    return drain({ ...fromSnapshot(base, event.message.state), n: event.n, pending: base.pending.filter((p) => p.n > event.n) })
  }
  if (event.n > base.n + 1) return hold(base, event)
  return drain({ ...apply(base, event.message), n: event.n })
}

/** The replicated state, for a snapshot. */
export function snapshotOf (state: RoomState): SnapshotState {
  return { onAir: state.onAir, participants: Object.values(state.participants) }
}

/** Participants with their effective state, in id order. */
export function participantsOf (state: RoomState, now = Date.now()): ParticipantView[] {
  return Object.values(state.participants)
    .sort((a, b) => a.id < b.id ? -1 : 1)
    .map((p) => ({
      id: p.id,
      name: p.name,
      stage: p.kicked ? 'kicked' : !p.present ? 'left' : p.stage,
      muted: p.producerMuted || p.selfMuted,
      producerMuted: p.producerMuted,
      selfMuted: p.selfMuted,
      gainDb: p.gainDb,
      producer: isProducer(state, p.id, now)
    }))
}

/** Applies the pending commands that now follow on. */
function drain (state: RoomState): RoomState {
  let next = state
  while (next.pending[0] !== undefined && next.pending[0].n <= next.n + 1) {
    const [first, ...rest] = next.pending
    next = first.n === next.n + 1 ? reduceRoom({ ...next, pending: rest }, first) : { ...next, pending: rest }
  }
  return next
}

/** Keeps an early command, in `n` order, without duplicates; past the bound the latest go first. */
function hold (state: RoomState, event: RoomEvent): RoomState {
  if (state.pending.some((p) => p.n === event.n)) return state
  const pending = [...state.pending, event].sort((a, b) => a.n - b.n).slice(0, ROOM_LIMITS.pendingMax)
  return pending.includes(event) ? { ...state, pending } : state
}

function fromSnapshot (state: RoomState, snapshot: SnapshotState): RoomState {
  return { ...state, onAir: snapshot.onAir, participants: Object.fromEntries(snapshot.participants.map((p) => [p.id, p])) }
}

type Command = Exclude<RoomMessage, { type: 'snapshot' | 'leave' | 'self-mute' | 'snapshot-request' }>

function apply (state: RoomState, message: RoomMessage): RoomState {
  switch (message.type) {
    case 'present': {
      const current = state.participants[message.peer]
      if (current === undefined && Object.keys(state.participants).length >= ROOM_LIMITS.participantsMax) return state
      return put(state, { ...(current ?? newcomer(message.peer)), name: message.name, present: true })
    }
    case 'forget': {
      if (state.participants[message.peer] === undefined) return state
      const { [message.peer]: _gone, ...participants } = state.participants
      return { ...state, participants }
    }
    case 'on-air': return { ...state, onAir: true }
    case 'off-air': return { ...state, onAir: false }
    // Requests never reach here from the station in a well-behaved studio; as commands they change nothing.
    case 'leave': case 'self-mute': case 'snapshot-request': case 'snapshot': return state
    default: return update(state, message)
  }
}

/** A command about one participant that is already in the room; about anyone else it changes nothing. */
function update (state: RoomState, message: Exclude<Command, { type: 'present' | 'forget' | 'on-air' | 'off-air' }>): RoomState {
  const p = state.participants[message.peer]
  if (p === undefined) return state
  switch (message.type) {
    // A dropped call keeps its place (a caller who reloads comes back on air); leaving is `absent` after a `hold`.
    case 'absent': return put(state, { ...p, present: false })
    case 'kick': return put(state, withoutGrant({ ...p, kicked: true, present: false, stage: 'green-room' }))
    case 'self-muted': return put(state, { ...p, selfMuted: message.muted })
    case 'grant': return put(state, { ...p, grantExpiresAt: message.expiresAt })
    case 'revoke': return put(state, withoutGrant(p))
    case 'admit': return put(state, { ...p, stage: 'on-air', kicked: false })
    case 'hold': return put(state, { ...p, stage: 'green-room' })
    case 'mute': return put(state, { ...p, producerMuted: true })
    case 'unmute': return put(state, { ...p, producerMuted: false })
    case 'gain': return put(state, { ...p, gainDb: message.db })
  }
}

function newcomer (id: string): ParticipantState {
  return { id, name: id.slice(-8), present: true, stage: 'green-room', kicked: false, producerMuted: false, selfMuted: false, gainDb: 0 }
}

function withoutGrant (p: ParticipantState): ParticipantState {
  const { grantExpiresAt: _ended, ...rest } = p
  return rest
}

function put (state: RoomState, p: ParticipantState): RoomState {
  return { ...state, participants: { ...state.participants, [p.id]: p } }
}
