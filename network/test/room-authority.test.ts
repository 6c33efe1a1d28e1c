import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  createInvite, decodeRoomMessage, encodeRoomMessage, generateStationKey, INVITE_NONCE_BYTES, isProducer, ROOM_LIMITS, snapshotOf,
  type RoomEvent, type RoomMessage, type RoomRequest, type RoomState, type StationKey
} from '@openstudio/protocol'
import { RoomAuthority, type RequestOutcome, type RequestRefusal, type RoomAuthorityInit } from '../src/room/authority.ts'
import { InviteBook, memoryInviteStore } from '../src/room/invites.ts'
import type { RoomChannel } from '../src/room/channel.ts'
import { Bus, join } from './room-bus.ts'

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0)
const HOUR = 60 * 60 * 1000
const station = generateStationKey()
const [alice, bob, carol, dan] = [generateStationKey(), generateStationKey(), generateStationKey(), generateStationKey()] as [StationKey, StationKey, StationKey, StationKey]

interface StudioInit extends RoomAuthorityInit {
  /** The studio's clock. @default a clock at T0 that the test moves through `clock.now` */
  now?: () => number
}

/**
 * A studio on an in-memory room topic: the station's channel and its
 * authority, an invite book, a listener's replica on the same topic, and
 * each caller's own channel (which signs its requests, and is a replica too).
 */
function studio (init: StudioInit = {}) {
  const bus = new Bus()
  const clock = { now: T0 }
  const now = init.now ?? (() => clock.now)
  const channel = join(bus, station.id, station, { now })
  const book = new InviteBook({ key: station, store: memoryInviteStore(), now })
  const policy: { access: 'open' | 'invite' } = { access: 'open' }
  const authority = new RoomAuthority({ channel, invites: book, access: () => policy.access, now }, init)
  const replica = join(bus, station.id, generateStationKey())
  const callers = new Map<string, RoomChannel>()
  const caller = (key: StationKey): RoomChannel => {
    const mine = callers.get(key.id) ?? join(bus, station.id, key, { now })
    callers.set(key.id, mine)
    return mine
  }
  return {
    bus, clock, channel, book, policy, authority, replica, caller,
    /** Lets `key` in as its hello would, and returns what the studio would hand it. */
    enter: async (key: StationKey, invite?: string): Promise<Uint8Array[]> => {
      const admission = authority.admit(key.id, invite)
      if (!admission.ok) throw new Error(`refused: ${admission.reason}`)
      const mine = caller(key)
      const sent = await authority.enter(key.id, `Caller ${key.id.slice(-4)}`, admission)
      // What the studio hands it on its stream: these commands, then a snapshot.
      for (const envelope of [...sent, authority.snapshot()]) mine.receive(envelope, station.id)
      return sent
    },
    /** `key` sends a request on its own signalling stream. */
    ask: async (key: StationKey, message: RoomRequest): Promise<RequestOutcome> => authority.request(caller(key).request(message), key.id),
    /** A host invite, used by whoever enters with it. */
    hostInvite: (validForMs = HOUR) => book.issue({ role: 'host', validForMs }),
    /** The state now, at the studio. */
    get state (): RoomState { return channel.state },
    participant: (key: StationKey) => channel.state.participants[key.id]
  }
}

type Studio = ReturnType<typeof studio>

/** The replicated part of a state (what every replica must agree on). */
const replicated = (state: RoomState) => ({ room: state.room, epoch: state.epoch, n: state.n, onAir: state.onAir, participants: state.participants })

/** Every replica on the studio's topic holds exactly the studio's state. */
function expectReplicasInSync (s: Studio, ...more: RoomChannel[]): void {
  for (const replica of [s.replica, ...more]) {
    expect(replica.state.pending).toEqual([])
    expect(replicated(replica.state)).toEqual(replicated(s.state))
  }
}

