/**
 * The soak ("a whole show for N minutes"): the studio in Debian's Chromium
 * (its microphone a 660 Hz tone), two callers on air (440 and 880 Hz, each a
 * Chromium of its own), live through the fixture's relay to a real
 * icecast2, and one ffmpeg listener decoding the mount, for `--minutes`.
 *
 * It reports the dropouts heard (tone watches: at the listener, in the
 * studio's own program before the encoder, and in what each caller hears),
 * the listener's decoded audio against the wall clock, the memory of the
 * relay and of each page over the run (start, end, slope), and reconnects,
 * and when the dropouts happened beside what the machine did (./soak-timeline).
 * Everything is counted as it goes, so that an hour costs no more memory
 * than a minute, but for the timeline's short row every round. Progress goes to stderr once a minute.
 */
import { setTimeout as pause } from 'node:timers/promises'
import type { Page } from 'playwright-core'
import { startIcecast, type LocalIcecast } from '@openstudio/node'
import { addProbes } from '../src/audio-probes.ts'
import { removeDir, tempDir } from '../src/network.ts'
import { freePort } from '../src/ports.ts'
import { goLive, onAir, openStudio, spectrum, startStudioFixture, type StudioAnalyser, type StudioFixture } from '../src/studio-fixture.ts'
import type { ToneWatchReport } from '../src/tone-watch.ts'
import { waitUntil, within } from '../src/wait.ts'
import { busyCores, machineTimes } from './machine.ts'
import { round, Trend } from './measure.ts'
import { mergeReports, SoakListener } from './soak-listener.ts'
import { PageMemory, pageCounts, programClocks, ProgramTrends, receiveCounters, receiveReport, rewatchReturn, contextClock, type ReceiveCounters, watchCaller, watchStudio } from './soak-pages.ts'
import { MachineSeconds, marks, SoakTimeline, type RoundReading } from './soak-timeline.ts'

const DEFAULT_MINUTES = 5
const HOST_HZ = 660
const CALLER_HZ = [440, 880] as const
const BITRATE = 96
const MOUNT = '/live.ogg'
const PASSWORD = 'soak-bench'
/** A caller's new return (after a reconnect) is looked for this often. */
const SAMPLE_MS = 10_000
/** Memory and the program's clocks are read every this many samples (once a minute): every reading costs the pages a little. */
const MEMORY_EVERY = 6
/** A round of readings (or the final counts) that takes longer is given up. */
const READ_TIMEOUT_MS = 30_000
const MINUTE_MS = 60_000
/** A tone is present once it holds this share of what a tap hears. */
const PRESENT_SHARE = 0.1
const MIB = 1024 * 1024

interface Watched {
  name: string
  page: Page
  memory: PageMemory
  heap: Trend
  rss: Trend
  cpu0: number
}

/** `--minutes`: a positive number, `DEFAULT_MINUTES` when not given. */
function parseMinutes (value: string | undefined): number {
  if (value === undefined) return DEFAULT_MINUTES
  const minutes = Number(value)
  if (!Number.isFinite(minutes) || minutes <= 0) throw new Error(`--minutes takes a positive number, not ${JSON.stringify(value)}`)
  return minutes
}

