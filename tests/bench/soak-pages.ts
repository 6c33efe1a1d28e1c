/**
 * The soak's readings inside the pages: tone watches on what the studio
 * mixes and on what each caller hears (AudioWorklets of the probe kit,
 * counting as they go), state changes counted in each page, and memory (the
 * page's JS heap by CDP, its browser's processes' RSS from /proc), the
 * browsers' CPU, and the studio's program clocks.
 */
import type { Browser, CDPSession, Page } from 'playwright-core'
import type { ToneWatchReport } from '../src/tone-watch.ts'
import { processRssBytes } from './machine.ts'
import { round, Trend, type TrendSummary } from './measure.ts'

/** What a soak page counts for itself. */
interface SoakCounts {
  /** Entries into each state: the caller's call phases, or the studio's broadcast states. */
  states: Record<string, number>
  last?: string
  /** Studio: times a caller's call dropped (connected → not). */
  callerDrops: number
  /** Studio: the relay's Icecast reconnects, as the broadcast status last said. */
  icecastReconnects?: number
  /** Caller: return watches started (one more after each reconnect). */
  segments: number
  watched?: AudioNode
  /** Counts an entry into `state`, unless the page is in it already. */
  count: (state: string) => void
}

declare global {
  interface Window {
    openstudioSoak?: SoakCounts
  }
}

/** Runs in a page: sets up its counts. */
function installCounts (): SoakCounts {
  const counts: SoakCounts = {
    states: {},
    callerDrops: 0,
    segments: 0,
    count: (state) => {
      if (state === counts.last) return
      counts.states[state] = (counts.states[state] ?? 0) + 1
      counts.last = state
    }
  }
  window.openstudioSoak = counts
  return counts
}

/** The studio: watches the program's tones and counts broadcast states and callers' drops. */
export async function watchStudio (page: Page, tones: Record<string, number>): Promise<void> {
  await page.evaluate(installCounts)
  await page.evaluate(async (tones) => {
    const counts = window.openstudioSoak
    const studio = window.openstudioDiagnostics?.studio
    const program = window.openstudioDiagnostics?.programAnalyser
    const broadcast = studio?.broadcast
    if (counts === undefined || studio === undefined || program === undefined || broadcast === undefined) throw new Error('the studio is not live')
    counts.count(broadcast.current.state)
    broadcast.addEventListener('status:change', (e) => {
      counts.count(e.detail.state)
      counts.icecastReconnects = e.detail.icecast?.reconnects
    })
    const connected = new Map(studio.callers.map((c) => [c.id, c.connected]))
    studio.addEventListener('callers:change', (e) => {
      for (const c of e.detail) {
        if (connected.get(c.id) === true && !c.connected) counts.callerDrops++
        connected.set(c.id, c.connected)
      }
    })
    await window.openstudioProbes?.watchTones('program', program, { tones })
  }, tones)
}

/** A caller: counts call phases, and watches what it hears (again on a new return after a reconnect). */
export async function watchCaller (page: Page, tones: Record<string, number>): Promise<void> {
  await page.evaluate(installCounts)
  await page.evaluate(() => {
    const counts = window.openstudioSoak
    const caller = window.openstudioDiagnostics?.caller
    if (counts === undefined || caller === undefined) throw new Error('no call in the page')
    counts.count(caller.status.phase)
    caller.addEventListener('status:change', (e) => { counts.count(e.detail.phase) })
  })
  await rewatchReturn(page, tones)
}

/** Starts a watch on the caller's return when it is new (the first, or one after a reconnect). */
export async function rewatchReturn (page: Page, tones: Record<string, number>): Promise<void> {
  await page.evaluate(async (tones) => {
    const counts = window.openstudioSoak
    const analyser = window.openstudioDiagnostics?.returnAnalyser
    if (counts === undefined || analyser === undefined || analyser === counts.watched) return
    counts.watched = analyser
    counts.segments++
    await window.openstudioProbes?.watchTones(`return-${counts.segments}`, analyser, { tones })
  }, tones)
}