function eventOf (envelope: Uint8Array): RoomEvent {
  const decoded = decodeRoomMessage(envelope, station.id)
  if (!decoded.ok) throw decoded.error
  return decoded.value
}

/** The commands a request came to, in order (it must have come to some). */
function commandsOf (outcome: RequestOutcome): RoomEvent[] {
  if (outcome.kind !== 'command') throw new Error(`expected commands, got ${JSON.stringify(outcome)}`)
  const events = outcome.envelopes.map(eventOf)
  for (const event of events) expect(event.from).toBe(station.id)
  return events
}

/** The one command a request came to. */
function commandOf (outcome: RequestOutcome): RoomEvent {
  const events = commandsOf(outcome)
  expect(events).toHaveLength(1)
  return events[0] as RoomEvent
}

const refused = (reason: RequestRefusal): RequestOutcome => ({ kind: 'refused', reason })

/** A message signed by `key` with the session and count given, outside its channel's own count. */
const signed = (key: StationKey, message: RoomMessage, n: number, epoch = T0): Uint8Array =>
  encodeRoomMessage(key, { room: station.id, epoch, n, message })

afterEach(() => {
  vi.useRealTimers()
})

describe('room authority: who gets in', () => {
  it('lets anyone in on an open station; there a bad invite only means no co-host authority', () => {
    const s = studio()
    expect(s.authority.admit(alice.id, undefined)).toEqual({ ok: true })
    expect(s.authority.admit(alice.id, 'not-an-invite')).toEqual({ ok: true })
    expect(s.authority.admit(alice.id, s.book.issue({ role: 'caller', validForMs: HOUR }).token)).toEqual({ ok: true })
    const host = s.hostInvite()
    expect(s.authority.admit(bob.id, host.token)).toEqual({ ok: true, grantUntil: host.entry.expiresAt })
    expect(host.entry.expiresAt).toBe(T0 + HOUR)
    s.book.revoke(host.entry.nonce)
    expect(s.authority.admit(bob.id, host.token)).toEqual({ ok: true })
  })

  it('on an invite-only station, refuses a hello with no invite, or one that is invalid, expired, revoked or used by another peer', () => {
    const s = studio()
    s.policy.access = 'invite'
    expect(s.authority.admit(alice.id, undefined)).toEqual({ ok: false, reason: 'invite-required' })
    expect(s.authority.admit(alice.id, 'not-an-invite')).toEqual({ ok: false, reason: 'invite-invalid' })
    // Signed by the station, but not issued by this studio's book.
    const stray = createInvite(station, { role: 'host', expiresAt: T0 + HOUR, nonce: new Uint8Array(INVITE_NONCE_BYTES).fill(9), now: T0 })
    expect(s.authority.admit(alice.id, stray)).toEqual({ ok: false, reason: 'invite-invalid' })

    const short = s.book.issue({ role: 'caller', validForMs: 1000 })
    const revoked = s.book.issue({ role: 'caller', validForMs: HOUR })
    s.book.revoke(revoked.entry.nonce)
    expect(s.authority.admit(alice.id, revoked.token)).toEqual({ ok: false, reason: 'invite-revoked' })
    s.clock.now = T0 + 1000
    expect(s.authority.admit(alice.id, short.token)).toEqual({ ok: false, reason: 'invite-expired' })

    const single = s.book.issue({ role: 'caller', validForMs: HOUR, singleUse: true })
    expect(s.authority.admit(alice.id, single.token)).toEqual({ ok: true })
    expect(s.authority.admit(bob.id, single.token)).toEqual({ ok: false, reason: 'invite-used' })
    // The peer that used it may use it again (a redial).
    expect(s.authority.admit(alice.id, single.token)).toEqual({ ok: true })
    expect(s.book.list().find((e) => e.nonce === single.entry.nonce)?.usedBy).toEqual([alice.id])

    const host = s.hostInvite()
    expect(s.authority.admit(carol.id, host.token)).toEqual({ ok: true, grantUntil: T0 + 1000 + HOUR })
  })

  it('keeps a kicked caller out, whatever its invite, without spending the invite', async () => {
    const s = studio()
    await s.enter(alice)
    await s.authority.kick(alice.id)
    const single = s.book.issue({ role: 'host', validForMs: HOUR, singleUse: true })
    for (const access of ['open', 'invite'] as const) {
      s.policy.access = access
      expect(s.authority.admit(alice.id, undefined)).toEqual({ ok: false, reason: 'kicked' })
      expect(s.authority.admit(alice.id, single.token)).toEqual({ ok: false, reason: 'kicked' })
    }
    expect(s.book.list()[0]?.usedBy).toEqual([])
    // Until the producer lets it back.
    await s.authority.command({ type: 'admit', peer: alice.id })
    s.policy.access = 'open'
    expect(s.authority.admit(alice.id, undefined)).toEqual({ ok: true })
  })

  it('enter() presents a caller in the green room; with a host invite it also grants authority and takes it to air', async () => {
    const s = studio()
    const late = join(new Bus(), station.id, generateStationKey())
    const handed: Uint8Array[] = []

    const callerSent = await s.enter(alice)
    expect(callerSent.map((e) => eventOf(e).message)).toEqual([{ type: 'present', peer: alice.id, name: `Caller ${alice.id.slice(-4)}` }])
    expect(s.participant(alice)).toMatchObject({ present: true, stage: 'green-room', kicked: false })
    expect(s.participant(alice)?.grantExpiresAt).toBeUndefined()
    handed.push(...callerSent)

    const host = s.hostInvite()
    const hostSent = await s.enter(bob, host.token)
    expect(hostSent.map((e) => eventOf(e).message)).toEqual([
      { type: 'present', peer: bob.id, name: `Caller ${bob.id.slice(-4)}` },
      { type: 'grant', peer: bob.id, expiresAt: T0 + HOUR },
      { type: 'admit', peer: bob.id }
    ])
    // Each a command of the station, numbered on from the one before.
    expect(hostSent.map((e) => eventOf(e).n)).toEqual([2, 3, 4])
    expect(s.participant(bob)).toMatchObject({ present: true, stage: 'on-air', grantExpiresAt: T0 + HOUR })
    expect(isProducer(s.state, bob.id, T0)).toBe(true)
    handed.push(...hostSent)

    // What the studio handed on the streams brings a replica that heard nothing on the topic to the same state.
    for (const envelope of handed) expect(late.receive(envelope, station.id)).toBeDefined()
    expect(replicated(late.state)).toEqual(replicated(s.state))
    expectReplicasInSync(s, s.caller(alice), s.caller(bob))
  })

  it('a full room forgets whoever left longest ago, never a kicked caller, and refuses a caller when everyone is in a call or kicked', async () => {
    const s = studio()
    const everyone = Array.from({ length: ROOM_LIMITS.participantsMax }, () => generateStationKey())
    for (const [i, key] of everyone.entries()) await s.authority.present(key.id, `P${i}`)
    const [kicked, first, second] = everyone as [StationKey, StationKey, StationKey]
    await s.authority.kick(kicked.id)
    s.clock.now += 1000
    await s.authority.absent(first.id)
    s.clock.now += 1000
    await s.authority.absent(second.id)

    expect(s.authority.canEnter(alice.id)).toBe(true)
    await s.authority.present(alice.id, 'Alice')
    expect(s.participant(first)).toBeUndefined()
    expect(s.participant(kicked)?.kicked).toBe(true)
    expect(s.participant(second)?.present).toBe(false)
    expect(s.participant(alice)?.present).toBe(true)
    expect(Object.keys(s.state.participants)).toHaveLength(ROOM_LIMITS.participantsMax)

    await s.authority.present(bob.id, 'Bob')
    expect(s.participant(second)).toBeUndefined()
    expect(s.participant(bob)?.present).toBe(true)

    const before = s.state
    expect(s.authority.canEnter(carol.id)).toBe(false)
    expect(s.authority.canEnter(alice.id)).toBe(true)
    await expect(s.authority.present(carol.id, 'Carol')).rejects.toMatchObject({ name: 'RoomFullError' })
    expect(s.state).toBe(before)
    // A caller already on record comes back whatever the room holds.
    await s.authority.absent(alice.id)
    await s.authority.present(alice.id, 'Alice')
    expect(s.participant(alice)?.present).toBe(true)
    expectReplicasInSync(s)
  })

  it('forgets a caller that left once forgetAfterMs has passed, but not one in a call, one that came back, or a kicked one', async () => {
    vi.useFakeTimers({ now: T0 })
    const s = studio({ now: Date.now, forgetAfterMs: 4000 })
    s.authority.start()
    try {
      for (const key of [alice, bob, carol, dan]) await s.enter(key)
      await s.ask(alice, { type: 'leave' })
      await s.authority.kick(carol.id)
      await s.authority.absent(dan.id)
      await vi.advanceTimersByTimeAsync(2000)
      // Dan redials before his record goes.
      await s.authority.present(dan.id, 'Dan')
      await vi.advanceTimersByTimeAsync(1000)
      expect(s.participant(alice)).toMatchObject({ present: false })

      await vi.advanceTimersByTimeAsync(2000)
      expect(s.participant(alice)).toBeUndefined()
      expect(s.participant(bob)?.present).toBe(true)
      expect(s.participant(carol)?.kicked).toBe(true)
      expect(s.participant(dan)?.present).toBe(true)
      expectReplicasInSync(s, s.caller(bob))
      // Forgotten is forgotten: its requests are from nobody in a call.
      expect(await s.ask(alice, { type: 'self-mute', muted: true })).toEqual(refused('not-in-call'))
    } finally {
      s.authority.stop()
    }
  })
})

