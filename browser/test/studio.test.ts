import { afterEach, describe, expect, it } from 'vitest'
import { memoryInviteStore, RoomChannel } from '@openstudio/network'
import { CALL_TOPIC_MAX_CHARS, CHAT_TO_ALL, decodeChat, encodeChat, generateStationKey, MAX_CHAT_BYTES, participantsOf, ROOM_LIMITS, TOPIC, type ParticipantView, type RoomRequest, type SignalMessage, type StationKey } from '@openstudio/protocol'
import { StudioService, type StudioCaller } from '../src/services/studio/studio.ts'
import { MemoryBus } from './fakes/room-bus.ts'
import { signalPair, type MemorySignalEndpoint } from './fakes/signal-pair.ts'
import { fakeCalls, fakeHostAudio, fakeSignalHandler, Gate, type FakeCall, type FakeMixer } from './fakes/studio-parts.ts'
import { settle, until } from './fakes/wait.ts'

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0)
const HOUR = 60 * 60 * 1000
const ICE: RTCIceServer[] = [{ urls: 'turn:turn.example:3478', username: 'u', credential: 'c' }]
const station = generateStationKey()
const host = station.id
const [ada, bob, cy] = [generateStationKey(), generateStationKey(), generateStationKey()] as [StationKey, StationKey, StationKey]

const running: StudioService[] = []
afterEach(async () => {
  await Promise.all(running.splice(0).map(async (studio) => studio.stop()))
})

/** A studio on in-memory parts: a room topic, host audio, a signalling handler, calls. */
function rig (init: { access?: 'open' | 'invite' } = {}) {
  const bus = new MemoryBus()
  const audio = fakeHostAudio()
  const signal = fakeSignalHandler()
  const calls = fakeCalls()
  const studio = new StudioService({
    audio: audio.open,
    signal: signal.handler,
    calls: calls.open,
    pubsub: bus.member(),
    invites: memoryInviteStore(),
    iceServers: async () => ICE,
    now: () => T0
  }, { key: station, access: () => init.access ?? 'open' })
  running.push(studio)
  return {
    bus, audio, signal, calls, studio,
    get mixer (): FakeMixer {
      if (audio.mixer === undefined) throw new Error('the host audio is not open')
      return audio.mixer
    },
    /** The studio's view of `key`. */
    caller: (key: StationKey): StudioCaller | undefined => studio.callers.find((c) => c.id === key.id)
  }
}

type Rig = ReturnType<typeof rig>

interface Caller {
  key: StationKey
  /** The caller's end of its signalling stream. */
  end: MemorySignalEndpoint
  answer: SignalMessage | undefined
  /** Everything the studio sent after the answer. */
  received: SignalMessage[]
  /** The caller's replica, fed by its own stream only (no gossip mesh yet). */
  room: RoomChannel
  me: () => ParticipantView | undefined
  /** A request signed by the caller, on its stream. */
  ask: (message: RoomRequest) => Promise<void>
}

/** A caller dials the studio and says hello. */
async function dial (r: Rig, key: StationKey, hello: { invite?: string, resume?: boolean, topic?: string } = {}): Promise<Caller> {
  const [end, studioEnd] = signalPair(key.id, station.id)
  const room = new RoomChannel({ pubsub: new MemoryBus().member() }, station.id, { id: key.id, secretKey: key.secretKey })
  r.signal.dial(studioEnd)
  await end.send({ type: 'hello', name: `Caller ${key.id.slice(-4)}`, ...hello })
  const answer = await end.read()
  const received: SignalMessage[] = []
  void (async () => {
    for await (const message of end.messages()) {
      received.push(message)
      if (message.type === 'room') room.receive(message.envelope, station.id)
    }
  })()
  return {
    key, end, answer, received, room,
    me: () => participantsOf(room.state, T0).find((p) => p.id === key.id),
    ask: async (message) => { await end.send({ type: 'room', envelope: room.request(message) }) }
  }
}

/** The call the studio opened for `key` last. */
function callOf (r: Rig, key: StationKey): FakeCall {
  const call = r.calls.opened.filter((c) => c.init.id === key.id).at(-1)
  if (call === undefined) throw new Error(`no call for ${key.id}`)
  return call
}

