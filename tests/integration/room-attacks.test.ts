/**
 * Attacks on a room (room protocol 2), end to end through real gossipsub: a
 * relay on loopback, the studio (the station's own node, with its room
 * authority and invite book), callers that call it through the relay, and
 * attackers. Only the station's commands change a room; everyone else's
 * messages are requests the studio judges. Each test makes an attack, shows
 * that it changed nothing anywhere, and then that the producer still rules:
 * its mute, admit and kick take effect at a caller's room channel.
 *
 * "Changed nothing" without sleeping: junk on the topic is waited for until
 * the relay has judged it (its room-reject count, or its sender graylisted),
 * and junk on a signalling stream until the studio's authority has refused
 * it. Only then does the producer send its next command, and once a caller
 * has applied that command, whatever the junk would have done is done: the
 * caller's state must equal the studio's, and the studio's what it was.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GOSSIP_SCORE } from '@openstudio/node'
import {
  createInvite, encodeRoomMessage, generateStationKey, INVITE_NONCE_BYTES, isProducer, snapshotOf, type ParticipantSnapshot, type RoomMessage
} from '@openstudio/protocol'
import type { Relay } from '@openstudio/relay'
import { startRelay, tcpAddr } from '../src/network.ts'
import { gossipRouterOf, offersInGossip, replicatedState, RoomCaller, RoomStudio } from '../src/room-studio.ts'
import { waitUntil } from '../src/wait.ts'

const MAX = Number.MAX_SAFE_INTEGER
const HOUR = 60 * 60 * 1000

describe('attacks on a room, through a real relay', () => {
  let relay: Relay
  let studio: RoomStudio
  /** A caller in the show: every test checks its view. */
  let alice: RoomCaller
  /** The caller the producer's proof commands are about. */
  let tom: RoomCaller
  /** Nodes a test started, stopped after it. */
  const extras: Array<{ stop: () => Promise<void> }> = []

  beforeAll(async () => {
    relay = await startRelay({ limits: { reservationsPerHost: 64 } })
    studio = await RoomStudio.start(relay)
    ;[alice, tom] = await Promise.all([RoomCaller.start(relay, studio.id), RoomCaller.start(relay, studio.id)])
    expect(await alice.call(studio, { name: 'Alice' })).toBe('welcome')
    expect(await tom.call(studio, { name: 'Tom' })).toBe('welcome')
    await inMesh(relay, studio.id, alice.id, tom.id)
    await inSync(alice, tom)
  })

  afterAll(async () => {
    await stopExtras()
    await Promise.all([alice?.stop(), tom?.stop()])
    await studio?.stop()
    await relay?.stop()
  })

  async function stopExtras (): Promise<void> {
    await Promise.all(extras.splice(0).map(async (node) => node.stop()))
  }

  /** Callers started for one test, in the room (subscribed), not yet in a call. */
  async function callers (n: number, via: Relay = relay): Promise<RoomCaller[]> {
    const started = await Promise.all(Array.from({ length: n }, async () => RoomCaller.start(via, studio.id)))
    extras.push(...started)
    return started
  }

  /** The relay's count of room messages it rejected (never forwarded). */
  async function roomRejects (at: Relay = relay): Promise<number> {
    return (await at.refusals.counts())['gossip/room-reject'] ?? 0
  }

  /** Waits until each of `peers` can publish to `at` on the room topic. */
  async function canPublish (peers: RoomCaller[], at: Relay = relay): Promise<void> {
    for (const peer of peers) {
      await waitUntil(`${peer.id} to see ${at.peerId} in the room`, () =>
        peer.node.services.pubsub.getSubscribers(peer.topic).some((p) => p.equals(at.node.peerId)))
    }
  }

  /** Waits until every caller holds the studio's state, and checks that it does, exactly. */
  async function inSync (...observers: RoomCaller[]): Promise<void> {
    for (const caller of observers) {
      await waitUntil(`${caller.id} at the studio's count ${studio.state.n}`, () => caller.room.state.epoch === studio.state.epoch && caller.room.state.n === studio.state.n)
      expect(replicatedState(caller.room.state)).toEqual(replicatedState(studio.state))
      expect(caller.room.state.pending).toEqual([])
    }
  }

  /** The studio and every caller still hold exactly `before`. */
  function unchanged (before: ReturnType<typeof replicatedState>, ...observers: RoomCaller[]): void {
    expect(replicatedState(studio.state)).toEqual(before)
    for (const caller of observers) expect(replicatedState(caller.room.state)).toEqual(before)
  }

  /**
   * The producer's mute, admit and kick of Tom each take effect at the
   * callers' room channels; then every caller holds the studio's state.
   */
  async function producerStillRules (...observers: RoomCaller[]): Promise<void> {
    const seen = (what: string, check: (p: ParticipantSnapshot) => boolean): Promise<unknown> => Promise.all(observers.map(async (caller) =>
      waitUntil(`${what} at ${caller.id}`, () => { const p = caller.room.state.participants[tom.id]; return p !== undefined && check(p) })))
    await studio.command({ type: 'unmute', peer: tom.id })
    await studio.command({ type: 'hold', peer: tom.id })
    await seen('Tom unmuted and held', (p) => !p.producerMuted && p.stage === 'green-room')
    await studio.command({ type: 'mute', peer: tom.id })
    await seen('the producer\'s mute of Tom', (p) => p.producerMuted)
    await studio.command({ type: 'admit', peer: tom.id })
    await seen('the producer\'s admit of Tom', (p) => p.stage === 'on-air' && !p.kicked)
    await studio.command({ type: 'kick', peer: tom.id })
    await seen('the producer\'s kick of Tom', (p) => p.kicked)
    await inSync(...observers)
  }

  /** A message signed with `signer`'s key, claiming to be from `from` (a forgery unless they are the same). */
  function signedAs (signer: RoomCaller, from: string, message: RoomMessage, epoch: number, n: number): Uint8Array {
    return encodeRoomMessage({ id: from, secretKey: signer.key.secretKey }, { room: studio.id, epoch, n, message })
  }

  it('A: a message with the largest session and count there are, on the topic and on a stream, changes no state and no count', async () => {
    const [attacker] = await callers(1) as [RoomCaller]
    await canPublish([attacker])
    await inSync(alice, tom)
    const before = replicatedState(studio.state)
    const rejects = await roomRejects()

    // On the topic: the attacker's own, and one that claims to be the station's (its signature is the attacker's).
    const own = signedAs(attacker, attacker.id, { type: 'on-air' }, MAX, MAX)
    const forged = signedAs(attacker, studio.id, { type: 'kick', peer: alice.id }, MAX, MAX)
    await attacker.publish(own)
    await attacker.publish(forged)
    await waitUntil('the relay to reject both', async () => await roomRejects() >= rejects + 2)
    // Had a relay forwarded them, a caller would drop them too.
    expect(alice.room.receive(own)).toBeUndefined()
    expect(alice.room.receive(forged)).toBeUndefined()

    // On Alice's own stream: a station's type, a producer control she has no grant for, and the forgery.
    const refusedBefore = studio.refusedFrom(alice.id).length
    await alice.send(signedAs(alice, alice.id, { type: 'on-air' }, MAX, MAX))
    await alice.send(signedAs(alice, alice.id, { type: 'admit', peer: alice.id }, MAX, MAX))
    await alice.send(forged)
    await waitUntil('the studio to refuse all three', () => studio.refusedFrom(alice.id).length >= refusedBefore + 3)
    expect(studio.refusedFrom(alice.id).slice(refusedBefore)).toEqual(['station-only', 'not-co-host', 'unverified'])
    unchanged(before, alice, tom)

    // Refused, they did not use up Alice's counts: her own mute switch still works.
    await alice.request({ type: 'self-mute', muted: true })
    await waitUntil('Alice\'s mute switch at the studio', () => studio.state.participants[alice.id]?.selfMuted === true)
    await alice.request({ type: 'self-mute', muted: false })
    await waitUntil('Alice\'s mute switch back', () => studio.state.participants[alice.id]?.selfMuted === false)
    expect(studio.state.epoch).toBe(before.epoch)
    await producerStillRules(alice, tom)
    await stopExtras()
  })

  it('B: 64 throwaway identities publishing room messages add nobody; a real caller\'s hello gets it in, and the producer admits it', async () => {
    const attackers = await callers(2)
    const [rita] = await callers(1) as [RoomCaller]
    await canPublish(attackers)
    await inSync(alice, tom)
    const before = replicatedState(studio.state)
    const rejects = await roomRejects()
    const router = gossipRouterOf(relay.node)

    const throwaways = Array.from({ length: 64 }, () => generateStationKey())
    const epoch = Date.now()
    await Promise.all(attackers.map(async (attacker, a) => {
      for (const key of throwaways.filter((_, i) => i % attackers.length === a)) {
        const mine = (message: RoomMessage, n: number): Uint8Array => encodeRoomMessage(key, { room: studio.id, epoch, n, message })
        await attacker.publish(mine({ type: 'present', peer: key.id, name: 'Sybil' }, 1))
        await attacker.publish(mine({ type: 'self-mute', muted: true }, 2))
        await attacker.publish(mine({ type: 'leave' }, 3))
      }
    }))
    // Each sender is graylisted after its first few: the rest are dropped unread.
    for (const attacker of attackers) {
      await waitUntil(`${attacker.id} graylisted on the relay`, () => router.getScore(attacker.id) < GOSSIP_SCORE.thresholds.graylistThreshold)
    }
    expect(await roomRejects()).toBeGreaterThanOrEqual(rejects + 3 * attackers.length)
    await studio.command({ type: 'on-air' })
    await inSync(alice, tom)
    expect(Object.keys(studio.state.participants).sort()).toEqual(Object.keys(before.participants).sort())
    for (const key of throwaways) expect(alice.room.state.participants[key.id]).toBeUndefined()

    expect(await rita.call(studio, { name: 'Rita' })).toBe('welcome')
    await waitUntil('Rita in the room at Alice', () => alice.room.state.participants[rita.id]?.present === true)
    await studio.command({ type: 'admit', peer: rita.id })
    for (const caller of [alice, rita]) {
      await waitUntil(`Rita on air at ${caller.id}`, () => caller.room.state.participants[rita.id]?.stage === 'on-air')
    }
    await producerStillRules(alice, rita)
    await stopExtras()
  })

  it('C: a kicked co-host\'s requests, on its stream and on the topic, change nothing, and its new hello is refused', async () => {
    const [cleo] = await callers(1) as [RoomCaller]
    const invite = studio.invites.issue({ role: 'host', validForMs: HOUR })
    expect(await cleo.call(studio, { name: 'Cleo', invite: invite.token })).toBe('welcome')
    await waitUntil('Cleo a co-host at Alice', () => isProducer(alice.room.state, cleo.id, Date.now()))
    // While her grant lasts, her controls are carried out.
    await cleo.request({ type: 'mute', peer: alice.id })
    await waitUntil('Cleo\'s mute of Alice at Alice', () => alice.room.state.participants[alice.id]?.producerMuted === true)
    await cleo.request({ type: 'unmute', peer: alice.id })
    await waitUntil('Cleo\'s unmute of Alice at Alice', () => alice.room.state.participants[alice.id]?.producerMuted === false)

    await studio.command({ type: 'kick', peer: cleo.id })
    await waitUntil('Cleo kicked at Cleo', () => cleo.room.state.participants[cleo.id]?.kicked === true)
    await canPublish([cleo])
    await inSync(alice, tom, cleo)
    const before = replicatedState(studio.state)
    expect(before.participants[cleo.id]?.grantExpiresAt).toBeUndefined()
    const rejects = await roomRejects()

    // Her old stream is still open.
    await cleo.request({ type: 'admit', peer: cleo.id })
    await cleo.request({ type: 'mute', peer: studio.id })
    await cleo.request({ type: 'mute', peer: alice.id })
    await cleo.request({ type: 'self-mute', muted: true })
    await waitUntil('the studio to refuse all four', () => studio.refusedFrom(cleo.id).length >= 4)
    expect(studio.refusedFrom(cleo.id)).toEqual(['not-in-call', 'not-in-call', 'not-in-call', 'not-in-call'])
    // On the topic.
    await cleo.publish(cleo.room.request({ type: 'admit', peer: cleo.id }))
    await cleo.publish(signedAs(cleo, cleo.id, { type: 'grant', peer: cleo.id, expiresAt: Date.now() + HOUR }, cleo.room.epoch, 1000))
    await waitUntil('the relay to reject both', async () => await roomRejects() >= rejects + 2)
    // A new call, with her invite or without one.
    expect(await cleo.call(studio, { name: 'Cleo', invite: invite.token })).toBe('kicked')
    expect(await cleo.call(studio, { name: 'Cleo' })).toBe('kicked')
    unchanged(before, alice, tom, cleo)

    await producerStillRules(alice, cleo)
    expect(studio.state.participants[cleo.id]).toMatchObject({ kicked: true })
    expect(studio.state.participants[cleo.id]?.grantExpiresAt).toBeUndefined()
    await stopExtras()
  })

  it('D: a co-host\'s snapshot granting a stranger, and its grants, on its stream and on the topic, are refused and grant nobody', async () => {
    const [dora] = await callers(1) as [RoomCaller]
    const invite = studio.invites.issue({ role: 'host', validForMs: HOUR })
    expect(await dora.call(studio, { name: 'Dora', invite: invite.token })).toBe('welcome')
    await waitUntil('Dora a co-host at Alice', () => isProducer(alice.room.state, dora.id, Date.now()))
    await canPublish([dora])
    await inSync(alice, tom, dora)
    const before = replicatedState(studio.state)
    const rejects = await roomRejects()

    const stranger = generateStationKey().id
    const expiresAt = Date.now() + HOUR
    const granted = (p: ParticipantSnapshot): ParticipantSnapshot => ({ ...p, kicked: false, present: true, stage: 'on-air', grantExpiresAt: expiresAt })
    const snapshot: RoomMessage = {
      type: 'snapshot',
      state: {
        onAir: !studio.state.onAir,
        participants: [
          ...snapshotOf(studio.state).participants.map((p) => p.id === dora.id ? p : granted(p)),
          granted({ id: stranger, name: 'Mallory', present: true, stage: 'on-air', kicked: false, producerMuted: false, selfMuted: false, gainDb: 0 })
        ]
      }
    }
    // Its count and session just past the station's, so a replica that applied it would take it as the newest.
    const asStation = { epoch: studio.state.epoch, n: studio.state.n + 1 }
    const forgeries = [
      signedAs(dora, dora.id, snapshot, asStation.epoch, asStation.n),
      signedAs(dora, dora.id, { type: 'grant', peer: stranger, expiresAt }, dora.room.epoch, 1000),
      signedAs(dora, dora.id, { type: 'grant', peer: alice.id, expiresAt }, dora.room.epoch, 1001)
    ]
    for (const envelope of forgeries) await dora.send(envelope)
    await waitUntil('the studio to refuse all three', () => studio.refusedFrom(dora.id).length >= 3)
    expect(studio.refusedFrom(dora.id)).toEqual(['station-only', 'station-only', 'station-only'])
    await dora.publish(forgeries[0] as Uint8Array)
    await dora.publish(forgeries[2] as Uint8Array)
    await waitUntil('the relay to reject both', async () => await roomRejects() >= rejects + 2)
    for (const envelope of forgeries) expect(alice.room.receive(envelope)).toBeUndefined()
    unchanged(before, alice, tom, dora)

    await producerStillRules(alice, dora)
    for (const state of [studio.state, alice.room.state]) {
      expect(state.participants[stranger]).toBeUndefined()
      const holders = Object.values(state.participants).filter((p) => p.grantExpiresAt !== undefined).map((p) => p.id)
      expect(holders).toEqual(Object.values(before.participants).filter((p) => p.grantExpiresAt !== undefined).map((p) => p.id))
      expect(holders).not.toContain(alice.id)
    }
    await stopExtras()
  })

  it('E: revoked, used-up and foreign invites are refused, and revoking a co-host\'s invite ends its say', async () => {
    const [xena, yuri, zoe] = await callers(3) as [RoomCaller, RoomCaller, RoomCaller]
    studio.access = 'invite'
    try {
      const revoked = studio.invites.issue({ role: 'caller', validForMs: HOUR })
      await studio.revokeInvite(revoked.entry.nonce)
      expect(await xena.call(studio, { name: 'Xena', invite: revoked.token })).toBe('invite-revoked')
      expect(await xena.call(studio, { name: 'Xena' })).toBe('invite-required')

      const single = studio.invites.issue({ role: 'caller', validForMs: HOUR, singleUse: true })
      expect(await xena.call(studio, { name: 'Xena', invite: single.token })).toBe('welcome')
      expect(await yuri.call(studio, { name: 'Yuri', invite: single.token })).toBe('invite-used')
      // Signed with the station's key, but not in its book.
      const stray = createInvite(studio.key, { role: 'host', expiresAt: Date.now() + HOUR, nonce: crypto.getRandomValues(new Uint8Array(INVITE_NONCE_BYTES)) })
      expect(await yuri.call(studio, { name: 'Yuri', invite: stray })).toBe('invite-invalid')
      expect(studio.state.participants[yuri.id]).toBeUndefined()

      const host = studio.invites.issue({ role: 'host', validForMs: HOUR })
      expect(await zoe.call(studio, { name: 'Zoe', invite: host.token })).toBe('welcome')
      await waitUntil('Zoe a co-host at Alice', () => isProducer(alice.room.state, zoe.id, Date.now()))
      await zoe.request({ type: 'mute', peer: xena.id })
      await waitUntil('Zoe\'s mute of Xena at Alice', () => alice.room.state.participants[xena.id]?.producerMuted === true)

      const sent = await studio.revokeInvite(host.entry.nonce)
      expect(sent).toHaveLength(1)
      await waitUntil('Zoe\'s grant gone at Zoe', () => zoe.room.state.participants[zoe.id]?.grantExpiresAt === undefined)
      await inSync(alice, tom, xena, zoe)
      const before = replicatedState(studio.state)
      await zoe.request({ type: 'unmute', peer: xena.id })
      await waitUntil('the studio to refuse Zoe', () => studio.refusedFrom(zoe.id).includes('not-co-host'))
      expect(studio.refusedFrom(zoe.id)).toEqual(['not-co-host'])
      unchanged(before, alice, tom, xena, zoe)
      expect(alice.room.state.participants[xena.id]?.producerMuted).toBe(true)
      // Her invite no longer lets her in either.
      expect(await zoe.call(studio, { name: 'Zoe', invite: host.token })).toBe('invite-revoked')

      await producerStillRules(alice, xena, zoe)
    } finally {
      studio.access = 'open'
    }
    await stopExtras()
  })

  it('a station command captured earlier and replayed later, through a relay that never saw it, changes nothing', async () => {
    const [eve] = await callers(1) as [RoomCaller]
    await inMesh(relay, eve.id)
    // Eve, in the room, records the producer's mute of Tom as it passes.
    await studio.command({ type: 'unmute', peer: tom.id })
    const original = await studio.command({ type: 'mute', peer: tom.id })
    const captured = await waitUntil('Eve to capture the mute', () => eve.topicBytes.find((b) => sameBytes(b, original)))
    const mutedAt = studio.state.n
    await studio.command({ type: 'unmute', peer: tom.id })
    await inSync(alice, tom)

    // Once the first relay no longer offers the mute in gossip, nobody who joins can be handed it but by the replayer.
    await waitUntil('the first relay to stop offering the mute in gossip', () => !offersInGossip(relay.node, tom.topic, captured))
    // A second relay, fresh: its seen-cache does not hold the mute. A late caller joins through it, and the replayer publishes there.
    const second = await startRelay({ bootstrap: [tcpAddr(relay)], limits: { reservationsPerHost: 64 } })
    extras.push(second)
    const [late, replayer] = await callers(2, second) as [RoomCaller, RoomCaller]
    expect(await late.call(studio, { name: 'Lena' })).toBe('welcome')
    await inMesh(second, late.id)
    await canPublish([replayer], second)
    await inSync(alice, tom, late)
    const before = replicatedState(studio.state)
    const heardBefore = late.heard.filter((e) => e.n === mutedAt).length
    expect(heardBefore).toBe(0)

    await replayer.publish(captured)
    // The second relay forwards it (it is the station's, and signed); the late caller verifies it, and its reducer ignores it.
    await waitUntil('the replayed mute at the late caller', () => late.heard.some((e) => e.n === mutedAt && e.from === studio.id))
    // And Alice carries it in on her own stream: not hers, so refused.
    const refusedBefore = studio.refusedFrom(alice.id).length
    await alice.send(captured)
    await waitUntil('the studio to refuse it', () => studio.refusedFrom(alice.id).length > refusedBefore)
    expect(studio.refusedFrom(alice.id).at(-1)).toBe('unverified')
    unchanged(before, alice, tom, late)
    expect(late.room.state.participants[tom.id]?.producerMuted).toBe(false)

    await producerStillRules(alice, late)
    await stopExtras()
  })
})

/** Waits until `relay`'s gossipsub has each of `peers` in its mesh of the room topic (the first peer's room). */
async function inMesh (relay: Relay, ...peers: string[]): Promise<void> {
  const router = gossipRouterOf(relay.node)
  const topics = (): string[] => relay.node.services.pubsub.getTopics().filter((t) => t.startsWith('/openstudio/room/'))
  for (const peer of peers) {
    await waitUntil(`${peer} in ${relay.peerId}'s room mesh`, () => topics().some((t) => router.getMeshPeers(t).includes(peer)))
  }
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i])
}