describe('room authority: requests', () => {
  it('carries out a caller\'s mute switch and its leaving as commands of the station', async () => {
    const s = studio()
    await s.enter(alice)
    await s.enter(bob)
    expect(commandOf(await s.ask(alice, { type: 'self-mute', muted: true })).message).toEqual({ type: 'self-muted', peer: alice.id, muted: true })
    expect(s.participant(alice)?.selfMuted).toBe(true)
    await s.authority.command({ type: 'admit', peer: alice.id })
    // Leaving gives up one's place on air too.
    expect(commandsOf(await s.ask(alice, { type: 'leave' })).map((e) => e.message)).toEqual([{ type: 'hold', peer: alice.id }, { type: 'absent', peer: alice.id }])
    expect(s.participant(alice)).toMatchObject({ present: false, selfMuted: true, stage: 'green-room' })
    expect(s.participant(bob)?.present).toBe(true)
    expectReplicasInSync(s, s.caller(alice), s.caller(bob))
  })

  it('answers a snapshot request with a snapshot for the requester only, one a second at most', async () => {
    const s = studio()
    await s.enter(alice)
    await s.enter(bob, s.hostInvite().token)
    await s.authority.command({ type: 'on-air' })
    const heard: RoomEvent[] = []
    s.replica.addEventListener('message:receive', (e) => heard.push(e.detail))
    const n = s.state.n

    const outcome = await s.ask(alice, { type: 'snapshot-request' })
    if (outcome.kind !== 'snapshot') throw new Error(`expected a snapshot, got ${JSON.stringify(outcome)}`)
    const snapshot = eventOf(outcome.envelope)
    expect(snapshot).toMatchObject({ from: station.id, epoch: s.state.epoch, n })
    expect(snapshot.message).toEqual({ type: 'snapshot', state: snapshotOf(s.state) })
    // Not a command: no count taken, nothing published.
    expect(s.state.n).toBe(n)
    expect(heard).toEqual([])
    const late = join(new Bus(), station.id, generateStationKey())
    late.receive(outcome.envelope, station.id)
    expect(replicated(late.state)).toEqual(replicated(s.state))

    expect(await s.ask(alice, { type: 'snapshot-request' })).toEqual(refused('rate-limited'))
    s.clock.now += 999
    expect(await s.ask(alice, { type: 'snapshot-request' })).toEqual(refused('rate-limited'))
    // Another caller's limit is its own.
    expect((await s.ask(bob, { type: 'snapshot-request' })).kind).toBe('snapshot')
    s.clock.now += 1
    expect((await s.ask(alice, { type: 'snapshot-request' })).kind).toBe('snapshot')
  })

  it('carries out a co-host\'s producer controls while its grant lasts', async () => {
    const s = studio()
    await s.enter(alice)
    await s.enter(bob, s.hostInvite().token)
    const controls: Array<[RoomRequest, Record<string, unknown>]> = [
      [{ type: 'admit', peer: alice.id }, { stage: 'on-air' }],
      [{ type: 'mute', peer: alice.id }, { producerMuted: true }],
      [{ type: 'gain', peer: alice.id, db: -6 }, { gainDb: -6 }],
      [{ type: 'unmute', peer: alice.id }, { producerMuted: false }],
      [{ type: 'hold', peer: alice.id }, { stage: 'green-room' }]
    ]
    for (const [request, effect] of controls) {
      const n = s.state.n
      const command = commandOf(await s.ask(bob, request))
      expect(command.message).toEqual(request)
      expect(command.n).toBe(n + 1)
      expect(s.participant(alice)).toMatchObject(effect)
      expectReplicasInSync(s, s.caller(alice), s.caller(bob))
    }
    // A co-host may set its own fader too.
    expect(commandOf(await s.ask(bob, { type: 'gain', peer: bob.id, db: 3 })).message).toEqual({ type: 'gain', peer: bob.id, db: 3 })
  })

  it('refuses a co-host\'s controls about the station\'s own host, or about anyone not in the room', async () => {
    const s = studio()
    await s.enter(alice)
    await s.enter(bob, s.hostInvite().token)
    const before = s.state
    for (const request of [
      { type: 'mute', peer: station.id }, { type: 'hold', peer: station.id }, { type: 'gain', peer: station.id, db: -60 },
      { type: 'admit', peer: carol.id }, { type: 'mute', peer: carol.id }, { type: 'gain', peer: carol.id, db: 0 }
    ] satisfies RoomRequest[]) {
      expect(await s.ask(bob, request)).toEqual(refused('bad-target'))
    }
    expect(s.state).toBe(before)
  })

  it('refuses controls from a caller without a grant, and from a co-host whose grant expired or was revoked', async () => {
    const s = studio()
    await s.enter(alice)
    await s.enter(bob, s.hostInvite().token)
    await s.enter(carol, s.hostInvite(2 * HOUR).token)
    await s.enter(dan, s.hostInvite(2 * HOUR).token)
    const before = s.state
    expect(await s.ask(alice, { type: 'mute', peer: bob.id })).toEqual(refused('not-co-host'))
    // Bob's grant ends with his invite's hour.
    s.clock.now = T0 + HOUR - 1
    expect((await s.ask(bob, { type: 'mute', peer: alice.id })).kind).toBe('command')
    s.clock.now = T0 + HOUR
    const expired = s.state
    expect(await s.ask(bob, { type: 'unmute', peer: alice.id })).toEqual(refused('not-co-host'))
    expect(s.state).toBe(expired)
    expect(s.participant(alice)?.producerMuted).toBe(true)

    expect(eventOf(await s.authority.revoke(carol.id) as Uint8Array).message).toEqual({ type: 'revoke', peer: carol.id })
    const revoked = s.state
    expect(await s.ask(carol, { type: 'unmute', peer: alice.id })).toEqual(refused('not-co-host'))
    expect(s.state).toBe(revoked)
    expect(await s.authority.revoke(carol.id)).toBeUndefined()
    // Dan's grant is untouched.
    expect((await s.ask(dan, { type: 'unmute', peer: alice.id })).kind).toBe('command')
    expect(before.n).toBeLessThan(s.state.n)
    expectReplicasInSync(s)
  })

  it('a kick ends a co-host\'s say: refused while kicked, and still without a grant once let back in without its invite', async () => {
    const s = studio()
    await s.enter(alice)
    await s.enter(bob, s.hostInvite().token)
    await s.authority.kick(bob.id)
    const kicked = s.state
    expect(await s.ask(bob, { type: 'admit', peer: bob.id })).toEqual(refused('not-in-call'))
    expect(await s.ask(bob, { type: 'mute', peer: alice.id })).toEqual(refused('not-in-call'))
    expect(s.state).toBe(kicked)
    // The producer lets Bob back; he redials with no invite.
    await s.authority.command({ type: 'admit', peer: bob.id })
    const admission = s.authority.admit(bob.id, undefined)
    expect(admission).toEqual({ ok: true })
    await s.authority.enter(bob.id, 'Bob', { ok: true })
    expect(s.participant(bob)).toMatchObject({ present: true, kicked: false })
    const back = s.state
    expect(await s.ask(bob, { type: 'mute', peer: alice.id })).toEqual(refused('not-co-host'))
    expect(s.state).toBe(back)
    expectReplicasInSync(s)
  })

  it('a kicked co-host\'s invite never makes it a co-host again this session, and no co-host can let a kicked caller back', async () => {
    const s = studio()
    await s.enter(alice)
    const invite = s.hostInvite().token
    await s.enter(bob, invite)
    await s.enter(carol, s.hostInvite().token)
    await s.authority.kick(bob.id)
    await s.authority.kick(alice.id)
    // Another co-host tries to let them back: only the station may.
    expect(await s.ask(carol, { type: 'admit', peer: bob.id })).toEqual(refused('bad-target'))
    expect(await s.ask(carol, { type: 'admit', peer: alice.id })).toEqual(refused('bad-target'))
    // The station lets Bob back; he redials with his host invite, and comes in as a caller only.
    await s.authority.command({ type: 'admit', peer: bob.id })
    const admission = s.authority.admit(bob.id, invite)
    expect(admission).toEqual({ ok: true })
    await s.authority.enter(bob.id, 'Bob', { ok: true })
    expect(isProducer(s.state, bob.id, s.clock.now)).toBe(false)
    expectReplicasInSync(s)
  })

  it('counts a caller\'s requests afresh on each new call, so a caller whose clock went back is not locked out', async () => {
    const s = studio()
    await s.enter(alice)
    expect((await s.authority.request(signed(alice, { type: 'self-mute', muted: true }, 1, T0 + HOUR), alice.id)).kind).toBe('command')
    // A new page (its clock an hour behind) calls again.
    await s.authority.enter(alice.id, 'Alice', { ok: true })
    expect((await s.authority.request(signed(alice, { type: 'self-mute', muted: false }, 1, T0), alice.id)).kind).toBe('command')
    expect(s.participant(alice)?.selfMuted).toBe(false)
  })

  it('refuses the station\'s own message types from anyone, co-hosts included', async () => {
    const s = studio()
    await s.enter(alice)
    await s.enter(bob, s.hostInvite().token)
    const before = s.state
    const stationOnly: RoomMessage[] = [
      { type: 'present', peer: carol.id, name: 'Carol' }, { type: 'absent', peer: alice.id }, { type: 'forget', peer: alice.id },
      { type: 'kick', peer: alice.id }, { type: 'self-muted', peer: alice.id, muted: true }, { type: 'on-air' }, { type: 'off-air' },
      { type: 'grant', peer: alice.id, expiresAt: T0 + HOUR }, { type: 'revoke', peer: bob.id },
      { type: 'snapshot', state: { onAir: true, participants: [] } }
    ]
    let n = 0
    for (const from of [alice, bob, carol]) {
      for (const message of stationOnly) {
        expect(await s.authority.request(signed(from, message, ++n), from.id)).toEqual(refused('station-only'))
      }
    }
    expect(s.state).toBe(before)
    expect(s.authority.refusals).toEqual({ 'station-only': 3 * stationOnly.length })
  })

  it('refuses requests from anyone not in a call: a stranger, a caller who left, a kicked caller', async () => {
    const s = studio()
    await s.enter(alice)
    await s.enter(bob)
    await s.ask(alice, { type: 'leave' })
    await s.authority.kick(bob.id)
    const before = s.state
    for (const key of [carol, alice, bob]) {
      for (const request of [{ type: 'self-mute', muted: true }, { type: 'leave' }, { type: 'snapshot-request' }] satisfies RoomRequest[]) {
        expect(await s.ask(key, request)).toEqual(refused('not-in-call'))
      }
    }
    expect(s.state).toBe(before)
  })

  it('refuses replays: the same envelope again, an older count or an older session; a refused request moves nothing on', async () => {
    const s = studio()
    await s.enter(alice)
    const fifth = signed(alice, { type: 'self-mute', muted: true }, 5)
    expect(commandOf(await s.authority.request(fifth, alice.id)).message).toEqual({ type: 'self-muted', peer: alice.id, muted: true })
    const after = s.state
    expect(await s.authority.request(fifth, alice.id)).toEqual(refused('replayed'))
    expect(await s.authority.request(signed(alice, { type: 'self-mute', muted: false }, 5), alice.id)).toEqual(refused('replayed'))
    expect(await s.authority.request(signed(alice, { type: 'self-mute', muted: false }, 3), alice.id)).toEqual(refused('replayed'))
    expect(await s.authority.request(signed(alice, { type: 'self-mute', muted: false }, 100, T0 - 1), alice.id)).toEqual(refused('replayed'))
    expect(s.state).toBe(after)
    // The largest session and count there are, in a request the studio refuses, do not end the caller's say.
    const max = Number.MAX_SAFE_INTEGER
    expect(await s.authority.request(signed(alice, { type: 'on-air' }, max, max), alice.id)).toEqual(refused('station-only'))
    expect(await s.authority.request(signed(alice, { type: 'mute', peer: alice.id }, max, max), alice.id)).toEqual(refused('not-co-host'))
    expect(s.state).toBe(after)
    expect(commandOf(await s.authority.request(signed(alice, { type: 'self-mute', muted: false }, 6), alice.id)).message).toMatchObject({ muted: false })
    // A redial starts a newer session, with its count from 1.
    expect(commandOf(await s.authority.request(signed(alice, { type: 'self-mute', muted: true }, 1, T0 + 1), alice.id)).message).toMatchObject({ muted: true })
    expectReplicasInSync(s)
  })

  it('refuses envelopes that do not verify, or that someone other than the stream\'s peer signed', async () => {
    const s = studio()
    await s.enter(alice)
    await s.enter(bob)
    const before = s.state
    const genuine = s.caller(alice).request({ type: 'self-mute', muted: true })
    const tampered = Uint8Array.from(genuine)
    tampered[tampered.length - 4] = (tampered[tampered.length - 4] as number) ^ 1
    const elsewhere = encodeRoomMessage(alice, { room: generateStationKey().id, epoch: T0, n: 1, message: { type: 'leave' } })
    const stationCommand = await s.authority.command({ type: 'mute', peer: bob.id })
    const muted = s.state
    for (const [envelope, peer] of [
      [genuine, bob.id], [tampered, alice.id], [elsewhere, alice.id], [new Uint8Array([1, 2, 3]), alice.id],
      [new Uint8Array(100_000), alice.id], [stationCommand, alice.id], [stationCommand, bob.id]
    ] as Array<[Uint8Array, string]>) {
      expect(await s.authority.request(envelope, peer)).toEqual(refused('unverified'))
    }
    expect(s.state).toBe(muted)
    expect(before.n + 1).toBe(muted.n)
    // The genuine one, on its own peer's stream, still counts.
    expect((await s.authority.request(genuine, alice.id)).kind).toBe('command')
  })

  it('counts refusals by reason, and tells its listeners each one', async () => {
    const s = studio()
    const told: Array<{ peer: string, type?: string, reason: RequestRefusal }> = []
    s.authority.addEventListener('request:refuse', (e) => told.push(e.detail))
    await s.enter(alice)
    await s.enter(bob, s.hostInvite().token)
    const again = s.caller(alice).request({ type: 'self-mute', muted: true })
    await s.authority.request(again, alice.id)
    await s.ask(alice, { type: 'snapshot-request' })

    await s.authority.request(again, bob.id)
    await s.ask(carol, { type: 'leave' })
    await s.authority.request(again, alice.id)
    await s.authority.request(signed(alice, { type: 'on-air' }, 1000), alice.id)
    await s.ask(alice, { type: 'mute', peer: bob.id })
    await s.ask(bob, { type: 'mute', peer: station.id })
    await s.ask(alice, { type: 'snapshot-request' })
    await s.ask(bob, { type: 'mute', peer: carol.id })
    expect(s.authority.refusals).toEqual({
      unverified: 1, 'not-in-call': 1, replayed: 1, 'station-only': 1, 'not-co-host': 1, 'bad-target': 2, 'rate-limited': 1
    })
    expect(told).toEqual([
      { peer: bob.id, type: undefined, reason: 'unverified' },
      { peer: carol.id, type: 'leave', reason: 'not-in-call' },
      { peer: alice.id, type: 'self-mute', reason: 'replayed' },
      { peer: alice.id, type: 'on-air', reason: 'station-only' },
      { peer: alice.id, type: 'mute', reason: 'not-co-host' },
      { peer: bob.id, type: 'mute', reason: 'bad-target' },
      { peer: alice.id, type: 'snapshot-request', reason: 'rate-limited' },
      { peer: bob.id, type: 'mute', reason: 'bad-target' }
    ])
  })
})

