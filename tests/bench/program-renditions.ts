/**
 * The program benchmark's renditions: the MP3 mount and HLS the relay makes
 * with ffmpeg, beside a bare ffmpeg that makes the same rendition from PCM in
 * the same run (an MP3 push to Icecast; HLS written to a directory served by
 * the same HTTP route). Per rendition: glass-to-glass latency (a click made
 * in the program, heard at an ffmpeg listener), listener bytes per second
 * against the codec bitrate, and the relay's CPU for it (its ffmpeg).
 */
import { mkdir } from 'node:fs/promises'
import { createServer, type Server } from 'node:http'
import { setTimeout as measureFor } from 'node:timers/promises'
import { HLS_DEFAULTS, hlsOutput, MP3_DEFAULTS, mp3Output, type LocalIcecast } from '@openstudio/node'
import type { Relay } from '@openstudio/relay'
import { hlsRouter } from '../../relay/src/hls-http.ts'
import { addProbes } from '../src/audio-probes.ts'
import { freePort } from '../src/ports.ts'
import { waitUntil } from '../src/wait.ts'
import { processCpuSeconds } from './machine.ts'
import { round } from './measure.ts'
import { bareLatency, studioLatency, type ClickPlan, type PathLatency } from './program-latency.ts'
import { onAir } from './program-on-air.ts'

export const RENDITION_MOUNTS = { studioMp3: '/live.mp3', bareMp3: '/bare.mp3' }
const MP3_CLICKS: ClickPlan = { clicks: 20, timeoutMs: 3_000 }
/** HLS plays seconds behind live: fewer clicks, a longer wait for each. */
const HLS_CLICKS: ClickPlan = { clicks: 8, timeoutMs: 15_000 }
/** How long bytes and CPU are counted. */
const WINDOW_MS = 10_000

export async function renditionFigures (icecast: LocalIcecast, dir: string, progress: (what: string) => void): Promise<Record<string, unknown>> {
  progress('renditions: bare ffmpeg MP3 → Icecast')
  const bareMp3 = await bareLatency(icecast, RENDITION_MOUNTS.bareMp3, MP3_DEFAULTS.bitrate, {
    plan: MP3_CLICKS,
    output: (target) => [...mp3Output(MP3_DEFAULTS.bitrate).slice(0, -3), '-content_type', 'audio/mpeg', '-f', 'mp3', target]
  })
  progress('renditions: bare ffmpeg HLS')
  await mkdir(`${dir}/bare-hls`, { recursive: true })
  const bareHls = await withHlsServer(`${dir}/bare-hls`, async (url) => bareLatency(icecast, RENDITION_MOUNTS.bareMp3, HLS_DEFAULTS.bitrate, {
    plan: HLS_CLICKS,
    listenUrl: `${url}/hls/${HLS_DEFAULTS.name}.m3u8`,
    output: () => hlsOutput(`${dir}/bare-hls`, HLS_DEFAULTS)
  }))
  progress('renditions: ours, studio → relay → ffmpeg → MP3 mount and HLS')
  const httpPort = await freePort()
  const relayUrl = `http://127.0.0.1:${httpPort}`
  const ours = await onAir({
    icecastUrl: icecast.url,
    mount: '/live.ogg',
    mp3: { mount: RENDITION_MOUNTS.studioMp3, bitrate: MP3_DEFAULTS.bitrate },
    hls: { dir: `${dir}/hls`, publicUrl: relayUrl }
  }, 0, async (page, fixture) => {
    const mp3Url = `${icecast.url}${RENDITION_MOUNTS.studioMp3}`
    const hlsUrl = `${relayUrl}/hls/${HLS_DEFAULTS.name}.m3u8`
    const mp3 = await studioLatency(mp3Url, page, MP3_CLICKS)
    const hls = await studioLatency(hlsUrl, page, HLS_CLICKS)
    const relay = fixture.relays[0] as Relay
    const [cpu, mp3Kbps, hlsBytes] = await Promise.all([renditionCpu(relay), streamKbps(mp3Url), hlsKbps(hlsUrl)])
    return { mp3, hls, cpu, mp3Kbps, hlsBytes }
  }, { prepare: addProbes, httpPort })
  return {
    what: `per rendition: a click in the program heard at an ffmpeg listener (ms), as in latency; listener kb/s against the codec bitrate (silence with clicks: MP3 is CBR, AAC near it); the relay's ffmpeg CPU in cores over ${WINDOW_MS / 1000} s. Bare: this process's PCM into one ffmpeg making the same rendition (MP3 pushed to Icecast; HLS written to a directory served by the relay's /hls/ route)`,
    mp3: {
      latency: { ours: latencyOf(ours.mp3), bare: latencyOf(bareMp3), addedMs: added(ours.mp3, bareMp3) },
      listenerKbps: ours.mp3Kbps,
      ratioToBitrate: round(ours.mp3Kbps / MP3_DEFAULTS.bitrate),
      relayFfmpegCores: ours.cpu.mp3
    },
    hls: {
      latency: { ours: latencyOf(ours.hls), bare: latencyOf(bareHls), addedMs: added(ours.hls, bareHls) },
      ...ours.hlsBytes,
      ratioToBitrate: round(ours.hlsBytes.segmentKbps / HLS_DEFAULTS.bitrate),
      relayFfmpegCores: ours.cpu.hls,
      segments: `${HLS_DEFAULTS.segmentSeconds} s, a playlist of ${HLS_DEFAULTS.listSize}; the listener is ffmpeg's HLS demuxer, which starts 3 segments from the live end`
    }
  }
}

