/**
 * When the soak's dropouts happened, beside what the machine did then.
 *
 * Every round of readings adds a row: the dropout marks each tap counted in
 * the round, how far each page's AudioContext fell behind the wall clock,
 * NetEq's concealments in the studio, and, from /proc/stat once a second,
 * the cores the machine kept busy and those the hypervisor took (steal: the
 * machine's CPUs had work, and the host ran something else).
 *
 * The summary sorts the rounds by what disturbed them: a page's render
 * stalled (its context lost time: its output skipped callbacks, so every
 * live input there had to drop audio), or the hypervisor took a share of a
 * core in some second, or neither. Marks in the clean rounds are the ones no
 * outside cause explains.
 */
import { RENDER_SKIP_MS } from '../../browser/src/audio/constants.ts'
import type { ToneWatchReport } from '../src/tone-watch.ts'
import { busyCores, machineTimes, stolenCores, type MachineTimes } from './machine.ts'
import { round } from './measure.ts'

const SECOND_MS = 1_000
/** A round in which a page's AudioContext lost this much against the wall clock had a stalled render there: what the app's RenderWatch counts as a skip. */
const STALL_MS = RENDER_SKIP_MS
/** A round with a second in which the hypervisor took this much of a core was disturbed from outside. */
const STEAL_CORES = 0.1

/** Dropout marks in a tone watch's report: its windows with a tone missing (each tone counts), impure or silent. */
export function marks (report: ToneWatchReport | undefined): number {
  if (report === undefined) return 0
  return Object.values(report.tones).reduce((sum, t) => sum + t.windows, 0) + report.impure.windows + report.silent.windows
}

/** The machine's busy and stolen cores, second by second, taken a round at a time. */
export class MachineSeconds {
  private seconds: Array<{ busy: number, steal: number }> = []
  private last?: MachineTimes
  private failed = 0
  private readonly timer: ReturnType<typeof setInterval>

  constructor () {
    this.timer = setInterval(() => {
      machineTimes().then((now) => {
        if (this.last !== undefined) this.seconds.push({ busy: busyCores(this.last, now), steal: stolenCores(this.last, now) })
        this.last = now
      }, () => { this.failed++ })
    }, SECOND_MS)
  }

  /** The seconds since the last take: mean busy and stolen cores, the most stolen in one second, and how many seconds could not be read. */
  take (): { busy: number, steal: number, stealMax: number, unread: number } {
    const seconds = this.seconds.splice(0)
    const mean = (key: 'busy' | 'steal'): number => seconds.length === 0 ? NaN : round(seconds.reduce((s, x) => s + x[key], 0) / seconds.length)
    const unread = this.failed
    this.failed = 0
    return { busy: mean('busy'), steal: mean('steal'), stealMax: seconds.length === 0 ? NaN : Math.max(...seconds.map((s) => s.steal)), unread }
  }

  stop (): void {
    clearInterval(this.timer)
  }
}

/** What one round of readings saw: running counts, and each page's clock. */
export interface RoundReading {
  /** When the round was read, ms since the epoch. */
  at: number
  /** Dropout marks so far, by tap. */
  marks: Record<string, number>
  /** Each page's AudioContext time and the wall-clock time of the same moment, ms. */
  clocks: Record<string, { contextMs: number, wallMs: number }>
  /** NetEq's concealment events so far, every stream the studio receives. */
  concealments: number
}

/**
 * What disturbed a round: a page's render stalled in it; it follows one
 * that stalled (a tone watch reports about once a second, so a stall at a
 * round's end shows in the next); the hypervisor took a share of a core in
 * one of its seconds; or nothing.
 */
type Disturbance = 'stalled' | 'afterStall' | 'stolen' | 'clean'

interface Tally { rounds: number, withMarks: number, marks: Record<string, number> }

export class SoakTimeline {
  private first?: RoundReading
  private previous?: RoundReading
  private previousStalled = false
  /** Seconds /proc/stat could not be read. */
  private unreadSeconds = 0
  private readonly rows: number[][] = []
  private readonly rounds: Record<Disturbance, Tally>

  /** `pages`: whose clocks each reading holds; `taps`: whose marks. */
  constructor (private readonly init: { pages: readonly string[], taps: readonly string[] }) {
    const empty = (): Tally => ({ rounds: 0, withMarks: 0, marks: Object.fromEntries(init.taps.map((t) => [t, 0])) })
    this.rounds = { stalled: empty(), afterStall: empty(), stolen: empty(), clean: empty() }
  }

  /** A round's reading, and the machine's seconds since the last; the first reading only sets the origin. */
  add (reading: RoundReading, machine: ReturnType<MachineSeconds['take']>): void {
    const [first, previous] = [this.first ?? reading, this.previous ?? reading]
    this.first = first
    this.previous = reading
    this.unreadSeconds += machine.unread
    if (previous === reading) return
    const lost = this.init.pages.map((page) => {
      const [now, then] = [reading.clocks[page], previous.clocks[page]]
      return now === undefined || then === undefined ? NaN : round((now.wallMs - then.wallMs) - (now.contextMs - then.contextMs), 1)
    })
    const marks = this.init.taps.map((t) => (reading.marks[t] ?? 0) - (previous.marks[t] ?? 0))
    this.rows.push([round((reading.at - first.at) / SECOND_MS, 0), ...lost, machine.busy, machine.steal, machine.stealMax, reading.concealments - previous.concealments, ...marks])
    const stalled = lost.some((ms) => ms >= STALL_MS)
    const kind: Disturbance = stalled ? 'stalled' : this.previousStalled ? 'afterStall' : machine.stealMax >= STEAL_CORES ? 'stolen' : 'clean'
    this.previousStalled = stalled
    const tally = this.rounds[kind]
    tally.rounds++
    if (marks.some((m) => m > 0)) tally.withMarks++
    for (const [i, t] of this.init.taps.entries()) tally.marks[t] = (tally.marks[t] ?? 0) + (marks[i] ?? 0)
  }

  /** The rounds so far, in one line for progress output. */
  tally (): string {
    const { stalled, afterStall, stolen, clean } = this.rounds
    const cleanMarks = Object.values(clean.marks).reduce((sum, m) => sum + m, 0)
    return `rounds stalled ${stalled.rounds} (+${afterStall.rounds} after), stolen ${stolen.rounds}, clean ${clean.rounds} (marks in clean rounds: ${cleanMarks})`
  }

  summary (): Record<string, unknown> {
    return {
      what: `one row a round: its end (s into the run), ms each page's AudioContext fell behind the wall clock, the machine's busy and stolen cores (mean, and the most stolen in one second), NetEq concealment events in the studio, and each tap's dropout marks (windows with a tone missing, each tone counting, impure or silent). A round is stalled where a page's context lost ${STALL_MS} ms or more, afterStall where the round before stalled (tone watches report once a second), stolen where the hypervisor took ${STEAL_CORES} of a core or more in one of its seconds, clean otherwise`,
      columns: ['s', ...this.init.pages.map((p) => `${p}ContextLostMs`), 'busyCores', 'stolenCores', 'mostStolenInASecond', 'studioConcealments', ...this.init.taps.map((t) => `${t}Marks`)],
      rows: this.rows,
      rounds: this.rounds,
      unreadSeconds: this.unreadSeconds
    }
  }
}
