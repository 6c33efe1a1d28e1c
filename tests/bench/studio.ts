/**
 * The live studio benchmark ("Live studio"), on loopback in Debian's Chromium:
 *
 * - caller → studio latency: clicks sent by a caller page in place of its
 *   microphone (RTCRtpSender.replaceTrack), heard by AudioWorklets where the
 *   studio receives the caller (its source node) and in the program;
 * - mix-minus round trip: the same clicks in another caller's return;
 * - the producer's mute: from `studio.mute(peer)` until the caller's tone is
 *   gone from the program and from another caller's return;
 * - the double-ender's cost to a call: caller → studio clicks and RTP loss
 *   while a caller uploads its own recording, beside the same without;
 * - the studio's CPU with 1, 5, 10 and 15 callers on air.
 *
 * The baseline is the bare stack in the same run: plain RTCPeerConnections
 * from a first page to a middle one that forwards to a last one, with the app's
 * own Opus tuning (`tuneOpus`) and jitterBufferTarget 0, the same probes, and
 * for the mute the mixer's gain ramp in the middle page. It runs twice:
 * beside the live measuring calls, on the load the studio path had (and its
 * own), and once the calls have hung up, without it (2 cores saturate with
 * the studio and two calls alone). Each run's share of the machine is
 * reported beside it: the first says what the machine's load costs, the
 * second what the bare stack costs alone.
 *
 * Layout: the host (studio) has a Chromium of its own, with digital silence
 * for a microphone; the two measuring callers and the baseline's first and
 * last pages are contexts of a second one (silent too), the baseline's middle
 * page a context of the host's. Every page exists before any audio flows. The
 * CPU steps' callers are light ones (./load-callers), CALLERS_PER_PAGE to a
 * page of a third Chromium demoted to the lowest CPU priority: each a real
 * caller of the app (its own libp2p node, identity and CallerSession) with an
 * oscillator for a microphone, no UI and no audio output (the returns are
 * received, as CallerSession does, but never connected).
 */
import { readdir, readFile } from 'node:fs/promises'
import { execFile } from 'node:child_process'
import { cpus, setPriority } from 'node:os'
import { promisify } from 'node:util'
import { setTimeout as measureFor } from 'node:timers/promises'
import type { Browser, CDPSession, Page } from 'playwright-core'
import { GAIN_RAMP_S } from '../../browser/src/audio/constants.ts'
import { tuneOpus } from '../../browser/src/services/call/opus.ts'
import { addProbes, type DetectorOptions, type JitterBufferCounters, type ProbeCommand, type ProbeEvent } from '../src/audio-probes.ts'
import { onAir, openStudio, startStudioFixture, type Caller, type StudioFixture } from '../src/studio-fixture.ts'
import { waitUntil } from '../src/wait.ts'
import { buildLoadPage, LOAD_TONES, openLoadCallers, type LoadCallers, type LoadPageFiles } from './load-callers/index.ts'
import { busyCores, CLOCK_TICKS, machineTimes, STAT_UTIME, statFields } from './machine.ts'
import { distribution, round, type Distribution } from './measure.ts'

const run = promisify(execFile)

const CLICKS = 20
const WARM_UP_CLICKS = 2
/** One click: a 10 ms tone burst. */
const CLICK: ProbeCommand = { type: 'click', burstMs: 10, frequency: 1000, amplitude: 0.5 }
/** A click not heard at a tap within this long is lost there. */
const CLICK_TIMEOUT_MS = 3_000
/** Clicks are 0.5 at the source; between them there is digital silence. */
const CLICK_DETECTOR: DetectorOptions = { threshold: 0.05, holdMs: 60 }
const TONE: ProbeCommand = { type: 'tone', frequency: 1000, amplitude: 0.25 }
/** The tone is "gone" 20 dB or more under its level in the program (about 0.15 after the voice compressor). */
const LEVEL_DETECTOR: DetectorOptions = { threshold: 0.01, holdMs: 4 }
const MUTES = 8
const EVENT_TIMEOUT_MS = 5_000
/** Jitter buffers are read over windows this long while they settle, for at most SETTLE_MAX_MS. */
const SETTLE_WINDOW_MS = 1_000
const SETTLE_MAX_MS = 30_000
/** A buffer whose delay fell less than this over SETTLE_SPAN windows has stopped draining. */
const SETTLE_DRAIN_MS = 5
const SETTLE_SPAN = 3
const CPU_STEPS = [1, 5, 10, 15] as const
/** The machine's own load is read over this window before anything starts. */
const BACKGROUND_WINDOW_MS = 2_000
const CPU_WINDOW_MS = 8_000
/** The CPU steps stop when they have taken this long (on a saturated machine, 3 dials took 19–30 s past 10 callers). */
const CPU_BUDGET_MS = 150_000
const DIAL_CONCURRENCY = 3
/** Admitted callers are on air, and heard in the studio, within this long. */
const ON_AIR_TIMEOUT_MS = 30_000
/** Load callers in one page (one renderer). */
const CALLERS_PER_PAGE = 5
/** The machine counts as saturated from this share of its cores on: the studio's UI work then shrinks to what it gets. */
const SATURATED = 0.9
/** Threads whose work grows with the callers and runs at realtime priority (Web Audio, WebRTC, playout). */
const MEDIA_THREAD = /Audio|WebRTC|Realtime/
/** Index of `policy` in /proc/<pid>/task/<tid>/stat after the command name, and SCHED_OTHER's value. */
const STAT_POLICY = 38
const SCHED_OTHER = 0
const LOWEST_PRIORITY = 19
const TARGETS = { callerToStudioMs: 60, mixMinusMs: 120, muteMs: 50, cores15: 1 }