function latencyOf (path: PathLatency): PathLatency['ms'] & { lost: number } {
  return { ...path.ms, lost: path.lost }
}

function added (ours: PathLatency, bare: PathLatency): { p50: number, p95: number } {
  return { p50: round(ours.ms.p50 - bare.ms.p50), p95: round(ours.ms.p95 - bare.ms.p95) }
}

/** CPU cores each rendition's ffmpeg spends over the window. */
async function renditionCpu (relay: Relay): Promise<Record<string, number>> {
  const pids = relay.program?.renditionPids ?? {}
  const before = await cpuOf(pids)
  await measureFor(WINDOW_MS)
  const after = await cpuOf(pids)
  return Object.fromEntries(Object.keys(before).map((name) => [name, round(((after[name] ?? 0) - (before[name] ?? 0)) / (WINDOW_MS / 1000))]))
}

async function cpuOf (pids: Partial<Record<string, number>>): Promise<Record<string, number>> {
  const entries = await Promise.all(Object.entries(pids).map(async ([name, pid]) => [name, pid === undefined ? 0 : await processCpuSeconds(pid)] as const))
  return Object.fromEntries(entries)
}

/** kb/s an HTTP listener of a stream downloads over the window (after the first second). */
async function streamKbps (url: string): Promise<number> {
  const reader = (await fetch(url)).body!.getReader()
  let bytes = 0
  let started: number | undefined
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      const now = performance.now()
      if (started === undefined) {
        started = now
        continue
      }
      bytes += value.length
      if (now - started >= WINDOW_MS) return round(bytes * 8 / (now - started))
    }
  } finally {
    await reader.cancel()
  }
  throw new Error(`${url} ended early`)
}

/** The listed segments' kb/s of audio, and what refreshing the playlist every target duration adds. */
async function hlsKbps (url: string): Promise<{ segmentKbps: number, playlistKbps: number, listenerKbps: number }> {
  const playlist = await waitUntil('a full HLS playlist', async () => {
    const text = await (await fetch(url)).text()
    return (text.match(/^#EXTINF:/gm) ?? []).length >= HLS_DEFAULTS.listSize ? text : undefined
  }, 30_000)
  const seconds = [...playlist.matchAll(/^#EXTINF:([\d.]+),$/gm)].reduce((n, m) => n + Number(m[1]), 0)
  const names = playlist.split('\n').filter((l) => l !== '' && !l.startsWith('#'))
  const sizes = await Promise.all(names.map(async (name) => (await (await fetch(new URL(name, url))).arrayBuffer()).byteLength))
  const segmentKbps = sizes.reduce((n, s) => n + s, 0) * 8 / seconds / 1000
  const target = Number(/^#EXT-X-TARGETDURATION:(\d+)$/m.exec(playlist)?.[1] ?? HLS_DEFAULTS.segmentSeconds)
  const playlistKbps = playlist.length * 8 / target / 1000
  return { segmentKbps: round(segmentKbps), playlistKbps: round(playlistKbps), listenerKbps: round(segmentKbps + playlistKbps) }
}

/** An HTTP server of the relay's /hls/ route over `dir`, while `use` runs. */
async function withHlsServer<T> (dir: string, use: (url: string) => Promise<T>): Promise<T> {
  const route = hlsRouter(dir)
  const server: Server = createServer((req, res) => {
    const handler = route(new URL(req.url ?? '/', 'http://x').pathname)
    if (handler === undefined) res.writeHead(404).end()
    else void handler(req, res)
  })
  const port = await freePort()
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve))
  try {
    return await use(`http://127.0.0.1:${port}`)
  } finally {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
}
