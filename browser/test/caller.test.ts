import { afterEach, describe, expect, it } from 'vitest'
import { generateStationKey, TOPIC } from '@openstudio/protocol'
import { CallerSession, type CallPhase, type CallStep, type TurnCredentials } from '../src/services/call/caller.ts'
import { CALL_DEFAULTS } from '../src/services/call/errors.ts'
import { fakeCallerNetwork, FakeStudio, ManualPauses, manifestOf } from './fakes/caller-parts.ts'
import { FakePeerConnection } from './fakes/peer-connection.ts'
import { fakeNode, Gate } from './fakes/studio-parts.ts'
import { settle, until } from './fakes/wait.ts'

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0)
const ICE: RTCIceServer[] = [{ urls: 'turn:turn.example:3478', username: 'u', credential: 'c' }]
const station = generateStationKey()
const me = generateStationKey()
const other = generateStationKey()

const sessions: CallerSession[] = []
afterEach(async () => {
  await Promise.all(sessions.splice(0).map(async (s) => s.leave()))
})

/** A caller on in-memory parts, dialling a fake studio. */
async function rig () {
  const studio = new FakeStudio(station)
  await studio.open()
  const network = fakeCallerNetwork(me, studio, manifestOf(station, T0))
  const pauses = new ManualPauses()
  const peers: FakePeerConnection[] = []
  const turn: TurnCredentials[] = []
  const microphone = { kind: 'audio', enabled: true } as MediaStreamTrack
  const returns: { stopped: number } = { stopped: 0 }
  const session = new CallerSession({
    network,
    turn: async (_manifest, credentials) => {
      turn.push(credentials)
      return ICE
    },
    createPeer: (init) => {
      const pc = new FakePeerConnection(init)
      peers.push(pc)
      return pc as unknown as RTCPeerConnection
    },
    receiveAudio: () => ({ source: fakeNode('return') as unknown as MediaStreamAudioSourceNode, stop: () => { returns.stopped++ } }),
    pause: pauses.pause,
    now: () => T0,
    random: () => 0.5
  }, { stationId: station.id, name: 'Ada', microphone })
  sessions.push(session)
  const phases: CallPhase[] = []
  const steps: Array<CallStep | undefined> = []
  session.addEventListener('status:change', (e) => {
    if (phases.at(-1) !== e.detail.phase) phases.push(e.detail.phase)
    if (steps.at(-1) !== e.detail.step) steps.push(e.detail.step)
  })
  return {
    studio, network, pauses, peers, turn, microphone, returns, session, phases, steps,
    /** The caller's one peer connection so far. */
    get pc (): FakePeerConnection {
      const pc = peers.at(-1)
      if (pc === undefined) throw new Error('no peer connection yet')
      return pc
    },
    /** Nothing of the call runs: no pause waits, no stream is open, the room topic is left. */
    idle: (): boolean => pauses.waiting.length === 0 && network.ends.every((end) => !end.open) &&
      network.bus.listeners(TOPIC.room(station.id)) === 0 && peers.every((pc) => pc.closed)
  }
}

type Rig = Awaited<ReturnType<typeof rig>>

/** Dialled, negotiated, admitted, and the audio flows. */
async function onAir (r: Rig): Promise<void> {
  await r.session.start()
  await until('the answer to the caller\'s offer', () => r.pc.remoteDescription?.type === 'answer')
  await r.studio.command({ type: 'admit', peer: me.id })
  await until('the caller on air', () => r.session.status.phase === 'on-air')
  r.pc.move('connected')
}