export async function benchSoak (options: { minutes?: string }): Promise<Record<string, unknown>> {
  const minutes = parseMinutes(options.minutes)
  const dir = await tempDir('openstudio-bench-soak-')
  let icecast: LocalIcecast | undefined
  let fixture: StudioFixture | undefined
  let listener: SoakListener | undefined
  const machine = new MachineSeconds()
  try {
    icecast = await startIcecast({ dir, port: await freePort(), sourcePassword: PASSWORD, mounts: [{ mount: MOUNT, burstBytes: 0 }] })
    fixture = await startStudioFixture({
      dirPrefix: 'openstudio-bench-soak-studio-',
      program: { stations: ['*'], icecastUrl: icecast.url, icecastPassword: PASSWORD, mount: MOUNT }
    })
    const show = await startShow(fixture)
    progress(`the show is on air: ${minutes} min from now`)
    listener = new SoakListener(`${icecast.url}${MOUNT}`, { host: HOST_HZ, caller1: CALLER_HZ[0], caller2: CALLER_HZ[1] })
    const relay = { rss: new Trend(), heap: new Trend() }
    const program = new ProgramTrends()
    const health = `${fixture.origin}/health`
    /** Memory of the relay and of each page, and the program's clocks. */
    const readMemory = async (): Promise<void> => {
      const { memory } = await (await fetch(health)).json() as { memory: { rssBytes: number, heapUsedBytes: number } }
      relay.rss.add(memory.rssBytes / MIB)
      relay.heap.add(memory.heapUsedBytes / MIB)
      for (const w of show.watched) {
        w.heap.add(await w.memory.jsHeap() / MIB)
        w.rss.add(await w.memory.browserRss() / MIB)
      }
      program.add(await programClocks(show.host))
    }
    await readMemory()
    for (const w of show.watched) w.cpu0 = await w.memory.browserCpu()
    const received0 = await Promise.all(show.watched.map(async (w) => receiveCounters(w.page)))
    const callerNames = show.callers.map((_, i) => `caller${i + 1}`)
    const timeline = new SoakTimeline({ pages: ['studio', ...callerNames], taps: ['listener', 'program', ...callerNames] })
    const hears = listener
    timeline.add(await roundReading(show, hears), machine.take())
    const machine0 = await machineTimes()
    const started = Date.now()
    const end = started + minutes * MINUTE_MS
    const readings = { failed: 0, lastError: undefined as string | undefined }
    /** One round of readings: a new watch on a caller's new return, the timeline's row, and, every MEMORY_EVERY rounds, memory. */
    let rounds = 0
    const read = async (): Promise<void> => {
      for (const [i, page] of show.callers.entries()) await rewatchReturn(page, callerTones(i))
      timeline.add(await roundReading(show, hears), machine.take())
      if (++rounds % MEMORY_EVERY === 0) await readMemory()
    }
    let minute = 0
    while (Date.now() < end) {
      await pause(Math.min(SAMPLE_MS, end - Date.now()))
      // A page that hangs or crashes costs its readings, not the run.
      await within('a round of readings', READ_TIMEOUT_MS, read()).catch((err: Error) => {
        readings.failed++
        readings.lastError = err.message
        progress(`readings failed: ${err.message}`)
      })
      if (Date.now() - started >= (minute + 1) * MINUTE_MS) {
        minute = Math.floor((Date.now() - started) / MINUTE_MS)
        const heard = listener.watch.report()
        const { contextMinusWall, encodedMinusContext, queued } = program.latest
        progress(`minute ${minute}/${minutes}: listener: host tone missing in ${heard.tones.host?.windows ?? 0} windows, ${heard.impure.windows} impure, decoded − wall ${round(listener.driftMs ?? NaN, 0)} ms; ` +
          `studio: context − wall ${round(contextMinusWall, 0)} ms, encoded − context ${round(encodedMinusContext, 0)} ms, queued ${queued} ms, JS heap ${round(show.watched[0]?.heap.summary().end ?? NaN, 1)} MiB; ` +
          `relay (bench process) RSS ${round(relay.rss.summary().end, 0)} MiB; ${timeline.tally()}`)
      }
    }
    const machineBusyCores = busyCores(machine0, await machineTimes())
    const seconds = (Date.now() - started) / 1000
    const browserCores = Object.fromEntries(await Promise.all(show.watched.map(async (w) => [w.name, round((await w.memory.browserCpu() - w.cpu0) / seconds)])))
    const received = Object.fromEntries(await Promise.all(show.watched.map(async (w, i) => [w.name, receiveReport(received0[i] as ReceiveCounters, await within(`${w.name}'s receivers`, READ_TIMEOUT_MS, receiveCounters(w.page)))])))
    const studio = await within('the studio\'s counts', READ_TIMEOUT_MS, pageCounts(show.host))
    const callers = await Promise.all(show.callers.map(async (page, i) => {
      const { counts, tones } = await within(`caller ${i + 1}'s counts`, READ_TIMEOUT_MS, pageCounts(page))
      return { name: `caller${i + 1}`, tone: CALLER_HZ[i], hears: returnReport(tones), returnWatches: counts.segments, phasesEntered: counts.states }
    }))
    const relayHealth = await (await fetch(health)).json() as { program?: { reconnects: number, icecast: string } }
    return {
      minutes,
      layout: `studio (host tone ${HOST_HZ} Hz) and two callers (${CALLER_HZ.join(' and ')} Hz), each a Chromium of its own; relays and coturn in the bench process; icecast2 (burst 0); one low-delay ffmpeg listener decoding the mount in this process; Opus ${BITRATE} kb/s stereo`,
      machineBusyCores,
      browserCores,
      readings: { every: `${SAMPLE_MS / 1000} s, memory and clocks every ${SAMPLE_MS * MEMORY_EVERY / 1000} s`, ...readings },
      dropouts: {
        how: 'tone watches: 20 ms Hann windows, Goertzel amplitude of each tone; after 2 s of reference, a tone is missing where it is 20 dB or more under its reference, a window impure where the watched tones\' share of its power falls 0.2 under the reference share (a gap or discontinuity of 2.5 ms or more), silent under -80 dBFS RMS; runs are consecutive bad windows',
        listener: listener.report(),
        studioProgram: studio.tones.program,
        callers,
        receivers: {
          what: 'NetEq in each page over the run, every audio stream it receives summed (the studio: both callers; a caller: its return): audio received, concealed (a packet late or lost) and of that silent, stretched and squeezed to follow the buffer, in ms at 48 kHz, and the mean jitter buffer',
          ...received
        }
      },
      when: timeline.summary(),
      studioProgramClocks: program.summary(),
      memory: {
        relayProcessMiB: { what: '/health memory of the first relay; relays run in the bench process, so this is the bench process (two relays, the listener\'s counting)', rss: relay.rss.summary(1), heapUsed: relay.heap.summary(1) },
        pagesMiB: Object.fromEntries(show.watched.map((w) => [w.name, { jsHeapUsed: w.heap.summary(2), browserRss: w.rss.summary(1) }])),
        slopes: 'perMinute: least-squares slope over the run'
      },
      reconnects: {
        relayToIcecast: relayHealth.program?.reconnects,
        relayIcecastStateAtEnd: relayHealth.program?.icecast,
        broadcastStatesEntered: studio.counts.states,
        studioSawCallerDrops: studio.counts.callerDrops,
        callerPhasesEntered: Object.fromEntries(callers.map((c) => [c.name, c.phasesEntered])),
        listenerRestarts: listener.report().restarts
      }
    }
  } finally {
    machine.stop()
    await listener?.stop()
    await fixture?.stop()
    await icecast?.stop()
    await removeDir(dir)
  }
}