export async function benchStudio (): Promise<Record<string, unknown>> {
  // Whatever else runs on the machine competes with every figure here: say how busy it was.
  const idle = await machineTimes()
  await measureFor(BACKGROUND_WINDOW_MS)
  const backgroundBusyCores = busyCores(idle, await machineTimes())
  progress('building the load callers\' page')
  const loadPage = await buildLoadPage()
  const fixture = await startStudioFixture({ dirPrefix: 'openstudio-bench-studio-' })
  try {
    const hostBrowser = await fixture.launch(0)
    const host = await fixture.openPage(hostBrowser)
    await addProbes(host)
    const stationId = await openStudio(host, fixture.origin, { passphrase: 'benchmark passphrase', name: 'Bench Studio' })
    const callerBrowser = await fixture.launch(0)
    // Every page exists before any audio flows: on 2 busy cores, starting a renderer
    // stalls the audio threads for long enough to grow every jitter buffer for a minute.
    progress('pages')
    const [pageA, pageB] = await Promise.all([0, 1].map(async () => probedPage(fixture, callerBrowser)))
    // Two bare chains: NetEq keeps a buffer that grew under load for minutes, so the one measured alone must be new.
    const bareChain = async (): Promise<Page[]> => Promise.all([callerBrowser, hostBrowser, callerBrowser].map(async (browser) => probedPage(fixture, browser, `${fixture.origin}/__bench/blank`)))
    const [besidePages, alonePages] = [await bareChain(), await bareChain()]
    progress('two measuring callers')
    const [a, b] = await Promise.all([pageA, pageB].map(async (page, i) => onAir(fixture, host, page as Page, stationId, `Caller ${i + 1}`)))
    if (a === undefined || b === undefined) throw new Error('the measuring callers did not come on air')
    const app = await appRig(host, a, b)
    const browsers = await Promise.all([hostBrowser, callerBrowser].map(async (browser) => browser.newBrowserCDPSession()))
    const studioCall = (action: 'mute' | 'unmute') => async (): Promise<number> => host.evaluate(async ({ action, peer }) => {
      const t = Date.now()
      await window.openstudioDiagnostics?.studio?.[action](peer)
      return t
    }, { action, peer: a.id })
    const studio = await loadOver(browsers, fixture.coturn.process.pid, async () => measurePath('studio', app, { mute: studioCall('mute'), unmute: studioCall('unmute') }))
    const upload = await loadOver(browsers, fixture.coturn.process.pid, async () => uploadEffect(host, app))
    // The baseline twice: beside the live calls (the studio path's load, and its own), then once they have hung up.
    const besideRig = await bareRig(besidePages as [Page, Page, Page])
    const bareBeside = await loadOver(browsers, fixture.coturn.process.pid, async () => measurePath('baseline beside the calls', besideRig, bareMuting(besideRig)))
    await Promise.all(besidePages.map(async (page) => page.context().close()))
    await Promise.all([a.page, b.page].map(async (page) => page.evaluate(async () => window.openstudioDiagnostics?.caller?.leave())))
    await Promise.all([a.page, b.page].map(async (page) => page.context().close()))
    const bareRigged = await bareRig(alonePages as [Page, Page, Page])
    const bare = await loadOver(browsers, fixture.coturn.process.pid, async () => measurePath('baseline', bareRigged, bareMuting(bareRigged)))
    const audio = await host.evaluate(() => {
      const c = window.openstudioDiagnostics?.studio?.context
      return { sampleRate: c?.sampleRate, baseLatencyMs: (c?.baseLatency ?? NaN) * 1000, outputLatencyMs: (c?.outputLatency ?? NaN) * 1000 }
    })

    await bareRigged.middle.context().close()
    await callerBrowser.close()
    await host.evaluate(() => { window.openstudioProbes?.remove() })
    const cpu = await cpuSteps(fixture, host, hostBrowser, stationId, loadPage)
    /** One reading of each measured path, keyed as the JSON reports them. */
    const eachPath = <T>(pick: (result: typeof studio.result) => T): { studio: T, baselineBesideCalls: T, baseline: T } =>
      ({ studio: pick(studio.result), baselineBesideCalls: pick(bareBeside.result), baseline: pick(bare.result) })

    return {
      layout: `host: a Chromium of its own (silent microphone); measuring callers and the baseline's first and last pages: contexts of a 2nd Chromium (silent), its middle page a context of the host's; studio path first, then the baseline beside the live calls (the same load, and its own), then the baseline once the calls hung up; CPU load callers: ${CALLERS_PER_PAGE} to a page (a context each) of a 3rd Chromium at the lowest priority, each a real caller (its own libp2p node, identity and CallerSession) with an oscillator for a microphone (${LOAD_TONES} from one AudioContext per page that outputs nothing), no UI, the returns received but never connected; one machine, loopback, direct ICE paths`,
      backgroundBusyCores,
      method: 'render thread to render thread: Date.now() (1 ms steps) in AudioWorklets on both sides, at the render quantum that made or first heard a click; clicks (10 ms tone bursts, one at a time) replace the caller\'s microphone track; capture and output device latency are not included',
      settled: eachPath((r) => r.settled),
      load: { studio: studio.load, baselineBesideCalls: bareBeside.load, baseline: bare.load },
      studioAudio: { ...audio, baseLatencyMs: round(audio.baseLatencyMs), outputLatencyMs: round(audio.outputLatencyMs) },
      callerToStudio: {
        targetMs: TARGETS.callerToStudioMs,
        /** After the mixer: fader, strip compressor, program limiter and ceiling. */
        programMs: studio.result.clicks.program,
        /** Where the studio's Web Audio graph receives the caller. */
        arrivalMs: studio.result.clicks.arrival,
        baselineMs: bare.result.clicks.arrival,
        /** The bare stack on the same machine load as the studio path. */
        baselineBesideCallsMs: bareBeside.result.clicks.arrival,
        p50OverBaseline: round(studio.result.clicks.program.p50 / bare.result.clicks.arrival.p50),
        p50OverBaselineBesideCalls: round(studio.result.clicks.program.p50 / bareBeside.result.clicks.arrival.p50),
        jitterBufferMs: eachPath((r) => r.clicks.jitterBuffer.middle)
      },
      mixMinusRoundTrip: {
        targetMs: TARGETS.mixMinusMs,
        ms: studio.result.clicks.return,
        baselineMs: bare.result.clicks.return,
        baselineBesideCallsMs: bareBeside.result.clicks.return,
        p50OverBaseline: round(studio.result.clicks.return.p50 / bare.result.clicks.return.p50),
        p50OverBaselineBesideCalls: round(studio.result.clicks.return.p50 / bareBeside.result.clicks.return.p50),
        farJitterBufferMs: eachPath((r) => r.clicks.jitterBuffer.last)
      },
      clicksLost: eachPath((r) => r.clicks.lost),
      doubleEnderUpload: { ...upload.result, load: upload.load },
      producerMute: {
        targetMs: TARGETS.muteMs,
        what: 'from the call (studio.mute in the host page; a gain ramp in the bare middle page) to the render quantum where the tone falls 20 dB or more',
        programMs: studio.result.mute.program,
        otherCallerMs: studio.result.mute.far,
        baselineMs: { gainRamp: bare.result.mute.program, farEnd: bare.result.mute.far },
        baselineBesideCallsMs: { gainRamp: bareBeside.result.mute.program, farEnd: bareBeside.result.mute.far }
      },
      cpu: { target: `${CPU_STEPS.at(-1) ?? 0} callers under ${TARGETS.cores15} core`, windowMs: CPU_WINDOW_MS, ...perCaller(cpu), steps: cpu }
    }
  } finally {
    await fixture.stop()
  }
}

