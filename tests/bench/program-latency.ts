/**
 * Program bus → Icecast listener latency, for the program benchmark.
 *
 * Clicks (10 ms tone bursts over digital silence) are stamped with
 * `Date.now()` where they are made: on the studio's render thread by a probe
 * source AudioWorklet connected into the mixer's program sum (before the
 * limiter, the ceiling, the encoder's tap), or, for the baseline, in this
 * process at the write that hands the click's first sample to a bare ffmpeg
 * source. Both reach the same Icecast (burst 0: listeners start at the live
 * edge) and the same listener code: ffmpeg with low-delay flags decoding the
 * mount to PCM piped into this process, where a click is heard at the
 * `Date.now()` its first loud sample arrived.
 */
import { setTimeout as pause } from 'node:timers/promises'
import type { Page } from 'playwright-core'
import { randomInt } from 'node:crypto'
import { readIcecastMounts, type LocalIcecast } from '@openstudio/node'
import type { ProbeCommand } from '../src/audio-probes.ts'
import { Listener } from '../src/program-audio.ts'
import { waitUntil } from '../src/wait.ts'
import { BareSource } from './bare-source.ts'
import { busyCores, machineTimes } from './machine.ts'
import { distribution, type Distribution } from './measure.ts'

export const CLICK = { burstMs: 10, frequency: 1000, amplitude: 0.5 } as const
const CLICKS = 30
const WARM_UP_CLICKS = 3
/** A click not heard within this long is lost. */
const CLICK_TIMEOUT_MS = 3_000
/** Clicks are 0.5 at the source and silence lies between them. */
const THRESHOLD = 0.05
/** Quiet this long ends a click. */
const HOLD_MS = 60
/** Pause between a click heard and the next one: random within this range, so clicks fall anywhere in an Opus frame. */
const GAP_MS = [250, 550] as const
/** Decoded audio at the listener before the first click. */
const LISTENER_WARM_UP_S = 2

export interface PathLatency {
  ms: Distribution
  lost: number
  /** Cores the whole machine kept busy while the clicks ran. */
  machineBusyCores: number
}

/** Click onsets in a stream of decoded PCM, each stamped with the arrival of its first loud sample; keeps the last few. */
export class Onsets {
  private readonly threshold = Math.round(THRESHOLD * 32768)
  private readonly hold = (HOLD_MS * 48_000) / 1000
  private loud = false
  private quiet = 0
  private readonly heard: number[] = []

  push (pcm: Int16Array, at: number): void {
    for (const x of pcm) {
      if (Math.abs(x) > this.threshold) {
        if (!this.loud) this.heard.push(at)
        if (this.heard.length > 16) this.heard.shift()
        this.loud = true
        this.quiet = 0
      } else if (this.loud && ++this.quiet > this.hold) {
        this.loud = false
      }
    }
  }

  /** The first onset heard at or after `since`. */
  after (since: number): number | undefined {
    return this.heard.find((at) => at >= since)
  }
}

/** How many clicks, and how long each may take to be heard (HLS is seconds behind live). */
export interface ClickPlan {
  clicks: number
  timeoutMs: number
}
const ICECAST_CLICKS: ClickPlan = { clicks: CLICKS, timeoutMs: CLICK_TIMEOUT_MS }