/** What a caller heard over all its return watches (a new one after each reconnect). */
function returnReport (tones: Record<string, ToneWatchReport>): ToneWatchReport | undefined {
  return mergeReports(Object.entries(tones).filter(([name]) => name.startsWith('return-')).map(([, r]) => r))
}

/** The running counts the timeline takes a row from. */
async function roundReading (show: { host: Page, callers: Page[] }, listener: SoakListener): Promise<RoundReading> {
  const pages = [show.host, ...show.callers]
  const [clocks, counts, received] = await Promise.all([Promise.all(pages.map(contextClock)), Promise.all(pages.map(pageCounts)), receiveCounters(show.host)])
  return {
    at: Date.now(),
    clocks: Object.fromEntries(clocks.map((clock, i) => [i === 0 ? 'studio' : `caller${i}`, clock])),
    concealments: received.concealmentEvents,
    marks: {
      listener: marks(listener.watch.report()),
      program: marks(counts[0]?.tones.program),
      ...Object.fromEntries(counts.slice(1).map((c, i) => [`caller${i + 1}`, marks(returnReport(c.tones))]))
    }
  }
}

/** The tones caller `i` should hear: the host and the other caller. */
function callerTones (i: number): Record<string, number> {
  return { host: HOST_HZ, other: CALLER_HZ[1 - i] as number }
}

/** The studio live with both callers on air, everyone heard where they should be, and every page watched. */
async function startShow (fixture: StudioFixture): Promise<{ host: Page, callers: Page[], watched: Watched[] }> {
  const hostBrowser = await fixture.launch(HOST_HZ)
  const host = await fixture.openPage(hostBrowser)
  await addProbes(host)
  const stationId = await openStudio(host, fixture.origin, { passphrase: 'soak passphrase', name: 'Soak Radio' })
  const callerBrowsers = await Promise.all(CALLER_HZ.map(async (hz) => fixture.launch(hz)))
  const callers: Page[] = []
  for (const [i, browser] of callerBrowsers.entries()) {
    const page = await fixture.openPage(browser)
    await addProbes(page)
    progress(`caller ${i + 1} dials`)
    callers.push((await onAir(fixture, host, page, stationId, `Caller ${i + 1}`)).page)
  }
  await goLive(host, BITRATE)
  await heard(host, 'programAnalyser', [HOST_HZ, ...CALLER_HZ], 'the studio\'s program')
  for (const [i, page] of callers.entries()) await heard(page, 'returnAnalyser', Object.values(callerTones(i)), `caller ${i + 1}'s return`)
  await watchStudio(host, { host: HOST_HZ, caller1: CALLER_HZ[0], caller2: CALLER_HZ[1] })
  for (const [i, page] of callers.entries()) await watchCaller(page, callerTones(i))
  const pages = [{ name: 'studio', page: host, browser: hostBrowser }, ...callers.map((page, i) => ({ name: `caller${i + 1}`, page, browser: callerBrowsers[i] }))]
  const watched = await Promise.all(pages.map(async ({ name, page, browser }) => ({
    name, page, memory: await PageMemory.open(page, browser as NonNullable<typeof browser>), heap: new Trend(), rss: new Trend(), cpu0: 0
  })))
  return { host, callers, watched }
}

async function heard (page: Page, analyser: StudioAnalyser, tones: number[], what: string): Promise<void> {
  await waitUntil(`${tones.join(', ')} Hz in ${what}`, async () => (await spectrum(page, analyser, tones)).every((share) => share >= PRESENT_SHARE), 60_000)
}

function progress (what: string): void {
  process.stderr.write(`bench: soak: ${Math.round(process.uptime())} s: ${what}\n`)
}