/** Progress on stderr: the run takes minutes. */
function progress (what: string): void {
  process.stderr.write(`bench: studio: ${Math.round(process.uptime())} s: ${what}\n`)
}

/** A page in a fresh context of `browser` with the probe kit, at `url` when given. */
async function probedPage (fixture: StudioFixture, browser: Browser, url?: string): Promise<Page> {
  const page = await fixture.openPage(browser)
  await addProbes(page)
  if (url !== undefined) {
    await page.context().route(url, async (route) => route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>bare</title>' }))
    await page.goto(url)
  }
  return page
}

/**
 * Where one path injects clicks (`first`, probe source 'signal') and where it
 * listens: `middle` hears the first page ('arrival', then 'program' and
 * 'program-level' after the mixer or gain), `last` hears the middle's
 * return ('return', 'return-level'). The first peer connection each of
 * `middle` and `last` holds is the one it receives on.
 */
interface Rig {
  first: Page
  middle: Page
  last: Page
}

/** The app's path: caller A's microphone replaced by a probe source; probes on A's source node and the program in the studio, and on B's return. */
async function appRig (host: Page, a: Caller, b: Caller): Promise<Rig> {
  // On air comes with the room state; the call's audio may start a moment later.
  for (const page of [a.page, b.page]) {
    await waitUntil('the call\'s return audio', async () => page.evaluate(() => {
      const track = window.openstudioProbes?.callPeer()?.getReceivers().find((r) => r.track.kind === 'audio')?.track
      return window.openstudioDiagnostics?.returnAnalyser !== undefined && track !== undefined && window.openstudioProbes?.sourceOf(track) !== undefined
    }))
  }
  const ufrag = await a.page.evaluate(async () => {
    const probes = window.openstudioProbes
    const pc = probes?.callPeer()
    const context = window.openstudioDiagnostics?.returnAnalyser?.context
    const sender = pc?.getSenders().find((s) => s.track?.kind === 'audio')
    if (probes === undefined || pc === undefined || context === undefined || sender === undefined) throw new Error('caller A has no call to inject into')
    await sender.replaceTrack(await probes.source('signal', context))
    return /a=ice-ufrag:(\S+)/.exec(pc.localDescription?.sdp ?? '')?.[1] ?? ''
  })
  await host.evaluate(async ({ ufrag, click, level }) => {
    const probes = window.openstudioProbes
    const studio = window.openstudioDiagnostics?.studio
    const pc = probes?.peers.find((p) => p.connectionState !== 'closed' && p.remoteDescription?.sdp.includes(`a=ice-ufrag:${ufrag}\r\n`) === true)
    const track = pc?.getReceivers().find((r) => r.track.kind === 'audio')?.track
    const source = track === undefined ? undefined : probes?.sourceOf(track)
    if (probes === undefined || studio === undefined || pc === undefined || source === undefined) throw new Error('the studio has no source node for caller A')
    probes.held.peers = [pc]
    await probes.detect('arrival', source, click)
    await probes.detect('program', studio.mixer.programOutput, click)
    await probes.detect('program-level', studio.mixer.programOutput, level)
  }, { ufrag, click: CLICK_DETECTOR, level: LEVEL_DETECTOR })
  await b.page.evaluate(async ({ click, level }) => {
    const probes = window.openstudioProbes
    const pc = probes?.callPeer()
    const track = pc?.getReceivers().find((r) => r.track.kind === 'audio')?.track
    const source = track === undefined ? undefined : probes?.sourceOf(track)
    if (probes === undefined || pc === undefined || source === undefined) throw new Error('caller B has no return source node')
    probes.held.peers = [pc]
    await probes.detect('return', source, click)
    await probes.detect('return-level', source, level)
  }, { click: CLICK_DETECTOR, level: LEVEL_DETECTOR })
  return { first: a.page, middle: host, last: b.page }
}

/**
 * The bare stack: first → middle → last over plain RTCPeerConnections,
 * non-trickle, the middle page forwarding what it hears through a gain.
 */
async function bareRig ([first, middle, last]: [Page, Page, Page]): Promise<Rig> {
  const offer = await first.evaluate(async () => {
    const probes = window.openstudioProbes as NonNullable<Window['openstudioProbes']>
    const [context, pc] = [await probes.audioContext(), probes.peer()]
    probes.held = { peers: [pc], context }
    pc.addTransceiver(await probes.source('signal', context), { direction: 'sendonly' })
    await pc.setLocalDescription()
    await probes.gathered(pc)
    return pc.localDescription?.sdp ?? ''
  })
  const middleSdp = await middle.evaluate(async ({ offer, click, level }) => {
    const probes = window.openstudioProbes as NonNullable<Window['openstudioProbes']>
    const [context, inbound, outbound] = [await probes.audioContext(), probes.peer(), probes.peer()]
    await inbound.setRemoteDescription({ type: 'offer', sdp: offer })
    const source = probes.receive(context, inbound.getReceivers()[0] as RTCRtpReceiver)
    const gain = new GainNode(context)
    const out = new MediaStreamAudioDestinationNode(context, { channelCount: 1 })
    source.connect(gain).connect(out)
    probes.held = { peers: [inbound, outbound], context, gain }
    await probes.detect('arrival', source, click)
    await probes.detect('program', gain, click)
    await probes.detect('program-level', gain, level)
    outbound.addTransceiver(out.stream.getAudioTracks()[0] as MediaStreamTrack, { direction: 'sendonly' })
    await Promise.all([inbound.setLocalDescription(), outbound.setLocalDescription()])
    await Promise.all([probes.gathered(inbound), probes.gathered(outbound)])
    return { answer: inbound.localDescription?.sdp ?? '', offer: outbound.localDescription?.sdp ?? '' }
  }, { offer: tuneOpus(offer), click: CLICK_DETECTOR, level: LEVEL_DETECTOR })
  const lastAnswer = await last.evaluate(async ({ offer, click, level }) => {
    const probes = window.openstudioProbes as NonNullable<Window['openstudioProbes']>
    const [context, pc] = [await probes.audioContext(), probes.peer()]
    await pc.setRemoteDescription({ type: 'offer', sdp: offer })
    const source = probes.receive(context, pc.getReceivers()[0] as RTCRtpReceiver)
    probes.held = { peers: [pc], context }
    await probes.detect('return', source, click)
    await probes.detect('return-level', source, level)
    await pc.setLocalDescription()
    await probes.gathered(pc)
    return pc.localDescription?.sdp ?? ''
  }, { offer: tuneOpus(middleSdp.offer), click: CLICK_DETECTOR, level: LEVEL_DETECTOR })
  const answer = async (page: Page, index: number, sdp: string): Promise<void> => {
    await page.evaluate(async ({ index, sdp }) => { await window.openstudioProbes?.held.peers[index]?.setRemoteDescription({ type: 'answer', sdp }) }, { index, sdp })
  }
  await answer(first, 0, tuneOpus(middleSdp.answer))
  await answer(middle, 1, tuneOpus(lastAnswer))
  await waitUntil('the bare peer connections to connect', async () => {
    const states = await Promise.all([first, middle, last].map(async (page) => page.evaluate(() => window.openstudioProbes?.held.peers.every((pc) => pc.connectionState === 'connected') ?? false)))
    return states.every(Boolean)
  })
  return { first, middle, last }
}

async function command (page: Page, name: string, cmd: ProbeCommand): Promise<void> {
  await page.evaluate(({ name, cmd }) => { window.openstudioProbes?.command(name, cmd) }, { name, cmd })
}

/** Waits in the page (no polling) for probe events; see ProbeKit.until. */
async function until (page: Page, name: string, type: ProbeEvent['type'], count: number, since: number, timeoutMs = EVENT_TIMEOUT_MS): Promise<ProbeEvent[]> {
  return page.evaluate(async (a) => window.openstudioProbes?.until(a.name, a.type, a.count, a.since, a.timeoutMs) ?? [], { name, type, count, since, timeoutMs })
}

async function jitterBuffer (page: Page): Promise<JitterBufferCounters | undefined> {
  return page.evaluate(async () => window.openstudioProbes?.jitterBuffer())
}

/** Mean jitter buffer delay, in ms, of the samples played out between two readings. */
function meanJitterBuffer (before: JitterBufferCounters | undefined, after: JitterBufferCounters | undefined): Record<string, number> | undefined {
  if (before === undefined || after === undefined || after.emitted <= before.emitted) return undefined
  const samples = after.emitted - before.emitted
  return {
    delay: round((after.delay - before.delay) / samples * 1000, 1),
    target: round((after.target - before.target) / samples * 1000, 1),
    concealmentEvents: after.concealmentEvents - before.concealmentEvents
  }
}

/**
 * On 2 busy cores, page loads and dials starve the audio threads: packets
 * arrive in bursts, NetEq grows the receivers' jitter buffers, then drains
 * them at a few tens of ms per second. Reads the receivers' buffers over
 * 1 s windows until none has drained more than SETTLE_DRAIN_MS over the last
 * SETTLE_SPAN windows (or SETTLE_MAX_MS have passed).
 */
async function settle (receivers: Page[]): Promise<Record<string, unknown>> {
  const started = Date.now()
  let previous = await Promise.all(receivers.map(jitterBuffer))
  const history: number[][] = []
  const draining = (): boolean => {
    const now = history.at(-1)
    const then = history.at(-1 - SETTLE_SPAN)
    return now === undefined || then === undefined || now.some((d, i) => d < (then[i] ?? 0) - SETTLE_DRAIN_MS)
  }
  while (Date.now() - started < SETTLE_MAX_MS && draining()) {
    await measureFor(SETTLE_WINDOW_MS)
    const now = await Promise.all(receivers.map(jitterBuffer))
    history.push(now.map((c, i) => meanJitterBuffer(previous[i], c)?.delay ?? Number.POSITIVE_INFINITY))
    previous = now
  }
  return { afterMs: Date.now() - started, stillDraining: draining(), jitterBufferMs: history.map((h) => h.map((d) => round(d, 0))) }
}

interface ClickLatencies {
  arrival: Distribution
  program: Distribution
  return: Distribution
  lost: Record<string, number>
  jitterBuffer: { middle?: Record<string, number>, last?: Record<string, number> }
}

const TAPS = [['middle', 'arrival'], ['middle', 'program'], ['last', 'return']] as const

/** Settles a path's jitter buffers, then measures its clicks and its mutes. */
async function measurePath (name: string, rig: Rig, muting: Muting): Promise<{ settled: Record<string, unknown>, clicks: ClickLatencies, mute: { program: Distribution, far: Distribution } }> {
  progress(`${name}: jitter buffers settling`)
  const settled = await settle([rig.middle, rig.last])
  progress(`${name}: clicks`)
  await clicksDown(rig, WARM_UP_CLICKS)
  const clicks = await clicksDown(rig, CLICKS)
  progress(`${name}: mutes`)
  return { settled, clicks, mute: await muteTimes(rig, muting) }
}

/**
 * One click at a time, the next once every tap heard the last or
 * CLICK_TIMEOUT_MS passed: under load a click can take longer than any
 * spacing between clicks, and a train of clicks would be matched to the
 * wrong onsets. Latencies are between the render quanta that made and first
 * heard each click, as their render threads processed them.
 */
async function clicksDown (rig: Rig, count: number): Promise<ClickLatencies> {
  const buffers = async (): Promise<Array<JitterBufferCounters | undefined>> => Promise.all([jitterBuffer(rig.middle), jitterBuffer(rig.last)])
  const before = await buffers()
  const samples: Record<typeof TAPS[number][1], number[]> = { arrival: [], program: [], return: [] }
  for (let i = 0; i < count; i++) {
    const since = Date.now()
    await command(rig.first, 'signal', CLICK)
    const [clicks, ...heard] = await Promise.all([
      until(rig.first, 'signal', 'click', 1, since, CLICK_TIMEOUT_MS),
      ...TAPS.map(async ([where, name]) => until(rig[where], name, 'on', 1, since, CLICK_TIMEOUT_MS))
    ])
    const click = clicks?.[0]
    if (click === undefined) throw new Error('the probe source made no click')
    for (const [j, [, name]] of TAPS.entries()) {
      const onset = heard[j]?.find((e) => e.block >= click.block)
      if (onset !== undefined) samples[name].push(onset.block - click.block)
    }
  }
  const after = await buffers()
  for (const [, name] of TAPS) if (samples[name].length === 0) throw new Error(`the ${name} probe heard none of ${count} clicks`)
  return {
    arrival: distribution(samples.arrival),
    program: distribution(samples.program),
    return: distribution(samples.return),
    lost: Object.fromEntries(TAPS.map(([, name]) => [name, count - samples[name].length])),
    jitterBuffer: { middle: meanJitterBuffer(before[0], after[0]), last: meanJitterBuffer(before[1], after[1]) }
  }
}

const UPLOAD_ROUNDS = 2

/**
 * What the double-ender costs a call: caller A's clicks heard in the studio,
 * alternately with no recording, and while the studio records and caller A
 * uploads its own recording of its microphone to it (paced during the show);
 * with the call's RTP loss in each window, from the studio's receiver, and
 * the upload's rate. After each uploading window the recording stops and the
 * rest of the upload goes before the next window starts.
 */
async function uploadEffect (host: Page, rig: Rig): Promise<Record<string, unknown>> {
  const caller = rig.first
  const rtp = async (): Promise<{ received: number, lost: number }> => host.evaluate(async () => {
    const counts = { received: 0, lost: 0 }
    ;(await window.openstudioProbes?.held.peers[0]?.getStats())?.forEach((s: { type: string, kind?: string, packetsReceived?: number, packetsLost?: number }) => {
      if (s.type !== 'inbound-rtp' || s.kind !== 'audio') return
      counts.received += s.packetsReceived ?? 0
      counts.lost += s.packetsLost ?? 0
    })
    return counts
  })
  const ender = async (): Promise<{ state?: string, sent: number }> => caller.evaluate(() => {
    const status = window.openstudioDiagnostics?.doubleEnder?.status
    return { state: status?.state, sent: status?.sent ?? 0 }
  })
  // The mutes left the probe's tone on: clicks need silence between them.
  await command(caller, 'signal', { ...TONE, amplitude: 0 })
  const windows: Array<Record<string, unknown> & { uploading: boolean, arrivalP50: number }> = []
  for (let pass = 0; pass < UPLOAD_ROUNDS; pass++) {
    for (const uploading of [false, true]) {
      progress(`double-ender round ${pass + 1}: clicks ${uploading ? 'while caller A uploads' : 'without a recording'}`)
      if (uploading) {
        await host.click('[data-testid=record]')
        const consent = caller.locator('[data-testid=record-here-consent]')
        if (!await consent.isChecked({ timeout: 30_000 })) await consent.check()
        await waitUntil('caller A recording here and uploading', async () => {
          const { state, sent } = await ender()
          return state === 'recording' && sent > 0
        }, 30_000)
      }
      const [rtp0, sent0, at0] = [await rtp(), (await ender()).sent, Date.now()]
      const clicks = await clicksDown(rig, CLICKS)
      const [rtp1, sent1, at1] = [await rtp(), (await ender()).sent, Date.now()]
      const packets = (rtp1.received - rtp0.received) + (rtp1.lost - rtp0.lost)
      windows.push({
        uploading,
        arrivalP50: clicks.arrival.p50,
        arrivalMs: clicks.arrival,
        programMs: clicks.program,
        clicksLost: clicks.lost.arrival,
        rtpPackets: packets,
        rtpLossPercent: round(packets > 0 ? (100 * (rtp1.lost - rtp0.lost)) / packets : 0, 2),
        uploadBytesPerSecond: Math.round(((sent1 - sent0) * 1000) / (at1 - at0))
      })
      if (uploading) {
        await host.click('[data-testid=record]')
        await waitUntil('caller A\'s upload done', async () => (await ender()).state === 'uploaded', 60_000)
      }
    }
  }
  const p50 = (uploading: boolean): number => {
    const of = windows.filter((w) => w.uploading === uploading).map((w) => w.arrivalP50)
    return of.reduce((a, b) => a + b, 0) / of.length
  }
  return {
    what: `caller A's clicks where the studio receives it, ${CLICKS} a window, alternating: no recording, then the studio recording while caller A uploads its own recording of its microphone (the double-ender, paced during the show), ${UPLOAD_ROUNDS} rounds; RTP loss from the studio's receiver of caller A`,
    windows: windows.map(({ arrivalP50: _, ...w }) => w),
    arrivalP50WithOverWithout: round(p50(true) / p50(false))
  }
}

/** A path's mute and unmute, each resolving to the `Date.now()` it was asked at (in the page that does it). */
interface Muting {
  mute: () => Promise<number>
  unmute: () => Promise<number>
}

/** The baseline's mute and unmute. */
function bareMuting (rig: Rig): Muting {
  return { mute: gainRamp(rig.middle, 0), unmute: gainRamp(rig.middle, 1) }
}

/** The baseline's mute: a gain ramp in the bare middle page, as the mixer's RampedGain makes it. */
function gainRamp (page: Page, target: number): () => Promise<number> {
  return async () => page.evaluate(({ target, seconds }) => {
    const t = Date.now()
    const { context, gain } = window.openstudioProbes?.held ?? {}
    if (context === undefined || gain === undefined) throw new Error('the bare middle page has no gain')
    const now = context.currentTime
    const current = gain.gain.value
    gain.gain.cancelScheduledValues(now)
    gain.gain.setValueAtTime(current, now)
    gain.gain.linearRampToValueAtTime(target, now + seconds)
    return t
  }, { target, seconds: GAIN_RAMP_S })
}

/** Rounds of mute → silence at both taps → unmute → tone back at both taps. */
async function muteTimes (rig: Rig, { mute, unmute }: Muting): Promise<{ program: Distribution, far: Distribution }> {
  /** When both taps saw `type` at or after `since`. */
  const level = async (type: 'on' | 'off', since: number, what: string): Promise<[number, number]> => {
    const [program, far] = await Promise.all([until(rig.middle, 'program-level', type, 1, since), until(rig.last, 'return-level', type, 1, since)])
    if (program[0] === undefined || far[0] === undefined) throw new Error(`no ${what} within ${EVENT_TIMEOUT_MS} ms (studio side: ${program.length}, far side: ${far.length})`)
    return [program[0].block, far[0].block]
  }
  const since = Date.now()
  await command(rig.first, 'signal', TONE)
  await level('on', since, 'tone at both taps')
  const program: number[] = []
  const far: number[] = []
  for (let i = 0; i < MUTES; i++) {
    const t0 = await mute()
    const [p, f] = await level('off', t0, 'silence after a mute')
    program.push(p - t0)
    far.push(f - t0)
    await level('on', await unmute(), 'tone after an unmute')
  }
  return { program: distribution(program), far: distribution(far) }
}

interface CpuReading {
  at: number
  /** CPU seconds of the host page's renderer process, and of its main thread. */
  renderer: number
  mainThread: number
  /** CPU seconds by pid, of every process of the host's and of the load callers' Chromium. */
  hostBrowser: Map<number, number>
  callerBrowser: Map<number, number>
  /** The same for the load callers' renderers (their pages) alone. */
  callerRenderers: Map<number, number>
  /** CPU seconds of each thread of the host renderer, by thread id, with its name. */
  threads: Map<string, [string, number]>
}

/**
 * What one more caller costs the host renderer (and the load browser),
 * between the first and the last step measured, and a straight line from
 * there to the last step asked for. The media threads are the better guide
 * on a saturated machine: they run at realtime priority and get what they
 * ask for.
 */
function perCaller (steps: Array<Record<string, unknown>>): Record<string, unknown> {
  const measured = steps.filter((s) => typeof s.hostRendererCores === 'number')
  const first = measured[0]
  const last = measured.at(-1)
  const target = CPU_STEPS.at(-1) ?? 0
  if (first === undefined || last === undefined || last === first) return {}
  const n = (s: Record<string, unknown>): number => s.callers as number
  const slope = (key: string): number => ((last[key] as number) - (first[key] as number)) / (n(last) - n(first))
  const line = (key: string): number => round((last[key] as number) + slope(key) * (target - n(last)))
  return {
    perCallerCores: {
      fromSteps: [n(first), n(last)],
      hostRenderer: round(slope('hostRendererCores')),
      hostMediaThreads: round(slope('hostMediaThreadsCores')),
      // What a load caller got (not asked for) once the machine saturates: it runs at the lowest priority.
      loadBrowser: round(slope('callerBrowserCores'))
    },
    [`linearExtrapolationTo${target}Cores`]: { hostRenderer: line('hostRendererCores'), hostMediaThreads: line('hostMediaThreadsCores') }
  }
}

/**
 * `work`, or a rejection once `deadline` has passed. Work still running then
 * is abandoned: its pages close with the fixture.
 */
async function withDeadline<T> (deadline: number, work: Promise<T>): Promise<T> {
  const timer = new AbortController()
  const late = measureFor(Math.max(0, deadline - Date.now()), undefined, { signal: timer.signal }).then(() => {
    throw new Error(`the CPU section's time budget (${CPU_BUDGET_MS / 1000} s) was spent`)
  })
  try {
    return await Promise.race([work, late])
  } finally {
    timer.abort()
  }
}

/**
 * Dials `names` from the load callers, DIAL_CONCURRENCY at a time (a busy
 * studio answers slowly), has the producer in `host` admit each from the
 * green room, and demotes the load browser's new threads.
 * @returns the dials that failed before each caller got in, in all
 */
async function dialLoad (load: LoadCallers, loadCdp: CDPSession, host: Page, stationId: string, names: string[]): Promise<number> {
  let retries = 0
  for (let i = 0; i < names.length; i += DIAL_CONCURRENCY) {
    const started = Date.now()
    const calls = await load.call(stationId, names.slice(i, i + DIAL_CONCURRENCY))
    progress(`${calls.map((c) => c.name).join(', ')}: ${calls.filter((c) => c.error === undefined).length} in the green room after ${Math.round((Date.now() - started) / 1000)} s`)
    await demote(loadCdp)
    const failed = calls.filter((c) => c.error !== undefined)
    if (failed.length > 0) throw new Error(failed.map((c) => `${c.name}: ${c.retries} dials failed (${c.error ?? ''})`).join('; '))
    retries += calls.reduce((sum, c) => sum + c.retries, 0)
    for (const { id } of calls) await host.evaluate(async (peer) => { await window.openstudioDiagnostics?.studio?.admit(peer) }, id)
  }
  return retries
}

/**
 * Adds callers step by step and reads the host's CPU over a window at each
 * step. The callers are light load callers (see ./load-callers) in one more
 * Chromium, demoted as they come (see `demote`). A step that cannot be
 * reached (dials fail, callers drop, or the time budget is spent) is
 * reported as such, and ends the steps.
 */
async function cpuSteps (fixture: StudioFixture, host: Page, hostBrowser: Browser, stationId: string, loadPage: LoadPageFiles): Promise<Array<Record<string, unknown>>> {
  const deadline = Date.now() + CPU_BUDGET_MS
  await waitUntil('the measuring callers to be gone', async () => host.evaluate(() => window.openstudioDiagnostics?.studio?.callers.every((c) => !c.connected) ?? false))
  const page = await host.context().newCDPSession(host)
  await page.send('Performance.enable')
  const hostCdp = await hostBrowser.newBrowserCDPSession()
  const renderer = await hostRenderer(page, hostCdp)
  const loadBrowser = await fixture.launch(0)
  const loadCdp = await loadBrowser.newBrowserCDPSession()
  const load = await openLoadCallers({ fixture, browser: loadBrowser, files: loadPage, callers: CPU_STEPS.at(-1) ?? 0, perPage: CALLERS_PER_PAGE })
  await demote(loadCdp)
  const heard = async (): Promise<number> => host.evaluate(() => {
    const studio = window.openstudioDiagnostics?.studio
    const levels = studio?.levels().participants ?? {}
    return studio?.callers.filter((c) => c.connected && c.stage === 'on-air' && (levels[c.id]?.peak ?? -100) > -40).length ?? 0
  })
  const steps: Array<Record<string, unknown>> = []
  let callers = 0
  let retries = 0
  for (const n of CPU_STEPS) {
    progress(`CPU with ${n} callers`)
    try {
      const names = Array.from({ length: n - callers }, (_, i) => `Load ${callers + i + 1}`)
      retries += await withDeadline(deadline, dialLoad(load, loadCdp, host, stationId, names))
      callers = n
      await withDeadline(deadline, load.onAir(ON_AIR_TIMEOUT_MS))
      await withDeadline(deadline, waitUntil(`${n} callers heard in the studio`, async () => (await heard()) >= n, ON_AIR_TIMEOUT_MS))
    } catch (err) {
      const offAir = (await load.statuses()).filter((c) => c.phase !== 'on-air').map((c) => `${c.name}: ${c.phase}${c.error === undefined ? '' : ` (${c.error})`}`)
      steps.push({ callers: n, reached: false, onAirAndHeard: await heard(), offAir, why: (err as Error).message })
      break
    }
    await demote(loadCdp)
    const { result: [before, after, frames], load: machine } = await loadOver([hostCdp, loadCdp], fixture.coturn.process.pid, async () => {
      const first = await cpuReading(page, hostCdp, loadCdp, renderer)
      const [frames] = await Promise.all([host.evaluate(async (ms) => window.openstudioProbes?.frameRate(ms), CPU_WINDOW_MS), measureFor(CPU_WINDOW_MS)])
      return [first, await cpuReading(page, hostCdp, loadCdp, renderer), frames] as const
    })
    const seconds = (after.at - before.at) / 1000
    const cores = (x: number): number => round(x / seconds)
    const threads = threadCores(before.threads, after.threads, seconds)
    const callerBrowserCores = cores(processDelta(before.callerBrowser, after.callerBrowser))
    const callerRenderersCores = cores(processDelta(before.callerRenderers, after.callerRenderers))
    steps.push({
      callers: n,
      onAirAndHeardAfter: await heard(),
      dialRetries: retries,
      hostUiFramesPerSecond: round(frames ?? NaN, 1),
      hostRendererCores: cores(after.renderer - before.renderer),
      hostMainThreadCores: cores(after.mainThread - before.mainThread),
      hostMediaThreadsCores: round(Object.entries(threads).filter(([name]) => MEDIA_THREAD.test(name)).reduce((sum, [, c]) => sum + c, 0)),
      hostRendererThreadsCores: threads,
      hostBrowserCores: cores(processDelta(before.hostBrowser, after.hostBrowser)),
      callerBrowserCores,
      // The load pages alone; the rest of callerBrowserCores is the load browser's own processes (network, audio).
      callerRenderersCores,
      callerCoresPerCaller: { browser: round(callerBrowserCores / n), renderers: round(callerRenderersCores / n) },
      ...machine,
      saturated: (machine.machineBusyCores ?? 0) >= SATURATED * cpus().length
    })
  }
  await load.leave()
  return steps
}

/**
 * Puts every thread of a browser's processes at the lowest priority: nice 19,
 * and its realtime audio threads (Chromium asks for SCHED_RR) back to
 * SCHED_OTHER. On 2 shared cores the load callers then stand in for callers
 * on other machines: they take what the studio leaves, and their audio
 * threads no longer preempt the studio's main thread (where its libp2p node
 * answers pings; starved, it loses its relay connections and its calls).
 */
async function demote (browser: CDPSession): Promise<void> {
  const { processInfo } = await browser.send('SystemInfo.getProcessInfo')
  const threads = (await Promise.all(processInfo.map(async ({ id }) => threadsOf(id)))).flat()
  await Promise.all(threads.map(async ({ path, tid, policy }) => {
    // A thread that ended since the listing needs nothing.
    const ended = async (): Promise<boolean> => readFile(path).then(() => false, () => true)
    if (policy !== SCHED_OTHER) await run('chrt', ['--other', '--pid', '0', tid]).catch(async (err: Error) => { if (!await ended()) throw err })
    try {
      setPriority(Number(tid), LOWEST_PRIORITY)
    } catch (err) {
      if (!await ended()) throw err
    }
  }))
}

/** The pid of the host page's renderer: the one whose CPU time matches the page's ProcessTime. */
async function hostRenderer (page: CDPSession, browser: CDPSession): Promise<number> {
  const [{ metrics }, { processInfo }] = await Promise.all([page.send('Performance.getMetrics'), browser.send('SystemInfo.getProcessInfo')])
  const processTime = metrics.find((m) => m.name === 'ProcessTime')?.value ?? NaN
  const renderers = processInfo.filter((p) => p.type === 'renderer').sort((x, y) => Math.abs(x.cpuTime - processTime) - Math.abs(y.cpuTime - processTime))
  if (renderers[0] === undefined) throw new Error('the host browser has no renderer')
  return renderers[0].id
}

async function cpuReading (page: CDPSession, hostBrowser: CDPSession, callerBrowser: CDPSession, renderer: number): Promise<CpuReading> {
  const processes = async (cdp: CDPSession): Promise<Array<{ id: number, type: string, cpuTime: number }>> => (await cdp.send('SystemInfo.getProcessInfo')).processInfo
  const times = (list: Array<{ id: number, type: string, cpuTime: number }>, type?: string): Map<number, number> =>
    new Map(list.filter((p) => type === undefined || p.type === type).map((p) => [p.id, p.cpuTime]))
  const [{ metrics }, host, callers, threads] = await Promise.all([
    page.send('Performance.getMetrics'), processes(hostBrowser), processes(callerBrowser), threadTimes(renderer)
  ])
  const metric = (name: string): number => metrics.find((m) => m.name === name)?.value ?? NaN
  return {
    at: Date.now(),
    renderer: metric('ProcessTime'),
    mainThread: metric('ThreadTime'),
    hostBrowser: times(host),
    callerBrowser: times(callers),
    callerRenderers: times(callers, 'renderer'),
    threads
  }
}

/** CPU seconds spent between two readings by the processes in `after` (a process new since `before` counts whole). */
function processDelta (before: Map<number, number>, after: Map<number, number>): number {
  let sum = 0
  for (const [pid, cpu] of after) sum += cpu - (before.get(pid) ?? 0)
  return sum
}

/** The host renderer's threads, summed by name, busiest first (cores). */
function threadCores (before: CpuReading['threads'], after: CpuReading['threads'], seconds: number): Record<string, number> {
  const byName = new Map<string, number>()
  for (const [tid, [name, cpu]] of after) byName.set(name, (byName.get(name) ?? 0) + cpu - (before.get(tid)?.[1] ?? 0))
  return Object.fromEntries([...byName].filter(([, cpu]) => cpu / seconds >= 0.005).sort((x, y) => y[1] - x[1]).map(([name, cpu]) => [name, round(cpu / seconds)]))
}

interface ThreadStat {
  path: string
  tid: string
  name: string
  /** CPU seconds, user and system. */
  cpu: number
  policy: number
}

/** The threads of process `pid`, from /proc; none once it has ended. */
async function threadsOf (pid: number): Promise<ThreadStat[]> {
  const tids = await readdir(`/proc/${pid}/task`).catch(() => [])
  const stats = await Promise.all(tids.map(async (tid) => {
    const path = `/proc/${pid}/task/${tid}/stat`
    return { path, tid, stat: await readFile(path, 'utf8').catch(() => '') }
  }))
  return stats.flatMap(({ path, tid, stat }) => {
    const close = stat.lastIndexOf(')')
    if (close < 0) return []
    const fields = statFields(stat)
    const cpu = (Number(fields[STAT_UTIME]) + Number(fields[STAT_UTIME + 1])) / CLOCK_TICKS
    return [{ path, tid, name: stat.slice(stat.indexOf('(') + 1, close), cpu, policy: Number(fields[STAT_POLICY]) }]
  })
}

/** CPU seconds of every thread of process `pid`, by thread id, with its name. */
async function threadTimes (pid: number): Promise<CpuReading['threads']> {
  return new Map((await threadsOf(pid)).map((t) => [t.tid, [t.name, t.cpu]]))
}

/** CPU seconds this benchmark has spent: every process of `browsers`, this Node process (the relays), and coturn. */
async function ownCpu (browsers: CDPSession[], coturnPid: number | undefined): Promise<number> {
  const infos = await Promise.all(browsers.map(async (cdp) => (await cdp.send('SystemInfo.getProcessInfo')).processInfo))
  const self = process.cpuUsage()
  const coturn = coturnPid === undefined ? [] : await threadsOf(coturnPid)
  return infos.flat().reduce((sum, p) => sum + p.cpuTime, 0) + (self.user + self.system) / 1e6 + coturn.reduce((sum, t) => sum + t.cpu, 0)
}

/** How busy the machine was over a span, and how much of that was this benchmark. */
async function loadOver<T> (browsers: CDPSession[], coturnPid: number | undefined, span: () => Promise<T>): Promise<{ result: T, load: Record<string, number> }> {
  const [machine0, own0, at0] = [await machineTimes(), await ownCpu(browsers, coturnPid), Date.now()]
  const result = await span()
  const [machine1, own1, at1] = [await machineTimes(), await ownCpu(browsers, coturnPid), Date.now()]
  const busy = busyCores(machine0, machine1)
  const ours = round((own1 - own0) / ((at1 - at0) / 1000))
  return { result, load: { machineBusyCores: busy, benchCores: ours, otherCores: round(Math.max(0, busy - ours)) } }
}