/** A low-delay listener on `url` feeding `onsets`, once it has decoded a little. */
async function listen (url: string, onsets: Onsets): Promise<Listener> {
  // An HLS player starts 3 segments from the live end: there must be that many first.
  if (url.endsWith('.m3u8')) {
    await waitUntil(`three segments in ${url}`, async () => {
      const res = await fetch(url)
      return res.ok && ((await res.text()).match(/^#EXTINF:/gm) ?? []).length >= 3
    }, 30_000)
  }
  const listener = new Listener(url, { lowDelay: true, keep: false, onPcm: (pcm, at) => { onsets.push(pcm, at) } })
  await waitUntil(`${LISTENER_WARM_UP_S} s decoded from ${url}`, () => {
    if (listener.process.exitCode !== null) throw new Error(`the listener of ${url} exited: ${listener.said}`)
    return listener.seconds >= LISTENER_WARM_UP_S
  }, 30_000)
  return listener
}

/** Clicks one at a time: from each click's stamp to its onset at the listener. */
async function clickLatencies (click: () => Promise<number>, onsets: Onsets, plan: ClickPlan = ICECAST_CLICKS): Promise<PathLatency> {
  const ms: number[] = []
  let lost = 0
  const before = await machineTimes()
  for (let i = 0; i < plan.clicks + WARM_UP_CLICKS; i++) {
    const made = await click()
    const heard = await waitUntil('the click at the listener', () => onsets.after(made), plan.timeoutMs).catch(() => undefined)
    if (heard === undefined) lost++
    else if (i >= WARM_UP_CLICKS) ms.push(heard - made)
    await pause(randomInt(GAP_MS[0], GAP_MS[1]))
  }
  return { ms: distribution(ms), lost, machineBusyCores: busyCores(before, await machineTimes()) }
}

async function waitForMount (icecast: LocalIcecast, mount: string, what: () => string): Promise<void> {
  await waitUntil(`Icecast to list ${mount}`, async () => {
    const listed = (await readIcecastMounts(icecast.url)).has(mount)
    if (!listed) throw new Error(what())
    return listed
  }, 20_000)
}

/**
 * The baseline: a bare ffmpeg source on `mount` (Opus in Ogg, or the output
 * given), heard at `listenUrl` (default: the mount).
 */
export async function bareLatency (icecast: LocalIcecast, mount: string, bitrate: number, init: { output?: (target: string) => string[], listenUrl?: string, plan?: ClickPlan } = {}): Promise<PathLatency> {
  const source = new BareSource({ url: icecast.url, password: icecast.sourcePassword, mount, bitrate, click: CLICK, output: init.output })
  const onsets = new Onsets()
  let listener: Listener | undefined
  try {
    if (init.listenUrl === undefined) await waitForMount(icecast, mount, () => `ffmpeg: ${source.said}`)
    listener = await listen(init.listenUrl ?? `${icecast.url}${mount}`, onsets)
    return await clickLatencies(async () => source.click(), onsets, init.plan)
  } finally {
    await listener?.stop()
    await source.stop()
  }
}

/** Runs in the studio page: a probe source, silent until commanded, summed into the program before the limiter. */
async function injectClicks (): Promise<void> {
  const studio = window.openstudioDiagnostics?.studio
  const probes = window.openstudioProbes
  if (studio === undefined || probes === undefined) throw new Error('no studio or probe kit in the page')
  const source = await probes.sourceNode('program-clicks', studio.context)
  // The mixer's program sum is private: its strips' program sends feed it, then the limiter and the ceiling.
  source.connect((studio.mixer as unknown as { programSum: AudioNode }).programSum)
}

/** Pages whose program has the click source already. */
const clicking = new WeakSet<Page>()

/** Ours: the studio page (live through its relay) with clicks in its program, heard at `url` (a mount, or a rendition). */
export async function studioLatency (url: string, page: Page, plan?: ClickPlan): Promise<PathLatency> {
  if (!clicking.has(page)) await page.evaluate(injectClicks)
  clicking.add(page)
  const onsets = new Onsets()
  const listener = await listen(url, onsets)
  try {
    return await clickLatencies(async () => {
      const since = Date.now()
      const [event] = await page.evaluate(async ({ since, click, timeoutMs }) => {
        const probes = window.openstudioProbes
        probes?.command('program-clicks', click)
        return probes?.until('program-clicks', 'click', 1, since, timeoutMs) ?? []
      }, { since, click: { type: 'click', ...CLICK } satisfies ProbeCommand, timeoutMs: CLICK_TIMEOUT_MS })
      if (event === undefined) throw new Error('the probe source made no click')
      return event.block
    }, onsets, plan)
  } finally {
    await listener.stop()
  }
}