describe('CallerSession', () => {
  it('dials the studio, says hello, waits in the green room, and goes on air when the producer admits it', async () => {
    const r = await rig()
    await Promise.all([r.session.start(), r.session.start()])
    expect(r.network.dials).toBe(1)
    expect(r.studio.hellos).toEqual([{ type: 'hello', name: 'Ada', resume: false }])
    // The welcome's pass opens TURN, and the peer connection uses what it gave.
    expect(r.turn).toEqual([{ pass: 'call-pass' }])
    expect(r.peers).toHaveLength(1)
    expect(r.pc.config.iceServers).toEqual(ICE)
    expect(r.pc.tracks).toEqual([r.microphone])

    await until('the caller in the green room', () => r.session.status.phase === 'green-room')
    await until('the studio\'s answer to the caller\'s offer', () => r.pc.remoteDescription?.type === 'answer')
    expect(r.studio.negotiation[0]).toMatchObject({ type: 'description', description: { type: 'offer' } })

    await r.studio.command({ type: 'admit', peer: me.id })
    await until('the caller on air', () => r.session.status.phase === 'on-air')
    expect(r.phases).toEqual(['connecting', 'green-room', 'on-air'])
    // What the call page shows while it dials, in order, and nothing once the studio welcomed it.
    expect(r.steps).toEqual(['network', 'resolving', 'reaching', 'greeting', undefined])

    const heard: AudioNode[] = []
    r.session.addEventListener('return:start', (e) => { heard.push(e.detail) })
    r.pc.receive({ kind: 'audio' } as MediaStreamTrack)
    expect(heard).toHaveLength(1)

    await r.studio.command({ type: 'hold', peer: me.id })
    await until('the caller back in the green room', () => r.session.status.phase === 'green-room')
  })

  it('names its media path when ICE connects, and names it again when ICE moves to a better pair', async () => {
    const r = await rig()
    await r.session.start()
    await until('the answer to the caller\'s offer', () => r.pc.remoteDescription?.type === 'answer')
    // ICE connects first through this caller's TURN server, then nominates the direct pair.
    r.pc.selectPair('relay', 'srflx')
    r.pc.move('connected')
    await until('the path TURN over UDP', () => r.session.status.path === 'turn' && r.session.status.turnTransport === 'udp')
    r.pc.selectPair('srflx', 'srflx')
    await until('the path direct', () => r.session.status.path === 'direct' && r.session.status.turnTransport === undefined)
  })

  it('is told when the producer mutes it, sends its own mute switch, and ends when the producer kicks it', async () => {
    const r = await rig()
    await onAir(r)

    await r.studio.command({ type: 'mute', peer: me.id })
    await until('the caller to be told it is muted', () => r.session.status.producerMuted)
    await r.studio.command({ type: 'unmute', peer: me.id })
    await until('the caller to be told it is unmuted', () => !r.session.status.producerMuted)

    r.session.setSelfMuted(true)
    expect(r.microphone.enabled).toBe(false)
    expect(r.session.status.selfMuted).toBe(true)
    const selfMute = await until('the studio to get the self-mute request', () => r.studio.requests.find((e) => e.message.type === 'self-mute'))
    expect(selfMute).toMatchObject({ from: me.id, message: { type: 'self-mute', muted: true } })

    // A producer control goes to the studio signed with the caller's own key; the studio judges it.
    await r.session.control({ type: 'mute', peer: other.id })
    expect(r.studio.requests.at(-1)).toMatchObject({ from: me.id, message: { type: 'mute', peer: other.id } })

    await r.studio.command({ type: 'kick', peer: me.id })
    await until('the call to end', () => r.session.status.phase === 'ended')
    expect(r.session.status.error).toMatch(/removed you/)
    expect(r.idle()).toBe(true)
    expect(r.returns.stopped).toBe(0)
  })

  it('ends with the studio\'s refusal when the producer refuses it mid-call', async () => {
    const r = await rig()
    await onAir(r)
    await r.studio.current?.send({ type: 'refused', reason: 'kicked' })
    await until('the call to end', () => r.session.status.phase === 'ended')
    expect(r.session.status.error).toMatch(/removed you/)
    expect(r.idle()).toBe(true)
  })

  it('loses its signalling stream while the audio flows, and comes back on a new one to the same stage', async () => {
    const r = await rig()
    await onAir(r)
    const first = r.studio.current

    first?.drop()
    // Its audio flows, so it redials after a random share of the spread, and stays on air meanwhile.
    const waits = await until('the redial wait', () => r.pauses.waiting.length > 0 && r.pauses.waiting.map((w) => w.ms))
    expect(waits).toEqual([CALL_DEFAULTS.signallingRedialSpreadMs / 2])
    expect(r.session.status.phase).toBe('on-air')
    r.pauses.elapse()

    await until('a second hello', () => r.studio.hellos.length === 2)
    expect(r.studio.hellos[1]).toMatchObject({ resume: true })
    await until('the new stream to be welcomed', () => r.studio.current !== first && r.studio.current)
    expect(r.session.status.phase).toBe('on-air')
    expect(r.peers).toHaveLength(1)
    expect(r.turn).toHaveLength(1)
    expect(r.phases).toEqual(['connecting', 'green-room', 'on-air'])

    // Negotiation now runs on the new stream, and so do the producer's commands.
    r.pc.gather({ candidate: 'candidate:1 1 udp 2122260223 192.0.2.1 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 })
    await until('the candidate on the new stream', () => r.studio.negotiation.some((m) => m.type === 'candidate'))
    await r.studio.command({ type: 'mute', peer: me.id })
    await until('the mute on the new stream', () => r.session.status.producerMuted)
  })

  it('redials at once when the audio is lost and ICE does not mend it, and the room puts it back on air', async () => {
    const r = await rig()
    await onAir(r)

    r.pc.move('failed')
    expect(r.pc.iceRestarts).toBe(1)
    expect(r.pauses.waiting.map((w) => w.ms)).toEqual([CALL_DEFAULTS.iceRestartGraceMs])
    r.pauses.elapse()
    await until('the caller to say it is reconnecting', () => r.session.status.phase === 'reconnecting')
    // The audio stopped: no wait before the redial.
    await until('the redial wait', () => r.pauses.waiting.length > 0)
    expect(r.pauses.elapse()).toEqual([0])

    await until('a new peer connection', () => r.peers.length === 2)
    expect(r.studio.hellos[1]).toMatchObject({ resume: false })
    expect(r.peers[0]?.closed).toBe(true)
    await until('the answer on the new connection', () => r.pc.remoteDescription?.type === 'answer')
    expect(r.session.status.phase).toBe('reconnecting')
    r.pc.move('connected')
    await until('the caller back on air', () => r.session.status.phase === 'on-air')
  })

  it('a leave while it dials leaves nothing running', async () => {
    const r = await rig()
    r.network.openGate = new Gate()
    const starting = r.session.start()
    await until('the dial', () => r.network.dials === 1)
    await r.session.leave()
    expect(r.session.status.phase).toBe('ended')
    // The stream opens after all: the caller closes it at once.
    r.network.openGate.open()
    await starting
    await settle()
    expect(r.network.ends).toHaveLength(1)
    expect(r.studio.hellos).toHaveLength(0)
    expect(r.peers).toHaveLength(0)
    expect(r.idle()).toBe(true)
    expect(r.phases).toEqual(['connecting', 'ended'])
  })

  it('a leave during the backoff between failed dials leaves nothing running', async () => {
    const r = await rig()
    r.network.failDials = 1
    const starting = r.session.start()
    const waits = await until('the backoff', () => r.pauses.waiting.length > 0 && r.pauses.waiting.map((w) => w.ms))
    expect(waits).toEqual([CALL_DEFAULTS.redialFirstMs])
    await r.session.leave()
    await starting
    expect(r.network.dials).toBe(1)
    expect(r.idle()).toBe(true)
    expect(r.session.status.phase).toBe('ended')
  })

  it('a start abandoned through its signal rejects with the signal\'s reason, and nothing runs', async () => {
    const r = await rig()
    r.network.failDials = 1
    const abort = new AbortController()
    const starting = r.session.start({ signal: abort.signal })
    await until('the backoff', () => r.pauses.waiting.length > 0)
    abort.abort(new DOMException('the caller closed the page', 'AbortError'))
    await expect(starting).rejects.toMatchObject({ name: 'AbortError' })
    expect(r.idle()).toBe(true)
    expect(r.session.status.phase).toBe('ended')
  })

  it('fails with the studio\'s refusal as a typed error, without redialling', async () => {
    const r = await rig()
    r.studio.answer = () => ({ type: 'refused', reason: 'invite-required' })
    await expect(r.session.start()).rejects.toMatchObject({ name: 'CallRefusedError', reason: 'invite-required' })
    expect(r.session.status).toMatchObject({ phase: 'failed', error: expect.stringMatching(/invitation only/) })
    expect(r.network.dials).toBe(1)
    expect(r.peers).toHaveLength(0)
    expect(r.idle()).toBe(true)
  })
})
