/**
 * Program ingest through real parts: a relay on loopback feeding a real
 * icecast2, a station node pushing Ogg Opus pages on `/openstudio/program/1`
 * at the pace of the audio, and ffmpeg listeners whose decoded audio is
 * checked by Goertzel. The signal steps its frequency every 500 ms, so the
 * steps a listener hears tell which moments of the show reached it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openClient, ProgramSender, startIcecast, type LocalIcecast, type OpenStudioNode, type ProgramStatusReport } from '@openstudio/node'
import { encodeProgramUp, generateStationKey, isOpusHeaderPage, PROTOCOL, type ListenerReport, type OggPage, type StationKey } from '@openstudio/protocol'
import type { Relay } from '@openstudio/relay'
import { programStartOf, removeDir, roomListener, startRelay, tcpAddr, tempDir } from '../src/network.ts'
import { freePort } from '../src/ports.ts'
import { distinctSteps, encodeStepSignal, headersAndAudio, heardSteps, Listener, pacePages, readMount } from '../src/program-audio.ts'
import { waitUntil } from '../src/wait.ts'

const MOUNT = '/live.ogg'
const SIGNAL = { steps: 60, stepMs: 500 }

/** Pages missing between consecutive sequence numbers. */
function sequenceGaps (pages: OggPage[]): number {
  return pages.slice(1).reduce((n, p, i) => n + (p.sequence - pages[i]!.sequence - 1), 0)
}

