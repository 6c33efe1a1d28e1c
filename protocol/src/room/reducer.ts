/**
 * The producer-authoritative room state, as a pure reducer:
 * `reduceRoom(state, event) => state`.
 *
 * Every field is a last-write-wins register stamped with the sender's Lamport
 * clock (ties: peer id, then value), so applying the same set of messages in
 * any order gives the same state. Control messages count only from the
 * station key (the producer) or from a peer it granted producer authority. A
 * control message that arrives before its sender's grant is held back
 * (bounded) and applied when the grant arrives. A self-mute is recorded
 * beside the producer's mute; either one silences, so the producer's wins.
 */
import { ROOM_LIMITS } from '../constants.ts'
import type { ParticipantRecord, Register, RoomEvent, RoomMessage, RoomMessageType, SnapshotState, Stage, Stamp } from './messages.ts'

/** One participant's replicated registers. */
export type ParticipantState = ParticipantRecord

export interface RoomState {
  /** The station id: the producer authority of this room. */
  readonly room: string
  /** Highest Lamport clock seen. */
  readonly clock: number
  readonly onAir?: Register<boolean>
  readonly participants: Readonly<Record<string, ParticipantState>>
  /** Control messages from senders not (yet) granted authority. */
  readonly deferred: Readonly<Record<string, readonly RoomEvent[]>>
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
  producer: boolean
}

export function createRoomState (room: string): RoomState {
  return { room, clock: 0, participants: {}, deferred: {} }
}

/** The clock to stamp the next message sent into this room with. */
export function nextClock (state: RoomState): number {
  return state.clock + 1
}

/** True when `peer` may send control messages in this room. */
export function isProducer (state: RoomState, peer: string): boolean {
  return peer === state.room || state.participants[peer]?.producer?.v === true
}

/** Applies one verified message. Returns the same object when nothing changed. */
export function reduceRoom (state: RoomState, event: RoomEvent): RoomState {
  if (event.room !== state.room) return state
  const handler = handlers[event.message.type] as Handler<RoomMessage>
  const next = handler(state, event, event.message)
  if (next === state && event.clock <= state.clock) return state
  return event.clock > next.clock ? { ...next, clock: event.clock } : next
}

/** The replicated part of the state, to answer a snapshot request. */
export function snapshotOf (state: RoomState): SnapshotState {
  const snapshot: SnapshotState = { participants: Object.values(state.participants) }
  if (state.onAir !== undefined) snapshot.onAir = state.onAir
  return snapshot
}

/** Participants with their effective state, in id order. */
export function participantsOf (state: RoomState): ParticipantView[] {
  return Object.values(state.participants)
    .sort((a, b) => a.id < b.id ? -1 : 1)
    .map((p) => ({
      id: p.id,
      name: p.name?.v ?? p.id.slice(-8),
      stage: p.kicked?.v === true ? 'kicked' : p.present?.v === false ? 'left' : p.stage?.v ?? 'green-room',
      muted: p.producerMuted?.v === true || p.selfMuted?.v === true,
      producerMuted: p.producerMuted?.v === true,
      selfMuted: p.selfMuted?.v === true,
      gainDb: p.gainDb?.v ?? 0,
      producer: p.id === state.room || p.producer?.v === true
    }))
}

type Handler<M extends RoomMessage> = (state: RoomState, event: RoomEvent, message: M) => RoomState
type Handlers = { [T in RoomMessageType]: Handler<Extract<RoomMessage, { type: T }>> }
type RegisterField = Exclude<keyof ParticipantState, 'id'>

const handlers: Handlers = {
  // A join never touches the stage: a participant that comes back keeps its place.
  join: (s, e, m) => writeFields(s, e.from, stampOf(e), { name: m.name, present: true }),
  // Leaving gives up one's place on air.
  leave: (s, e) => writeFields(s, e.from, stampOf(e), { present: false, stage: 'green-room' }),
  'self-mute': (s, e, m) => writeFields(s, e.from, stampOf(e), { selfMuted: m.muted }),
  'snapshot-request': (s) => s,
  admit: control((s, e, m) => writeFields(s, m.peer, stampOf(e), { stage: 'on-air', kicked: false })),
  hold: control((s, e, m) => writeFields(s, m.peer, stampOf(e), { stage: 'green-room' })),
  mute: control((s, e, m) => writeFields(s, m.peer, stampOf(e), { producerMuted: true })),
  unmute: control((s, e, m) => writeFields(s, m.peer, stampOf(e), { producerMuted: false })),
  gain: control((s, e, m) => writeFields(s, m.peer, stampOf(e), { gainDb: m.db })),
  kick: control((s, e, m) => writeFields(s, m.peer, stampOf(e), { kicked: true })),
  'on-air': control((s, e) => writeOnAir(s, { v: true, t: stampOf(e) })),
  'off-air': control((s, e) => writeOnAir(s, { v: false, t: stampOf(e) })),
  grant: (s, e, m) => e.from === s.room ? releaseDeferred(writeFields(s, m.peer, stampOf(e), { producer: m.producer })) : s,
  snapshot: control((s, _e, m) => releaseDeferred(mergeSnapshot(s, m.state)))
}