/** The page's counts and its tone watches' latest reports. */
export async function pageCounts (page: Page): Promise<{ counts: Pick<SoakCounts, 'states' | 'callerDrops' | 'icecastReconnects' | 'segments'>, tones: Record<string, ToneWatchReport> }> {
  return page.evaluate(() => {
    const { states = {}, callerDrops = 0, icecastReconnects, segments = 0 } = window.openstudioSoak ?? {}
    return { counts: { states, callerDrops, icecastReconnects, segments }, tones: { ...window.openstudioProbes?.tones } }
  })
}

/** NetEq's running counts over every audio stream a page receives (its live peer connections). */
export interface ReceiveCounters {
  samples: number
  concealedSamples: number
  silentConcealedSamples: number
  concealmentEvents: number
  insertedSamplesForDeceleration: number
  removedSamplesForAcceleration: number
  /** Seconds, summed over every sample played out. */
  jitterBufferDelay: number
  jitterBufferEmittedCount: number
}

const RECEIVE_COUNTERS: Array<keyof ReceiveCounters> = ['concealedSamples', 'silentConcealedSamples', 'concealmentEvents', 'insertedSamplesForDeceleration', 'removedSamplesForAcceleration', 'jitterBufferDelay', 'jitterBufferEmittedCount']

export async function receiveCounters (page: Page): Promise<ReceiveCounters> {
  return page.evaluate(async (keys) => {
    const sum: Record<string, number> = { samples: 0, ...Object.fromEntries(keys.map((k) => [k, 0])) }
    for (const pc of window.openstudioProbes?.peers ?? []) {
      if (pc.connectionState === 'closed') continue
      ;(await pc.getStats()).forEach((s: Record<string, unknown>) => {
        if (s.type !== 'inbound-rtp' || s.kind !== 'audio') return
        sum.samples = (sum.samples ?? 0) + Number(s.totalSamplesReceived ?? 0)
        for (const k of keys) sum[k] = (sum[k] ?? 0) + Number(s[k] ?? 0)
      })
    }
    return sum as unknown as ReceiveCounters
  }, RECEIVE_COUNTERS)
}

/** What a page's receivers did between two readings: how much NetEq concealed or stretched (ms of audio at 48 kHz), and its mean buffer. */
export function receiveReport (before: ReceiveCounters, after: ReceiveCounters): Record<string, number> {
  const ms = (key: keyof ReceiveCounters): number => round((after[key] - before[key]) / 48, 1)
  const emitted = after.jitterBufferEmittedCount - before.jitterBufferEmittedCount
  return {
    receivedMs: ms('samples'),
    concealmentEvents: after.concealmentEvents - before.concealmentEvents,
    concealedMs: ms('concealedSamples'),
    silentConcealedMs: ms('silentConcealedSamples'),
    stretchedMs: ms('insertedSamplesForDeceleration'),
    squeezedMs: ms('removedSamplesForAcceleration'),
    meanJitterBufferMs: emitted > 0 ? round((after.jitterBufferDelay - before.jitterBufferDelay) / emitted * 1000, 1) : NaN
  }
}

/** Where the studio's program stands, ms: its AudioContext's time, the audio handed to the encoder, and what waits to be sent. */
export interface ProgramClocks {
  wall: number
  context: number
  encoded: number
  /** Encoded here and not yet sent to the relay. */
  queued: number
  /** At the relay, not yet taken by Icecast (as the relay last reported). */
  relayBacklog: number
}

export async function programClocks (page: Page): Promise<ProgramClocks> {
  return page.evaluate(() => {
    const studio = window.openstudioDiagnostics?.studio
    const status = studio?.broadcast?.current
    return {
      wall: Date.now(),
      context: (studio?.context.currentTime ?? NaN) * 1000,
      encoded: (window.openstudioProbes?.encoded.frames ?? NaN) / 48,
      queued: status?.queuedMs ?? NaN,
      relayBacklog: status?.icecast?.backlogMs ?? NaN
    }
  })
}

