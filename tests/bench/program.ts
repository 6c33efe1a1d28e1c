/**
 * The program benchmark ("On air"): the studio's program on its way to
 * Icecast listeners, beside a bare ffmpeg → Icecast source in the same run.
 *
 * - latency: program bus → Icecast listener decode (program-latency.ts),
 *   ours and the bare ffmpeg baseline, each alone on the machine: the
 *   baseline runs first, before any browser starts;
 * - the relay's CPU and memory per program stream, and its reconnect time
 *   after an Icecast restart (program-relay.ts), once the browser is gone.
 *
 * One Icecast serves every mount, each with burst 0, so that every listener
 * starts at the live edge instead of seconds behind it.
 */
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { setTimeout as measureFor } from 'node:timers/promises'
import { promisify } from 'node:util'
import { concatBytes, isOpusHeaderPage, NO_GRANULE, type OggPage } from '@openstudio/protocol'
import { PROGRAM_POLICY_DEFAULTS } from '@openstudio/relay'
import { startIcecast, type LocalIcecast } from '@openstudio/node'
import { addProbes } from '../src/audio-probes.ts'
import { removeDir, tempDir } from '../src/network.ts'
import { readMount, splitOggPages } from '../src/program-audio.ts'
import { freePort } from '../src/ports.ts'
import { busyCores, machineTimes } from './machine.ts'
import { round } from './measure.ts'
import { bareLatency, CLICK, studioLatency, type PathLatency } from './program-latency.ts'
import { relayFigures, type IcecastControl } from './program-relay.ts'
import { BENCH_BITRATE, BENCH_PASSWORD, onAir } from './program-on-air.ts'
import { RENDITION_MOUNTS, renditionFigures } from './program-renditions.ts'

const run = promisify(execFile)
const PASSWORD = BENCH_PASSWORD
const MOUNTS = { studio: '/live.ogg', bare: '/bare.ogg', relay: '/relay.ogg', ...RENDITION_MOUNTS }
const BITRATE = BENCH_BITRATE
const TARGET_ADDED_MS = 100
/** Lean pages may cost a listener this much latency at most (issue: "unchanged within 250 ms"). */
const TARGET_LEAN_PAGES_MS = 250
/** Audio read at a listener for the byte figures. */
const BYTES_AUDIO_MS = 10_000
const BACKGROUND_WINDOW_MS = 2_000

export async function benchProgram (): Promise<Record<string, unknown>> {
  const idle = await machineTimes()
  await measureFor(BACKGROUND_WINDOW_MS)
  const backgroundBusyCores = busyCores(idle, await machineTimes())
  const dir = await tempDir('openstudio-bench-program-')
  const port = await freePort()
  const startIce = async (): Promise<LocalIcecast> => startIcecast({
    dir, port, sourcePassword: PASSWORD, mounts: Object.values(MOUNTS).map((mount) => ({ mount, burstBytes: 0 }))
  })
  let icecast = await startIce()
  try {
    progress('baseline: bare ffmpeg → Icecast')
    const bare = await bareLatency(icecast, MOUNTS.bare, BITRATE)
    progress('ours: studio → relay → Icecast')
    const ours = await studioPath(icecast, PROGRAM_POLICY_DEFAULTS.oggPageMs)
    progress('ours with the studio\'s 10 ms pages passed on as they came')
    const ours10 = await studioPath(icecast, 0)
    progress('listener bytes: lean pages, 10 ms pages, and ffmpeg\'s Ogg muxer')
    const bytes = await listenerBytes(icecast, dir)
    progress('renditions: MP3 and HLS, ours and bare ffmpeg')
    const renditions = await renditionFigures(icecast, dir, progress)
    progress('relay cost and reconnects')
    const control: IcecastControl = {
      url: icecast.url,
      password: PASSWORD,
      kill: async () => {
        icecast.process.kill('SIGKILL')
        await icecast.stop()
      },
      start: async () => { icecast = await startIce() }
    }
    const relay = await relayFigures(control, dir)
    return {
      backgroundBusyCores,
      latency: {
        what: `program bus → Icecast listener decode, ms: a click (${CLICK.burstMs} ms ${CLICK.frequency} Hz burst) stamped with Date.now() where it is made, heard at the Date.now() its decoded PCM reached this process; Opus ${BITRATE} kb/s stereo, 10 ms frames, one Ogg page each from the studio, gathered by the relay into ${PROGRAM_POLICY_DEFAULTS.oggPageMs} ms pages (oursWithStudioPages: passed on as they came); Icecast burst 0`,
        ours: {
          ...ours,
          path: 'studio page (Chromium): probe AudioWorklet → mixer program sum → limiter → ceiling → program tap (10 ms blocks) → WebCodecs Opus → Ogg page → libp2p /openstudio/program/1 → relay (in the bench process; lean pages) → Icecast source socket → Icecast → listener'
        },
        bare: {
          ...bare,
          path: 'this process writes 32-bit float PCM at the pace of the clock (1 ms timer) into ffmpeg (WAV on stdin, 128-frame packets) → libopus → Ogg muxer (page_duration 10 ms, flush_packets) → icecast:// → Icecast → listener; ffmpeg\'s Ogg muxer writes each page when the next packet arrives (10 ms)'
        },
        addedMs: { p50: round(ours.ms.p50 - bare.ms.p50), p95: round(ours.ms.p95 - bare.ms.p95), targetMs: TARGET_ADDED_MS },
        oursWithStudioPages: {
          ...ours10,
          path: `the same, with the relay passing on the studio's 10 ms pages (--ogg-page-ms 0) instead of gathering ${PROGRAM_POLICY_DEFAULTS.oggPageMs} ms pages`
        },
        leanPagesAddMs: { p50: round(ours.ms.p50 - ours10.ms.p50), p95: round(ours.ms.p95 - ours10.ms.p95), targetMs: TARGET_LEAN_PAGES_MS },
        listener: 'ffmpeg -fflags nobuffer -flags low_delay -probesize 32 -analyzeduration 0 … -flush_packets 1 -f s16le pipe:1 (the same for both): its own decode and pipe time is in both figures and cancels in addedMs',
        excludes: 'capture and playback devices (microphone, player buffers), the strips before the program sum, and network distance (loopback)'
      },
      listenerBytes: bytes,
      renditions,
      relay
    }
  } finally {
    await icecast.stop()
    await removeDir(dir)
  }
}