describe('program ingest: studio → relay → Icecast', () => {
  let dir: string
  let icecastDir: string
  let icecast: LocalIcecast
  let icecastPort: number
  let relay: Relay
  let station: StationKey
  let headers: OggPage[]
  let audio: OggPage[]
  const nodes: OpenStudioNode[] = []
  const listeners: Listener[] = []

  // A listener that joins after a restart gets the burst: it must hold the whole replay (the outage, and the live show
  // until the listener connects). 64 KiB (about 6 s here) once lost the outage's first step on a loaded machine.
  const startIce = async (): Promise<LocalIcecast> => startIcecast({ dir: icecastDir, port: icecastPort, sourcePassword: 'program-test', burstBytes: 256 * 1024, mounts: [{ mount: MOUNT }] })
  const nodeOf = async (key: StationKey): Promise<OpenStudioNode> => {
    const node = await openClient({ bootstrap: [tcpAddr(relay)], stationKey: key, allowPrivate: true })
    nodes.push(node)
    return node
  }

  const listen = (): Listener => {
    const listener = new Listener(`${icecast.url}${MOUNT}`)
    listeners.push(listener)
    return listener
  }
  const mounts = async (): Promise<Array<{ listenurl: string, server_type?: string, listeners?: number }>> => {
    const source = (await (await fetch(`${icecast.url}/status-json.xsl`)).json() as { icestats: { source?: unknown } }).icestats.source
    return (source === undefined ? [] : Array.isArray(source) ? source : [source]) as Array<{ listenurl: string }>
  }
  const health = async (): Promise<{ status: string, program?: { icecast: string, listeners?: number } }> => {
    const { host, port } = relay.httpAddress ?? { host: '', port: 0 }
    return (await fetch(`http://${host}:${port}/health`)).json() as Promise<{ status: string }>
  }
  /** Streams the signal from its first step until aborted, as a studio would. */
  const stream = (sender: ProgramSender, signal: AbortSignal): { sentSteps: () => number, done: Promise<void> } => {
    for (const page of headers) sender.send(page.bytes)
    let sent = 0
    const done = pacePages(audio, (page, i) => { sender.send(page.bytes); sent = i }, signal)
    // 10 ms pages: 50 per step of 500 ms.
    return { sentSteps: () => Math.floor(sent / (SIGNAL.stepMs / 10)), done }
  }

  beforeAll(async () => {
    dir = await tempDir('openstudio-program-')
    // Icecast drops to its own user when started as root: its directory is a top-level one it can enter.
    icecastDir = await tempDir('openstudio-program-icecast-')
    icecastPort = await freePort()
    icecast = await startIce().catch(async (err: Error) => {
      // Another test may take the free port before Icecast binds it (Icecast then exits at once): once more, on another.
      process.stderr.write(`program test: ${err.message}; trying another port\n`)
      icecastPort = await freePort()
      return startIce()
    })
    station = generateStationKey()
    relay = await startRelay({
      http: { host: '127.0.0.1', port: 0 },
      program: { stations: [station.id], icecastUrl: icecast.url, icecastPassword: 'program-test', mount: MOUNT, listenersIntervalMs: 500, abandonMs: 5_000 }
    })
    ;({ headers, audio } = headersAndAudio(await encodeStepSignal(`${dir}/steps.ogg`, SIGNAL)))
  }, 60_000)

  afterAll(async () => {
    await Promise.all(listeners.map(async (l) => l.stop()))
    await Promise.all(nodes.map(async (n) => n.stop()))
    await relay?.stop()
    await icecast?.stop()
    await removeDir(dir)
    await removeDir(icecastDir)
  })

  it('a listener hears the station\'s program, Icecast lists the mount as audio/ogg, the studio sees the listener, and the relay signs the count into the room', async () => {
    // Someone in the station's room hears the relay's signed listener reports.
    const heard = await roomListener(relay, station.id, nodes)
    const reports = (): ListenerReport[] => heard.flatMap((a) => a.type === 'listeners' ? [a.report] : [])
    const node = await nodeOf(station)
    const sender = await ProgramSender.open(node, relay.node.peerId, programStartOf(station))
    expect(sender.mount).toBe(MOUNT)
    const statuses: ProgramStatusReport[] = []
    sender.addEventListener('program:status', (e) => { statuses.push(e.detail) })
    const stop = new AbortController()
    const show = stream(sender, stop.signal)

    await waitUntil('Icecast to list the mount', async () => (await mounts()).some((m) => m.listenurl.endsWith(MOUNT)))
    const mount = (await mounts()).find((m) => m.listenurl.endsWith(MOUNT))
    expect(mount?.server_type).toBe('audio/ogg')
    const listener = listen()
    const raw = readMount(`${icecast.url}${MOUNT}`, 3_000)
    await waitUntil('3 s of decoded audio at the listener', () => listener.seconds >= 3, 30_000)
    const steps = distinctSteps(heardSteps(listener.samples(), SIGNAL))
    expect(steps.length).toBeGreaterThanOrEqual(4)
    // Consecutive steps, in order: the show as it was sent.
    for (let i = 1; i < steps.length; i++) expect(steps[i]).toBe((steps[i - 1] as number) + 1)

    // Lean pages: the relay gathered the studio's 10 ms pages into pages of 200 ms (PROGRAM_POLICY_DEFAULTS.oggPageMs),
    // so a listener downloads at most 5 % more than the Opus packets themselves (10 ms pages cost about 23 %).
    const pages = (await raw).filter((p) => !isOpusHeaderPage(p))
    const spans = pages.slice(1).map((p, i) => Number(p.granule - pages[i]!.granule) / 48)
    expect(spans.length).toBeGreaterThanOrEqual(10)
    expect(spans.every((ms) => ms >= 200 && ms < 220)).toBe(true)
    const bytes = pages.slice(1).reduce((n, p) => n + p.bytes.length, 0)
    const opus = pages.slice(1).reduce((n, p) => n + p.body.length, 0)
    expect(bytes / opus).toBeLessThanOrEqual(1.05)
    expect(sequenceGaps(pages)).toBe(0)

    // The raw reader above was a listener too, for 3 s: Icecast and the relay's count let go of it a moment later, so
    // the figure the studio sees last (not any it saw once) and the relay's health must both come down to the one left.
    await waitUntil('the studio to see one listener', () => statuses.at(-1)?.icecast === 'connected' && statuses.at(-1)?.listeners === 1, 15_000)
    await waitUntil('the relay\'s health to count one listener', async () => {
      const { program } = await health()
      return program?.icecast === 'connected' && program.listeners === 1
    }, 15_000)
    await waitUntil('the relay\'s signed report of one listener in the room', () => reports().some((r) => r.listeners === 1 && r.relay === relay.peerId && r.station === station.id))

    stop.abort()
    await show.done
    await sender.end()
    await waitUntil('the mount to end with the show', async () => !(await mounts()).some((m) => m.listenurl.endsWith(MOUNT)))
    await listener.stop()
  }, 60_000)

  it('loses no audio when Icecast is killed and restarted 3 s later: the studio sees reconnecting, then connected, and a listener after the restart hears the outage', async () => {
    const node = await nodeOf(station)
    const sender = await ProgramSender.open(node, relay.node.peerId, programStartOf(station))
    const states: string[] = []
    sender.addEventListener('program:status', (e) => { if (states[states.length - 1] !== e.detail.icecast) states.push(e.detail.icecast) })
    const stop = new AbortController()
    const show = stream(sender, stop.signal)
    try {
      await waitUntil('the program to reach Icecast', () => states.includes('connected'))
      await waitUntil('four steps of the show', () => show.sentSteps() >= 4)

      icecast.process.kill('SIGKILL')
      await icecast.stop()
      const killedAt = show.sentSteps()
      await waitUntil('the studio to see the relay reconnecting', () => states.includes('reconnecting'))
      // Icecast is away for 3 s of the show.
      await waitUntil('3 s of show during the outage', () => show.sentSteps() >= killedAt + 6)
      const restartedAt = show.sentSteps()
      icecast = await startIce()
      await waitUntil('the studio to see the relay connected again', () => states.lastIndexOf('connected') > states.indexOf('reconnecting'), 20_000)

      const listener = listen()
      await waitUntil('6 s of audio at the new listener', () => listener.seconds >= 6, 30_000)
      const steps = distinctSteps(heardSteps(listener.samples(), SIGNAL))
      // Everything sent while Icecast was down reached the listener, in order, without a gap.
      for (let step = killedAt + 1; step < restartedAt; step++) expect(steps).toContain(step)
      for (let i = 1; i < steps.length; i++) expect(steps[i]).toBe((steps[i - 1] as number) + 1)
      expect((await health()).status).toBe('ok')
      await listener.stop()
    } finally {
      // The show ends whatever happened, so that the next test finds the mount free.
      stop.abort()
      await show.done
      await sender.end()
    }
  }, 90_000)

  it('refuses a peer that is not the station, and a station whose manifest is signed by another key; nothing reaches Icecast', async () => {
    await waitUntil('the earlier show to leave the mount', async () => !(await mounts()).some((m) => m.listenurl.endsWith(MOUNT)))
    const intruder = generateStationKey()
    const node = await nodeOf(intruder)
    await expect(ProgramSender.open(node, relay.node.peerId, programStartOf(intruder))).rejects.toMatchObject({ name: 'ProgramRefusedError', reason: 'not-station' })
    const own = await nodeOf(station)
    const forged = { ...programStartOf(intruder) }
    await expect(ProgramSender.open(own, relay.node.peerId, forged)).rejects.toMatchObject({ name: 'ProgramRefusedError', reason: 'bad-manifest' })
    expect((await mounts()).some((m) => m.listenurl.endsWith(MOUNT))).toBe(false)
    const { host, port } = relay.httpAddress ?? { host: '', port: 0 }
    const metrics = await (await fetch(`http://${host}:${port}/metrics`)).text()
    expect(metrics).toMatch(/openstudio_program_streams_total\{result="not-station"\} [1-9]/)
    expect(metrics).toMatch(/openstudio_program_streams_total\{result="bad-manifest"\} [1-9]/)
  }, 30_000)

  it('a second stream from the station replaces the first', async () => {
    const node = await nodeOf(station)
    const first = await ProgramSender.open(node, relay.node.peerId, programStartOf(station))
    const closed = new Promise<{ refused?: string }>((resolve) => first.addEventListener('program:close', (e) => { resolve(e.detail) }, { once: true }))
    const second = await ProgramSender.open(node, relay.node.peerId, programStartOf(station))
    expect(await closed).toEqual({ refused: 'replaced' })
    expect(second.open).toBe(true)
    await second.end()
  }, 30_000)

  it('garbage, an oversized frame, a stalled sender and pages that are not Ogg leave the relay serving', async () => {
    const node = await nodeOf(station)
    const relayId = relay.node.peerId
    // Bytes that are not CBOR, in a well-formed frame: refused as malformed.
    const garbage = await node.dialProtocol(relayId, PROTOCOL.program)
    garbage.send(Uint8Array.of(5, 0xff, 0x00, 0x13, 0x37, 0x42))
    await waitUntil('the relay to end the garbage stream', () => garbage.status !== 'open' || garbage.readStatus !== 'readable')

    // A declared length of 1 MiB: cut off without reading it.
    const oversized = await node.dialProtocol(relayId, PROTOCOL.program)
    oversized.send(Uint8Array.of(0x80, 0x80, 0x40, ...new Uint8Array(1024)))
    await waitUntil('the relay to end the oversized stream', () => oversized.status !== 'open' || oversized.readStatus !== 'readable')

    // A stream that never says anything: cut off after the start timeout.
    const stalled = await node.dialProtocol(relayId, PROTOCOL.program)
    await waitUntil('the relay to cut off the silent stream', () => stalled.status !== 'open' || stalled.readStatus !== 'readable', 15_000)

    // A start, then a data message that is not an Ogg page: the stream is cut off as malformed.
    const sender = await ProgramSender.open(node, relayId, programStartOf(station))
    const closed = new Promise<{ refused?: string, error?: Error }>((resolve) => sender.addEventListener('program:close', (e) => { resolve(e.detail) }, { once: true }))
    sender.send(encodeProgramUp({ type: 'end' }))
    expect(await closed).toMatchObject({ refused: 'malformed' })

    // Still healthy, and a good stream still works.
    expect((await health()).status).toBe('ok')
    const good = await ProgramSender.open(node, relayId, programStartOf(station))
    expect(good.open).toBe(true)
    await good.end()
  }, 60_000)
})