/** A caller in the green room, heard by the mixer. */
async function inGreenRoom (r: Rig, key: StationKey): Promise<Caller> {
  const caller = await dial(r, key)
  await until('the caller in the green room, as it sees it', () => caller.me()?.stage === 'green-room')
  callOf(r, key).hear()
  return caller
}

/** A caller on air (audio flowing, unless `flowing` is false). */
async function onAir (r: Rig, key: StationKey, flowing = true): Promise<Caller> {
  const caller = await inGreenRoom(r, key)
  callOf(r, key).connected = flowing
  await r.studio.admit(key.id)
  await until('the caller on air, as it sees it', () => caller.me()?.stage === 'on-air')
  return caller
}

describe('StudioService', () => {
  it('welcomes a caller who says hello, hands it the room on its stream, and puts it in the green room', async () => {
    const r = rig()
    await r.studio.start()
    expect(r.signal.registered).toBe(1)
    expect(r.bus.listeners(TOPIC.room(station.id))).toBe(1)
    expect(r.mixer.plan.program).toEqual([host])

    const caller = await dial(r, ada)
    expect(caller.answer?.type).toBe('welcome')
    expect(caller.answer?.type === 'welcome' && caller.answer.pass !== undefined).toBe(true)
    await until('the caller to hear from its replica that it waits in the green room', () => caller.me()?.stage === 'green-room')
    expect(r.caller(ada)).toMatchObject({ stage: 'green-room', connected: true, muted: false, producer: false })
    const call = callOf(r, ada)
    expect(call.init).toMatchObject({ id: ada.id, name: `Caller ${ada.id.slice(-4)}`, iceServers: ICE })
    expect(call.init.returnFeed).toBe(r.mixer.busOutput(ada.id))

    // Its voice joins the mixer when its track arrives: it hears the program, and the program does not hear it.
    expect(r.mixer.has(ada.id)).toBe(false)
    call.hear()
    expect(r.mixer.has(ada.id)).toBe(true)
    expect(r.mixer.plan.program).toEqual([host])
    expect(r.mixer.plan.buses[ada.id]).toEqual([host])

    // Negotiation goes to the call's media, in order.
    await caller.end.send({ type: 'description', description: { type: 'offer', sdp: 'v=0' } })
    await caller.end.send({ type: 'candidate', candidate: null })
    await until('the offer and the candidate at the call', () => call.negotiated.length === 2)
    expect(call.negotiated.map((m) => m.type)).toEqual(['description', 'candidate'])
  })

  it('admits, mutes, unmutes, holds and kicks a caller; the program and the caller follow the room', async () => {
    const r = rig()
    await r.studio.start()
    const caller = await inGreenRoom(r, ada)

    await r.studio.admit(ada.id)
    await until('the caller to hear it is on air', () => caller.me()?.stage === 'on-air')
    expect(r.mixer.plan.program).toEqual([host, ada.id].sort())
    expect(r.caller(ada)?.stage).toBe('on-air')

    await r.studio.mute(ada.id)
    await until('the caller to hear it is muted', () => caller.me()?.producerMuted === true)
    expect(r.mixer.plan.program).toEqual([host])
    expect(r.caller(ada)).toMatchObject({ muted: true, producerMuted: true })

    await r.studio.unmute(ada.id)
    await until('the caller to hear it is unmuted', () => caller.me()?.producerMuted === false)
    expect(r.mixer.plan.program).toEqual([host, ada.id].sort())

    await r.studio.hold(ada.id)
    await until('the caller to hear it is back in the green room', () => caller.me()?.stage === 'green-room')
    expect(r.mixer.plan.program).toEqual([host])

    await r.studio.kick(ada.id)
    await until('the caller to be told it was kicked', () => caller.received.some((m) => m.type === 'refused' && m.reason === 'kicked'))
    expect(caller.end.open).toBe(false)
    expect(callOf(r, ada).closed).toBe(true)
    expect(r.mixer.has(ada.id)).toBe(false)
    expect(r.caller(ada)).toMatchObject({ stage: 'kicked', connected: false })
    expect(r.mixer.plan.program).toEqual([host])

    // It stays out.
    const again = await dial(r, ada)
    expect(again.answer).toEqual({ type: 'refused', reason: 'kicked' })
  })

  it('mutes and unmutes the host itself, in the program and in every caller\'s mix-minus', async () => {
    const r = rig()
    await r.studio.start()
    const caller = await onAir(r, ada)
    expect(r.mixer.plan.buses[ada.id]).toEqual([host])

    await r.studio.mute(host)
    expect(r.studio.host).toMatchObject({ producerMuted: true, muted: true })
    expect(r.mixer.plan.program).toEqual([ada.id])
    expect(r.mixer.plan.buses[ada.id]).toEqual([])
    await until('the caller to hear the host is muted', () => participantsOf(caller.room.state, T0).find((p) => p.id === host)?.muted === true)

    await r.studio.unmute(host)
    expect(r.studio.host).toMatchObject({ producerMuted: false, muted: false })
    expect(r.mixer.plan.program).toEqual([host, ada.id].sort())
    expect(r.mixer.plan.buses[ada.id]).toEqual([host])
  })

  it('carries out a caller\'s own mute switch, and refuses a mute from a caller without a grant', async () => {
    const r = rig()
    await r.studio.start()
    const a = await onAir(r, ada)
    const b = await onAir(r, bob)

    await a.ask({ type: 'self-mute', muted: true })
    await until('the studio to hear ada muted herself', () => r.caller(ada)?.selfMuted === true)
    expect(r.mixer.plan.program).toEqual([host, bob.id].sort())
    await a.ask({ type: 'self-mute', muted: false })
    await until('the studio to hear ada unmuted herself', () => r.caller(ada)?.selfMuted === false)
    expect(r.mixer.plan.program).toEqual([host, ada.id, bob.id].sort())

    const refusals: string[] = []
    r.studio.authority.addEventListener('request:refuse', (e) => { refusals.push(e.detail.reason) })
    await b.ask({ type: 'mute', peer: ada.id })
    await until('the studio to refuse bob\'s mute', () => refusals.length > 0)
    expect(refusals).toEqual(['not-co-host'])
    expect(r.studio.authority.refusals['not-co-host']).toBe(1)
    expect(r.caller(ada)?.muted).toBe(false)
    expect(r.mixer.plan.program).toEqual([host, ada.id, bob.id].sort())
  })

  it('lets a caller with a host invite in as a co-host, straight on air, and carries out its mute of another caller', async () => {
    const r = rig()
    await r.studio.start()
    const a = await onAir(r, ada)
    const invite = r.studio.createInvite({ role: 'host', validForMs: HOUR })

    const cohost = await dial(r, cy, { invite })
    expect(cohost.answer?.type).toBe('welcome')
    await until('the co-host to hear it is on air with producer authority', () => cohost.me()?.stage === 'on-air' && cohost.me()?.producer === true)
    expect(r.caller(cy)).toMatchObject({ stage: 'on-air', producer: true })
    callOf(r, cy).hear()
    expect(r.mixer.plan.program).toEqual([host, ada.id, cy.id].sort())

    await cohost.ask({ type: 'mute', peer: ada.id })
    await until('ada to hear the co-host muted her', () => a.me()?.producerMuted === true)
    expect(r.mixer.plan.program).toEqual([host, cy.id].sort())
    expect(r.caller(ada)?.producerMuted).toBe(true)

    // Not the host, though.
    await cohost.ask({ type: 'mute', peer: host })
    await until('the studio to refuse a mute of the host', () => r.studio.authority.refusals['bad-target'] === 1)
    expect(r.studio.host?.muted).toBe(false)
  })

  it('screens a caller: its topic as one clean line, its wait in the green room, and the producer’s note', async () => {
    const r = rig()
    await r.studio.start()
    await dial(r, ada, { topic: '  The\u202e bus\nroute 12 ' + 'x'.repeat(300) })
    await until('ada in the green room', () => r.caller(ada)?.stage === 'green-room')
    const topic = r.caller(ada)?.topic ?? ''
    expect(topic.startsWith('The bus route 12 xx')).toBe(true)
    expect([...topic].length).toBe(CALL_TOPIC_MAX_CHARS)
    expect(r.caller(ada)?.waitingSince).toBe(T0)
    r.studio.setNote(ada.id, 'Knows the timetable\u0000 by heart')
    expect(r.caller(ada)?.note).toBe('Knows the timetable by heart')
    callOf(r, ada).hear()
    await r.studio.admit(ada.id)
    expect(r.caller(ada)?.waitingSince).toBeUndefined()
    expect(r.caller(ada)?.note).toBe('Knows the timetable by heart')
    // Nobody else's note.
    r.studio.setNote(bob.id, 'stranger')
    expect(r.caller(bob)).toBeUndefined()
  })

  it('talks back to one caller: out of the program and every other return, and the caller is told', async () => {
    const r = rig()
    await r.studio.start()
    const a = await onAir(r, ada)
    const b = await inGreenRoom(r, bob)
    r.studio.talkTo(bob.id)
    expect(r.mixer.plan.talkback).toEqual({ [bob.id]: [host] })
    expect(r.mixer.plan.program).not.toContain(host)
    expect(r.mixer.plan.buses[ada.id]).not.toContain(host)
    expect(r.mixer.plan.buses[bob.id]).toContain(host)
    expect(r.caller(bob)?.hearsTalkback).toBe(true)
    await until('bob to be told the producer talks to him', () => b.received.some((m) => m.type === 'talkback' && m.on))

    // To another caller: the first is told it ended.
    r.studio.talkTo(ada.id)
    expect(r.mixer.plan.talkback).toEqual({ [ada.id]: [host] })
    await until('bob to be told the talkback ended', () => b.received.some((m) => m.type === 'talkback' && !m.on))
    await until('ada to be told the producer talks to her', () => a.received.some((m) => m.type === 'talkback' && m.on))
    r.studio.talkTo(undefined)
    expect(r.mixer.plan.talkback).toEqual({})
    expect(r.mixer.plan.program).toContain(host)
    // Nobody outside a call.
    r.studio.talkTo(cy.id)
    expect(r.mixer.plan.talkback).toEqual({})
  })

  it('lets a co-host talk back to the producer, and ignores talkback from a caller without a grant', async () => {
    const r = rig()
    await r.studio.start()
    const a = await onAir(r, ada)
    const cohost = await dial(r, cy, { invite: r.studio.createInvite({ role: 'host', validForMs: HOUR }) })
    await until('the co-host on air', () => cohost.me()?.producer === true)
    callOf(r, cy).hear()

    await a.end.send({ type: 'talkback', on: true })
    await cohost.end.send({ type: 'talkback', on: true })
    await until('the co-host talking to the producer', () => r.caller(cy)?.talkingBack === true)
    expect(r.caller(ada)?.talkingBack).toBe(false)
    expect(r.mixer.plan.talkback).toEqual({ [host]: [cy.id] })
    expect(r.mixer.plan.program).not.toContain(cy.id)
    expect(r.mixer.plan.buses[ada.id]).not.toContain(cy.id)

    await cohost.end.send({ type: 'talkback', on: false })
    await until('the co-host back in the program', () => r.mixer.plan.program.includes(cy.id))
    expect(r.mixer.plan.talkback).toEqual({})
  })

  it('chats: the producer to one caller or to all, a caller to the producer; bad messages are refused and change nothing', async () => {
    const r = rig()
    await r.studio.start()
    const a = await inGreenRoom(r, ada)
    const b = await inGreenRoom(r, bob)
    const chats = (c: Caller): string[] => c.received.flatMap((m) => {
      if (m.type !== 'chat') return []
      const decoded = decodeChat(m.envelope, station.id)
      return decoded.ok ? [`${decoded.value.to === 'all' ? 'all' : decoded.value.to === c.key.id ? 'me' : 'other'}:${decoded.value.text}`] : []
    })
    await r.studio.sendChat(ada.id, "You're on in 30 s")
    await r.studio.sendChat(CHAT_TO_ALL, 'Thanks for waiting')
    await until('ada to get both', () => chats(a).length === 2)
    await until('bob to get the one for all', () => chats(b).length === 1)
    expect(chats(a)).toEqual(["me:You're on in 30 s", 'all:Thanks for waiting'])
    expect(chats(b)).toEqual(['all:Thanks for waiting'])

    let n = 0
    const say = async (c: Caller, text: string): Promise<void> => {
      await c.end.send({ type: 'chat', envelope: encodeChat(c.key, { room: station.id, to: station.id, n: ++n, at: T0, text }) })
    }
    await say(a, 'Ready!')
    await until('the reply in the studio', () => r.studio.chat.entries.some((e) => e.text === 'Ready!' && e.from === ada.id))
    const logged = r.studio.chat.entries.length
    const refused = (c: Caller): string[] => c.received.flatMap((m) => m.type === 'chat-refused' ? [m.reason] : [])

    // Oversized, forged (signed by a stranger, sent on ada's stream), replayed, then too fast.
    await a.end.send({ type: 'chat', envelope: new Uint8Array(MAX_CHAT_BYTES + 1) })
    await a.end.send({ type: 'chat', envelope: encodeChat(cy, { room: station.id, to: station.id, n: 99, at: T0, text: 'I am Ada' }) })
    await a.end.send({ type: 'chat', envelope: encodeChat(ada, { room: station.id, to: station.id, n: 1, at: T0, text: 'Ready!' }) })
    for (let i = 0; i < 6; i++) await say(a, `flood ${i}`)
    await until('five refusals', () => refused(a).length === 5)
    expect(refused(a)).toEqual(['too-large', 'forged', 'replayed', 'too-fast', 'too-fast'])
    // A burst of 5 with 'Ready!': four of the flood get in.
    expect(r.studio.chat.entries.length).toBe(logged + 4)

    // Silenced: refused, until the producer lifts it.
    r.studio.silenceChat(bob.id, true)
    expect(r.caller(bob)?.chatSilenced).toBe(true)
    await b.end.send({ type: 'chat', envelope: encodeChat(bob, { room: station.id, to: station.id, n: 1, at: T0, text: 'hello?' }) })
    await until('bob refused', () => refused(b).includes('silenced'))
    r.studio.silenceChat(bob.id, false)
    await b.end.send({ type: 'chat', envelope: encodeChat(bob, { room: station.id, to: station.id, n: 1, at: T0, text: 'hello?' }) })
    await until('bob heard', () => r.studio.chat.entries.some((e) => e.from === bob.id))
  })

  it('keeps a call whose signalling drops while its audio flows: a hello with resume comes back to the same stage', async () => {
    const r = rig()
    await r.studio.start()
    const before = await onAir(r, ada)
    const call = callOf(r, ada)

    before.end.drop()
    await settle()
    // The audio still flows: the call, its place and its voice stay.
    expect(call.closed).toBe(false)
    expect(r.caller(ada)).toMatchObject({ stage: 'on-air', connected: true })
    expect(r.mixer.plan.program).toEqual([host, ada.id].sort())

    const after = await dial(r, ada, { resume: true })
    expect(after.answer?.type).toBe('welcome')
    await until('the new stream to bring the room up to date', () => after.me()?.stage === 'on-air')
    expect(r.calls.opened).toHaveLength(1)
    expect(call.channel.remotePeer.toString()).toBe(ada.id)
    expect(call.channel.open).toBe(true)

    // The producer's next command reaches it on the new stream.
    await r.studio.mute(ada.id)
    await until('the mute on the new stream', () => after.me()?.producerMuted === true)
  })

  it('ends a call whose signalling and audio are both gone; the caller dials again and is back on air', async () => {
    const r = rig()
    await r.studio.start()
    const first = await onAir(r, ada, false)

    first.end.drop()
    await until('the studio to end the call', () => r.caller(ada)?.connected === false)
    expect(callOf(r, ada).closed).toBe(true)
    expect(r.mixer.has(ada.id)).toBe(false)
    expect(r.mixer.plan.program).toEqual([host])
    // Absent, but its place on air is kept for a redial.
    expect(r.studio.room.state.participants[ada.id]).toMatchObject({ present: false, stage: 'on-air' })

    const second = await dial(r, ada)
    await until('the caller back on air, as it sees it', () => second.me()?.stage === 'on-air')
    expect(r.calls.opened).toHaveLength(2)
    callOf(r, ada).hear()
    expect(r.mixer.plan.program).toEqual([host, ada.id].sort())
  })

  it('refuses a hello without an invite on an invite-only station', async () => {
    const r = rig({ access: 'invite' })
    await r.studio.start()
    const caller = await dial(r, ada)
    expect(caller.answer).toEqual({ type: 'refused', reason: 'invite-required' })
    expect(r.calls.opened).toHaveLength(0)
    expect(r.caller(ada)).toBeUndefined()
  })

  it('refuses a hello with "full", before any welcome, when every room record is someone in a call', async () => {
    const r = rig()
    await r.studio.start()
    // The room holds its most records: the host and callers in a call (through the authority, as hellos would).
    const held = Object.keys(r.studio.room.state.participants).length
    for (let i = held; i < ROOM_LIMITS.participantsMax; i++) await r.studio.authority.present(generateStationKey().id, `P${i}`)
    const caller = await dial(r, ada)
    expect(caller.answer).toEqual({ type: 'refused', reason: 'full' })
    expect(r.calls.opened).toHaveLength(0)
  })

  it('starts and stops once however often asked; a stop ends every call and releases everything', async () => {
    const r = rig()
    await Promise.all([r.studio.start(), r.studio.start()])
    await r.studio.start()
    expect(r.audio.opened).toBe(1)
    expect(r.signal.registered).toBe(1)
    const caller = await onAir(r, ada)

    await Promise.all([r.studio.stop(), r.studio.stop()])
    await r.studio.stop()
    expect(caller.end.open).toBe(false)
    expect(callOf(r, ada).closed).toBe(true)
    expect(r.signal.unregistered).toBe(1)
    expect(r.audio.closed).toBe(1)
    expect(r.bus.listeners(TOPIC.room(station.id))).toBe(0)
    expect(() => r.studio.levels()).toThrow(expect.objectContaining({ name: 'StudioNotRunningError' }))
    await expect(r.studio.start()).rejects.toMatchObject({ name: 'StudioStoppedError' })
    expect(() => { r.signal.dial(signalPair(bob.id, station.id)[1]) }).toThrow(/not taking calls/)
  })

  it('a start that fails says why (a denied microphone), and leaves nothing running', async () => {
    const r = rig()
    r.audio.failure = new DOMException('Permission denied', 'NotAllowedError')
    await expect(r.studio.start()).rejects.toMatchObject({ name: 'NotAllowedError' })
    expect(r.signal.registered).toBe(0)
    expect(r.bus.listeners(TOPIC.room(station.id))).toBe(0)
  })

  it('a stop while the host audio opens leaves nothing running', async () => {
    const r = rig()
    r.audio.gate = new Gate()
    const starting = r.studio.start()
    await settle()
    const stopping = r.studio.stop()
    // The audio opens after all (the microphone prompt was answered late).
    r.audio.gate.open()
    await expect(starting).rejects.toMatchObject({ name: 'StudioStoppedError' })
    await stopping
    expect(r.audio.opened).toBe(1)
    expect(r.audio.closed).toBe(1)
    expect(r.signal.registered).toBe(0)
    expect(r.bus.listeners(TOPIC.room(station.id))).toBe(0)
    await expect(r.studio.start()).rejects.toMatchObject({ name: 'StudioStoppedError' })
  })

  it('a stop while the signalling handler registers leaves nothing running', async () => {
    const r = rig()
    r.signal.gate = new Gate()
    const starting = r.studio.start()
    await until('the host in the room', () => r.studio.host?.stage === 'on-air')
    expect(r.bus.listeners(TOPIC.room(station.id))).toBe(1)
    const stopping = r.studio.stop()
    r.signal.gate.open()
    await expect(starting).rejects.toMatchObject({ name: 'StudioStoppedError' })
    await stopping
    expect(r.signal.registered).toBe(1)
    expect(r.signal.unregistered).toBe(1)
    expect(r.audio.closed).toBe(1)
    expect(r.bus.listeners(TOPIC.room(station.id))).toBe(0)
  })

  it('a start abandoned through its signal rejects with the signal\'s reason and leaves nothing running', async () => {
    const r = rig()
    r.audio.gate = new Gate()
    const abort = new AbortController()
    const starting = r.studio.start({ signal: abort.signal })
    await settle()
    abort.abort(new DOMException('the producer closed the page', 'AbortError'))
    r.audio.gate.open()
    await expect(starting).rejects.toMatchObject({ name: 'AbortError' })
    expect(r.audio.closed).toBe(r.audio.opened)
    expect(r.signal.registered).toBe(0)
    expect(r.bus.listeners(TOPIC.room(station.id))).toBe(0)
  })
})