/** The studio goes live through the fixture's relay; clicks in its program. */
async function studioPath (icecast: LocalIcecast, oggPageMs: number): Promise<PathLatency> {
  // The host's microphone is digital silence: only the clicks are loud.
  return onAir({ icecastUrl: icecast.url, mount: MOUNTS.studio, oggPageMs }, 0, async (page) => studioLatency(`${icecast.url}${MOUNTS.studio}`, page), { prepare: addProbes })
}

/**
 * What a listener downloads per second of audio, against the codec's
 * bitrate: the relay's lean pages, the studio's 10 ms pages passed on, and
 * the 10 ms stream remuxed by ffmpeg's Ogg muxer at its defaults. The host
 * speaks a tone, so that the VBR encoder spends about its bitrate.
 */
async function listenerBytes (icecast: LocalIcecast, dir: string): Promise<Record<string, unknown>> {
  const url = `${icecast.url}${MOUNTS.studio}`
  const read = async (oggPageMs: number): Promise<OggPage[]> => onAir({ icecastUrl: icecast.url, mount: MOUNTS.studio, oggPageMs }, 440, async () => readMount(url, BYTES_AUDIO_MS))
  const lean = await read(PROGRAM_POLICY_DEFAULTS.oggPageMs)
  const studioPages = await read(0)
  // ffmpeg's own muxer, at its defaults, on the same packets as the studio's pages.
  const input = join(dir, 'studio-pages.ogg')
  await writeFile(input, concatBytes(studioPages.map((p) => p.bytes)))
  await run('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-i', input, '-c', 'copy', '-f', 'ogg', join(dir, 'ffmpeg.ogg')])
  const ffmpeg = splitOggPages(new Uint8Array(await readFile(join(dir, 'ffmpeg.ogg'))))
  return {
    what: `an HTTP listener of the mount, ${BYTES_AUDIO_MS / 1000} s of audio read raw; kb/s per second of audio (granule positions), page headers included, HTTP not; Opus ${BITRATE} kb/s VBR, a 440 Hz tone`,
    leanPages: { ...byteFigures(lean), pages: `${PROGRAM_POLICY_DEFAULTS.oggPageMs} ms (the relay's default)` },
    studioPages: { ...byteFigures(studioPages), pages: '10 ms, one packet each (--ogg-page-ms 0)' },
    ffmpegDefaults: { ...byteFigures(ffmpeg), pages: 'the same packets through ffmpeg -c copy -f ogg at its defaults' },
    targetRatio: 1.05
  }
}

function byteFigures (pages: OggPage[]): { kbps: number, opusKbps: number, ratioToBitrate: number, ratioToOpus: number, meanPageMs: number } {
  const audio = pages.filter((p) => !isOpusHeaderPage(p) && p.granule !== NO_GRANULE)
  const counted = audio.slice(1)
  const seconds = Number(audio.at(-1)!.granule - audio[0]!.granule) / 48_000
  const bytes = counted.reduce((n, p) => n + p.bytes.length, 0)
  const opus = counted.reduce((n, p) => n + p.body.length, 0)
  return {
    kbps: round(bytes * 8 / seconds / 1000),
    opusKbps: round(opus * 8 / seconds / 1000),
    ratioToBitrate: round(bytes * 8 / seconds / 1000 / BITRATE),
    ratioToOpus: round(bytes / opus),
    meanPageMs: round(seconds * 1000 / counted.length)
  }
}

function progress (what: string): void {
  process.stderr.write(`bench: program: ${Math.round(process.uptime())} s: ${what}\n`)
}
