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
import { setTimeout as measureFor } from 'node:timers/promises'
import { startIcecast, type LocalIcecast } from '@openstudio/node'
import { addProbes } from '../src/audio-probes.ts'
import { removeDir, tempDir } from '../src/network.ts'
import { freePort } from '../src/ports.ts'
import { goLive, openStudio, startStudioFixture } from '../src/studio-fixture.ts'
import { busyCores, machineTimes } from './machine.ts'
import { round } from './measure.ts'
import { bareLatency, CLICK, studioLatency, type PathLatency } from './program-latency.ts'
import { relayFigures, type IcecastControl } from './program-relay.ts'

const PASSWORD = 'program-bench'
const MOUNTS = { studio: '/live.ogg', bare: '/bare.ogg', relay: '/relay.ogg' }
const BITRATE = 96
const TARGET_ADDED_MS = 100
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
    const ours = await studioPath(icecast)
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
        what: `program bus → Icecast listener decode, ms: a click (${CLICK.burstMs} ms ${CLICK.frequency} Hz burst) stamped with Date.now() where it is made, heard at the Date.now() its decoded PCM reached this process; Opus ${BITRATE} kb/s stereo, 10 ms frames, one Ogg page each; Icecast burst 0`,
        ours: {
          ...ours,
          path: 'studio page (Chromium): probe AudioWorklet → mixer program sum → limiter → ceiling → program tap (10 ms blocks) → WebCodecs Opus → Ogg page → libp2p /openstudio/program/1 → relay (in the bench process) → Icecast source socket → Icecast → listener'
        },
        bare: {
          ...bare,
          path: 'this process writes 32-bit float PCM at the pace of the clock (1 ms timer) into ffmpeg (WAV on stdin, 128-frame packets) → libopus → Ogg muxer (page_duration 10 ms, flush_packets) → icecast:// → Icecast → listener; ffmpeg\'s Ogg muxer writes each page when the next packet arrives (10 ms)'
        },
        addedMs: { p50: round(ours.ms.p50 - bare.ms.p50), p95: round(ours.ms.p95 - bare.ms.p95), targetMs: TARGET_ADDED_MS },
        listener: 'ffmpeg -fflags nobuffer -flags low_delay -probesize 32 -analyzeduration 0 … -flush_packets 1 -f s16le pipe:1 (the same for both): its own decode and pipe time is in both figures and cancels in addedMs',
        excludes: 'capture and playback devices (microphone, player buffers), the strips before the program sum, and network distance (loopback)'
      },
      relay
    }
  } finally {
    await icecast.stop()
    await removeDir(dir)
  }
}

/** The studio goes live through the fixture's relay; clicks in its program. */
async function studioPath (icecast: LocalIcecast): Promise<PathLatency> {
  const fixture = await startStudioFixture({
    dirPrefix: 'openstudio-bench-program-studio-',
    program: { stations: ['*'], icecastUrl: icecast.url, icecastPassword: PASSWORD, mount: MOUNTS.studio }
  })
  try {
    // The host's microphone is digital silence: only the clicks are loud.
    const page = await fixture.openPage(await fixture.launch(0))
    await addProbes(page)
    await openStudio(page, fixture.origin, { passphrase: 'benchmark passphrase', name: 'Bench On Air' })
    await goLive(page, BITRATE)
    return await studioLatency(icecast, MOUNTS.studio, page)
  } finally {
    await fixture.stop()
  }
}

function progress (what: string): void {
  process.stderr.write(`bench: program: ${Math.round(process.uptime())} s: ${what}\n`)
}