/**
 * A page's AudioContext time (the studio's, or a caller's that plays its
 * return) and the wall-clock time of the same moment, ms, from the context's
 * output timestamp: exact to the render quantum.
 */
export async function contextClock (page: Page): Promise<{ contextMs: number, wallMs: number }> {
  return page.evaluate(() => {
    const diagnostics = window.openstudioDiagnostics
    const stamp = (diagnostics?.studio?.context ?? diagnostics?.returnAnalyser?.context as AudioContext | undefined)?.getOutputTimestamp()
    return { contextMs: (stamp?.contextTime ?? NaN) * 1000, wallMs: performance.timeOrigin + (stamp?.performanceTime ?? NaN) }
  })
}

/** The studio's program clocks over the run, from the first reading on. */
export class ProgramTrends {
  private origin?: ProgramClocks
  /** The latest reading, from the first: context minus wall, encoded minus context, queued here. */
  latest = { contextMinusWall: 0, encodedMinusContext: 0, queued: 0 }
  private readonly contextMinusWall = new Trend()
  private readonly encodedMinusContext = new Trend()
  private readonly queued = new Trend()
  private readonly relayBacklog = new Trend()

  add (c: ProgramClocks): void {
    const o = this.origin ?? c
    this.origin = o
    this.latest = { contextMinusWall: c.context - o.context - (c.wall - o.wall), encodedMinusContext: c.encoded - o.encoded - (c.context - o.context), queued: c.queued }
    this.contextMinusWall.add(this.latest.contextMinusWall, c.wall)
    this.encodedMinusContext.add(this.latest.encodedMinusContext, c.wall)
    this.queued.add(c.queued, c.wall)
    this.relayBacklog.add(c.relayBacklog, c.wall)
  }

  summary (): Record<string, TrendSummary | string> {
    return {
      what: 'ms, from the first reading: the studio AudioContext\'s time minus wall-clock time (negative: the program renders slower than real time); audio handed to the encoder minus the context\'s time (negative: blocks the tap made and the encoder never got, i.e. dropped for a full encoder queue, or waiting); audio encoded and not yet sent; audio at the relay not yet taken by Icecast',
      contextMinusWall: this.contextMinusWall.summary(1),
      encodedMinusContext: this.encodedMinusContext.summary(1),
      queuedInStudio: this.queued.summary(1),
      relayBacklog: this.relayBacklog.summary(1)
    }
  }
}

/** Memory and CPU probes of one page and its browser. */
export class PageMemory {
  private constructor (private readonly page: CDPSession, private readonly browser: CDPSession) {}

  static async open (page: Page, browser: Browser): Promise<PageMemory> {
    return new PageMemory(await page.context().newCDPSession(page), await browser.newBrowserCDPSession())
  }

  /** The page's used JS heap, in bytes (V8's count: no metrics domain left running in the page). */
  async jsHeap (): Promise<number> {
    const { usedSize } = await this.page.send('Runtime.getHeapUsage')
    return usedSize
  }

  /** CPU seconds every process of the browser has spent. */
  async browserCpu (): Promise<number> {
    const { processInfo } = await this.browser.send('SystemInfo.getProcessInfo')
    return processInfo.reduce((sum, p) => sum + p.cpuTime, 0)
  }

  /** RSS of every process of the browser (its only page's renderer among them), in bytes; shared pages count in each. */
  async browserRss (): Promise<number> {
    const { processInfo } = await this.browser.send('SystemInfo.getProcessInfo')
    // A process that ended since the listing holds nothing.
    const rss = await Promise.all(processInfo.map(async ({ id }) => processRssBytes(id).catch(() => 0)))
    return rss.reduce((sum, r) => sum + r, 0)
  }
}
