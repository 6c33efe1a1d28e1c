/**
 * The program's renditions through real parts: a relay on loopback makes an
 * MP3 mount with real ffmpeg on a real icecast2, beside the Ogg mount, and
 * sets its ICY title from the station's signed now-playing statements. An
 * ffmpeg listener decodes the MP3 mount (Goertzel on the step signal), and a
 * raw ICY client reads the titles a legacy player would show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mp3Mount, openClient, ProgramSender, setIcecastTitle, startIcecast, type LocalIcecast, type OpenStudioNode } from '@openstudio/node'
import { DOMAIN, generateStationKey, signNowPlaying, type NowPlaying, type OggPage, type StationKey } from '@openstudio/protocol'
import type { Relay } from '@openstudio/relay'
import { encodeCanonical } from '../../protocol/src/cbor.ts'
import { signWithDomain } from '../../protocol/src/identity.ts'
import { programStartOf, removeDir, roomListener, startRelay, tcpAddr, tempDir } from '../src/network.ts'
import { freePort } from '../src/ports.ts'
import { IcyReader } from '../src/icy.ts'
import { distinctSteps, encodeStepSignal, headersAndAudio, heardSteps, Listener, pacePages } from '../src/program-audio.ts'
import { waitUntil } from '../src/wait.ts'
import { writeFile } from 'node:fs/promises'

const OGG = '/live.ogg'
const MP3 = '/live.mp3'
const SIGNAL = { steps: 80, stepMs: 500 }
const PASSWORD = 'renditions-test'

/** Consecutive steps, in order: the show as it was sent. */
function expectInOrder (steps: number[], atLeast: number): void {
  expect(steps.length).toBeGreaterThanOrEqual(atLeast)
  for (let i = 1; i < steps.length; i++) expect(steps[i]).toBe((steps[i - 1] as number) + 1)
}