/** Wraps a handler so it runs only for producers; others are deferred. */
function control<M extends RoomMessage> (handler: Handler<M>): Handler<M> {
  return (state, event, message) => isProducer(state, event.from) ? handler(state, event, message) : defer(state, event)
}

function stampOf (event: RoomEvent): Stamp {
  return { c: event.clock, p: event.from }
}

/** Orders two register writes: clock, then peer id, then value. */
function newer<T> (a: Register<T>, b: Register<T> | undefined): boolean {
  if (b === undefined) return true
  if (a.t.c !== b.t.c) return a.t.c > b.t.c
  if (a.t.p !== b.t.p) return a.t.p > b.t.p
  return JSON.stringify(a.v) > JSON.stringify(b.v)
}

type FieldValues = { [K in RegisterField]?: NonNullable<ParticipantState[K]>['v'] }

function writeFields (state: RoomState, peer: string, stamp: Stamp, values: FieldValues): RoomState {
  const record: Partial<Record<RegisterField, Register<unknown>>> = {}
  for (const [field, v] of Object.entries(values)) record[field as RegisterField] = { v, t: stamp }
  return mergeParticipant(state, { id: peer, ...record } as ParticipantState)
}

function mergeParticipant (state: RoomState, incoming: ParticipantState): RoomState {
  const current = state.participants[incoming.id]
  if (current === undefined && Object.keys(state.participants).length >= ROOM_LIMITS.participantsMax) return state
  let merged: Record<string, unknown> = current ?? { id: incoming.id }
  for (const [field, reg] of Object.entries(incoming)) {
    if (field === 'id') continue
    const existing = merged[field] as Register<unknown> | undefined
    if (newer(reg as Register<unknown>, existing)) merged = { ...merged, [field]: reg }
  }
  if (merged === current) return state
  return { ...state, participants: { ...state.participants, [incoming.id]: merged as ParticipantState } }
}

function writeOnAir (state: RoomState, reg: Register<boolean>): RoomState {
  return newer(reg, state.onAir) ? { ...state, onAir: reg } : state
}

function mergeSnapshot (state: RoomState, snapshot: SnapshotState): RoomState {
  let next = snapshot.onAir === undefined ? state : writeOnAir(state, snapshot.onAir)
  for (const participant of snapshot.participants) next = mergeParticipant(next, participant)
  return next
}

function defer (state: RoomState, event: RoomEvent): RoomState {
  const queue = state.deferred[event.from]
  if (queue === undefined && Object.keys(state.deferred).length >= ROOM_LIMITS.deferredSendersMax) return state
  // Kept sorted and cut by clock, so the same messages leave the same queue in any order.
  const kept = [...(queue ?? []), event].sort(byClock).slice(-ROOM_LIMITS.deferredPerSender)
  return { ...state, deferred: { ...state.deferred, [event.from]: kept } }
}

function byClock (a: RoomEvent, b: RoomEvent): number {
  if (a.clock !== b.clock) return a.clock - b.clock
  const x = JSON.stringify(a.message)
  const y = JSON.stringify(b.message)
  return x < y ? -1 : x > y ? 1 : 0
}

/** Applies the held-back messages of every sender that is now a producer. */
function releaseDeferred (state: RoomState): RoomState {
  const ready = Object.keys(state.deferred).filter((peer) => isProducer(state, peer))
  if (ready.length === 0) return state
  const deferred = { ...state.deferred }
  const events = ready.flatMap((peer) => deferred[peer] ?? [])
  for (const peer of ready) delete deferred[peer]
  return events.reduce(reduceRoom, { ...state, deferred })
}