describe('room authority: invite revocation', () => {
  it('revoking a host invite ends the grants of the co-hosts who came in with it, and of nobody else', async () => {
    const s = studio()
    const shared = s.hostInvite()
    const other = s.hostInvite()
    await s.enter(alice)
    await s.enter(bob, shared.token)
    await s.enter(dan, shared.token)
    await s.enter(carol, other.token)

    const sent = await s.authority.revokeInvite(shared.entry.nonce)
    expect(sent.map((e) => eventOf(e).message)).toEqual([{ type: 'revoke', peer: bob.id }, { type: 'revoke', peer: dan.id }])
    for (const key of [bob, dan]) expect(isProducer(s.state, key.id, T0)).toBe(false)
    expect(isProducer(s.state, carol.id, T0)).toBe(true)
    const revoked = s.state
    expect(await s.ask(bob, { type: 'mute', peer: alice.id })).toEqual(refused('not-co-host'))
    expect(s.state).toBe(revoked)
    expect((await s.ask(carol, { type: 'mute', peer: alice.id })).kind).toBe('command')

    // The invite lets nobody in as a co-host any more; on an invite-only station, not at all.
    expect(s.authority.admit(bob.id, shared.token)).toEqual({ ok: true })
    s.policy.access = 'invite'
    expect(s.authority.admit(bob.id, shared.token)).toEqual({ ok: false, reason: 'invite-revoked' })
    expect(await s.authority.revokeInvite('00'.repeat(INVITE_NONCE_BYTES))).toEqual([])
    // A second revocation has no grants left to end.
    expect(await s.authority.revokeInvite(shared.entry.nonce)).toEqual([])
    expectReplicasInSync(s, s.caller(alice), s.caller(bob))
  })
})