describe('renditions: an MP3 mount with now playing, made by the relay with ffmpeg', () => {
  let dir: string
  let relayUrl: string
  let icecastDir: string
  let icecast: LocalIcecast
  let relay: Relay
  let station: StationKey
  let headers: OggPage[]
  let audio: OggPage[]
  const nodes: OpenStudioNode[] = []
  const stops: Array<() => unknown> = []

  const mounts = async (): Promise<Array<{ listenurl: string, server_type?: string }>> => {
    const source = (await (await fetch(`${icecast.url}/status-json.xsl`)).json() as { icestats: { source?: unknown } }).icestats.source
    return (source === undefined ? [] : Array.isArray(source) ? source : [source]) as Array<{ listenurl: string }>
  }
  const health = async (): Promise<{ program?: { renditions: Array<{ name: string, ffmpeg: string, restarts: number }>, nowPlaying?: string } }> => {
    const { host, port } = relay.httpAddress ?? { host: '', port: 0 }
    return await (await fetch(`http://${host}:${port}/health`)).json() as { program?: { renditions: Array<{ name: string, ffmpeg: string, restarts: number }> } }
  }
  /** The station's show, paced as a studio sends it, until the test ends. */
  const goLive = async (): Promise<ProgramSender> => {
    const node = await openClient({ bootstrap: [tcpAddr(relay)], stationKey: station, allowPrivate: true })
    nodes.push(node)
    const sender = await ProgramSender.open(node, relay.node.peerId, programStartOf(station))
    for (const page of headers) sender.send(page.bytes)
    const stop = new AbortController()
    const done = pacePages(audio, (page) => { sender.send(page.bytes) }, stop.signal)
    stops.push(async () => { stop.abort(); await done; await sender.end() })
    show = sender
    return sender
  }
  let show: ProgramSender | undefined
  /** The show the first test started: the others go on with it. */
  const current = (): ProgramSender => {
    if (show === undefined) throw new Error('the first test starts the show')
    return show
  }
  const titleOf = (title: string, at = Date.now()): Uint8Array => signNowPlaying({ station: station.id, title, at }, station)

  beforeAll(async () => {
    dir = await tempDir('openstudio-renditions-')
    icecastDir = await tempDir('openstudio-renditions-icecast-')
    icecast = await startIcecast({ dir: icecastDir, port: await freePort(), sourcePassword: PASSWORD, burstBytes: 0, mounts: [{ mount: OGG }, mp3Mount(MP3)] })
    station = generateStationKey()
    const httpPort = await freePort()
    relayUrl = `http://127.0.0.1:${httpPort}`
    relay = await startRelay({
      http: { host: '127.0.0.1', port: httpPort },
      program: {
        stations: [station.id], icecastUrl: icecast.url, icecastPassword: PASSWORD, mount: OGG,
        mp3: { mount: MP3, bitrate: 128 },
        hls: { dir: `${dir}/hls`, publicUrl: relayUrl }
      }
    })
    ;({ headers, audio } = headersAndAudio(await encodeStepSignal(`${dir}/steps.ogg`, SIGNAL)))
  }, 60_000)

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop()
    await Promise.all(nodes.map(async (n) => n.stop()))
    await relay?.stop()
    await icecast?.stop()
    await removeDir(dir)
    await removeDir(icecastDir)
  })

  it('serves the show on an MP3 mount, lists it to the studio, sets its ICY title from the signed now playing, and announces the title in the room', async () => {
    const announced = await roomListener(relay, station.id, nodes)
    const heard = (): NowPlaying[] => announced.flatMap((a) => a.type === 'now-playing' ? [a.nowPlaying] : [])

    const sender = await goLive()
    expect(sender.renditions).toEqual([
      { url: `${icecast.url}${MP3}`, codec: 'mp3', bitrate: 128, mount: MP3 },
      { url: `${relayUrl}/hls/live.m3u8`, codec: 'aac', bitrate: 96, mount: '/live.m3u8' }
    ])
    await waitUntil('Icecast to list the MP3 mount', async () => (await mounts()).some((m) => m.listenurl.endsWith(MP3)))
    expect((await mounts()).find((m) => m.listenurl.endsWith(MP3))?.server_type).toBe('audio/mpeg')

    const listener = new Listener(`${icecast.url}${MP3}`)
    stops.push(async () => { await listener.stop() })
    await waitUntil('3 s of decoded MP3 at the listener', () => listener.seconds >= 3, 30_000)
    expectInOrder(distinctSteps(heardSteps(listener.samples(), SIGNAL)), 4)
    expect((await health()).program?.renditions).toMatchObject([{ name: 'mp3', ffmpeg: 'running', icecast: 'connected' }, { name: 'hls', ffmpeg: 'running' }])

    const icy = new IcyReader(`${icecast.url}${MP3}`)
    stops.push(() => { icy.stop() })
    sender.nowPlaying(titleOf('Interview: Ada Lovelace'))
    await waitUntil('a legacy player to show the title', () => icy.titles.includes('Interview: Ada Lovelace'), 15_000)
    await waitUntil('the station\'s signed title in the room', () => heard().some((n) => n.title === 'Interview: Ada Lovelace'))
    expect((await health()).program?.nowPlaying).toBe('Interview: Ada Lovelace')

    // A title with line breaks, a NUL, an apostrophe and ICY syntax: one line reaches players, and no field beside it.
    sender.nowPlaying(titleOf("Line one\r\nIcy-MetaData: 0\u0000 ';StreamUrl='http://evil.example/"))
    await waitUntil('the sanitized title', () => icy.titles.length >= 2 && icy.titles.at(-1)?.startsWith('Line one') === true, 15_000)
    expect(icy.titles.at(-1)).toBe('Line one Icy-MetaData: 0 \u2019;StreamUrl=\u2019http://evil.example/')
    expect(icy.blocks.every((b) => !b.includes('StreamUrl=\'') && !/[\r\n]/.test(b))).toBe(true)
  }, 90_000)

  it('refuses a title signed by another key, one not sanitized, and an older one; the show and the title stand', async () => {
    const sender = current()
    const refused: string[] = []
    relay.program?.addEventListener('program:now-playing-refuse', (e) => { refused.push(e.detail.reason) })
    const before = (await health()).program?.nowPlaying
    expect(before).toBeDefined()

    const stranger = generateStationKey()
    const signedRaw = (title: string): Uint8Array => {
      const np = encodeCanonical({ station: station.id, title, at: Date.now() })
      return encodeCanonical({ np, sig: signWithDomain(DOMAIN.nowPlaying, np, station.secretKey) })
    }
    const attempts = [
      signNowPlaying({ station: stranger.id, title: 'Not this station', at: Date.now() }, stranger),
      // Signed by the station, but raw: a reader must never see a title that is not one line.
      signedRaw('two\nlines'),
      // Too long: more than 160 characters cannot be signed as they are.
      signedRaw('x'.repeat(161))
    ]
    for (const [i, statement] of attempts.entries()) {
      sender.nowPlaying(statement)
      await waitUntil(`refusal ${i + 1}`, () => refused.length > i)
    }
    expect(refused).toEqual(['MalformedError', 'MalformedError', 'MalformedError'])
    // A replayed older title changes nothing.
    sender.nowPlaying(titleOf('An old title', Date.now() - 60 * 60 * 1000))
    sender.nowPlaying(titleOf('Second hour'))
    await waitUntil('the newer title', async () => (await health()).program?.nowPlaying === 'Second hour')
    expect(sender.open).toBe(true)
  }, 30_000)

  it('serves HLS over the relay\'s HTTP: a rolling playlist of 1 s AAC segments with cache headers a CDN can follow, which ffmpeg plays', async () => {
    current()
    const playlistUrl = `${relayUrl}/hls/live.m3u8`
    const playlist = await waitUntil('a playlist of three segments', async () => {
      const res = await fetch(playlistUrl)
      const text = res.ok ? await res.text() : ''
      return (text.match(/^#EXTINF:/gm) ?? []).length >= 3 ? { res, text } : undefined
    }, 30_000)
    expect(playlist.res.headers.get('content-type')).toBe('application/vnd.apple.mpegurl')
    expect(playlist.res.headers.get('cache-control')).toBe('public, max-age=1')
    expect(playlist.res.headers.get('access-control-allow-origin')).toBe('*')
    // A live playlist (RFC 8216): no end, a target duration of 1 s, every segment at most that long (rounded), and named once.
    const lines = playlist.text.trim().split('\n')
    expect(lines[0]).toBe('#EXTM3U')
    expect(playlist.text).not.toContain('#EXT-X-ENDLIST')
    expect(Number(/^#EXT-X-TARGETDURATION:(\d+)$/m.exec(playlist.text)?.[1])).toBe(1)
    const durations = [...playlist.text.matchAll(/^#EXTINF:([\d.]+),$/gm)].map((m) => Number(m[1]))
    expect(durations.every((d) => d > 0 && d < 1.5)).toBe(true)
    const segments = lines.filter((l) => !l.startsWith('#'))
    expect(segments.every((s) => /^live-\d+\.ts$/.test(s))).toBe(true)
    const segment = await fetch(`${relayUrl}/hls/${segments[0] as string}`)
    expect(segment.status).toBe(200)
    expect(segment.headers.get('content-type')).toBe('video/mp2t')
    expect(segment.headers.get('cache-control')).toBe('public, max-age=86400, immutable')
    expect(new Uint8Array(await segment.arrayBuffer())[0]).toBe(0x47)

    const listener = new Listener(playlistUrl)
    stops.push(async () => { await listener.stop() })
    await waitUntil('3 s of decoded HLS', () => listener.seconds >= 3, 30_000)
    expectInOrder(distinctSteps(heardSteps(listener.samples(), SIGNAL)), 4)

    // Nothing but the rendition's own files: not ffmpeg's temporary files, not a path out, not other names.
    await writeFile(`${dir}/hls/secret.txt`, 'not for listeners')
    await writeFile(`${dir}/secret.m3u8`, '#EXTM3U')
    for (const path of ['/hls/secret.txt', '/hls/live.m3u8.tmp', '/hls/../secret.m3u8', '/hls/%2e%2e%2fsecret.m3u8', '/hls/LIVE.m3u8', '/hls/', '/hls/a/b.ts']) {
      const res = await fetch(`${relayUrl}${path}`)
      expect({ path, status: res.status }).toEqual({ path, status: 404 })
    }
  }, 60_000)

  it('starts ffmpeg again when it dies: the MP3 mount carries on and the show is heard again', async () => {
    current()
    const pid = relay.program?.renditionPids.mp3
    expect(pid).toBeDefined()
    const listener = new Listener(`${icecast.url}${MP3}`)
    stops.push(async () => { await listener.stop() })
    await waitUntil('MP3 at a new listener', () => listener.seconds >= 1, 30_000)
    process.kill(pid as number, 'SIGKILL')
    await waitUntil('a new ffmpeg', async () => (await health()).program?.renditions[0]?.restarts === 1 && relay.program?.renditionPids.mp3 !== pid, 15_000)
    // What the dead ffmpeg never encoded is lost (a step or two): past the first second after the restart, the show is whole again.
    const restarted = listener.seconds
    await waitUntil('a second of MP3 after the restart', () => listener.seconds >= restarted + 1, 30_000)
    const after = listener.seconds
    await waitUntil('3 s more of decoded MP3', () => listener.seconds >= after + 3, 30_000)
    const steps = distinctSteps(heardSteps(listener.samples().subarray(Math.round(after * 48_000)), SIGNAL))
    expectInOrder(steps, 3)
  }, 60_000)
})

describe('setIcecastTitle', () => {
  it('fails with a typed error for a wrong password', async () => {
    const dir = await tempDir('openstudio-title-')
    const icecast = await startIcecast({ dir, port: await freePort(), sourcePassword: PASSWORD })
    try {
      await expect(setIcecastTitle('x', { url: icecast.url, mount: MP3, password: 'wrong' })).rejects.toMatchObject({ name: 'IcecastMetadataError', status: 401 })
    } finally {
      await icecast.stop()
      await removeDir(dir)
    }
  }, 30_000)
})
