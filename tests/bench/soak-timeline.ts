/**
 * When the soak's dropouts happened, beside what the machine did then.
 *
 * Every round of readings adds a row: the dropout marks each tap counted in
 * the round, how far the studio's AudioContext fell behind the wall clock,
 * NetEq's concealments in the studio, and, from /proc/stat once a second,
 * the cores the machine kept busy and those the hypervisor took (steal: the
 * machine's CPUs had work, and the host ran something else).
 *
 * The summary sorts the rounds by what disturbed them: the studio's render
 * stalled (its context lost time: its output skipped callbacks, so every
 * live input had to drop audio), or the hypervisor took a share of a core in
 * some second, or neither. Marks in the clean rounds are the ones no outside
 * cause explains.
 */
import type { ToneWatchReport } from '../src/tone-watch.ts'
import { busyCores, machineTimes, stolenCores, type MachineTimes } from './machine.ts'
import { round } from './measure.ts'

const SECOND_MS = 1_000
/** A round in which the studio's AudioContext lost this much against the wall clock had a stalled render. */
export const STALL_MS = 5
/** A round with a second in which the hypervisor took this much of a core was disturbed from outside. */
export const STEAL_CORES = 0.1

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

  /** The seconds since the last take: mean busy and stolen cores, and the most stolen in one second. */
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

/** What one round of readings saw: running counts, and the studio's clock. */
export interface RoundReading {
  /** Dropout marks so far, by tap. */
  marks: Record<string, number>
  /** The studio's AudioContext time and the wall-clock time of the same moment, ms. */
  contextMs: number
  wallMs: number
  /** NetEq's concealment events so far, every stream the studio receives. */
  concealments: number
}

type Disturbance = 'stalled' | 'stolen' | 'clean'

const COLUMNS = ['s', 'contextLostMs', 'busyCores', 'stolenCores', 'mostStolenInASecond', 'studioConcealments'] as const

export class SoakTimeline {
  private first?: RoundReading
  private previous?: RoundReading
  private readonly rows: number[][] = []
  private readonly rounds: Record<Disturbance, { rounds: number, withMarks: number, marks: Record<string, number> }>

  constructor (private readonly taps: readonly string[]) {
    const empty = (): { rounds: number, withMarks: number, marks: Record<string, number> } => ({ rounds: 0, withMarks: 0, marks: Object.fromEntries(taps.map((t) => [t, 0])) })
    this.rounds = { stalled: empty(), stolen: empty(), clean: empty() }
  }

  /** A round's reading, and the machine's seconds since the last; the first reading only sets the origin. */
  add (reading: RoundReading, machine: ReturnType<MachineSeconds['take']>): void {
    const [first, previous] = [this.first ?? reading, this.previous ?? reading]
    this.first = first
    this.previous = reading
    if (previous === reading) return
    const lost = round((reading.wallMs - previous.wallMs) - (reading.contextMs - previous.contextMs), 1)
    const marks = this.taps.map((t) => (reading.marks[t] ?? 0) - (previous.marks[t] ?? 0))
    this.rows.push([
      round((reading.wallMs - first.wallMs) / SECOND_MS, 0), lost, machine.busy, machine.steal, machine.stealMax,
      reading.concealments - previous.concealments, ...marks
    ])
    const kind: Disturbance = lost >= STALL_MS ? 'stalled' : machine.stealMax >= STEAL_CORES ? 'stolen' : 'clean'
    const sum = this.rounds[kind]
    sum.rounds++
    if (marks.some((m) => m > 0)) sum.withMarks++
    for (const [i, t] of this.taps.entries()) sum.marks[t] = (sum.marks[t] ?? 0) + (marks[i] ?? 0)
  }

  /** The rounds so far, in one line for progress output. */
  tally (): string {
    const { stalled, stolen, clean } = this.rounds
    const cleanMarks = Object.values(clean.marks).reduce((sum, m) => sum + m, 0)
    return `rounds stalled ${stalled.rounds}, stolen ${stolen.rounds}, clean ${clean.rounds} (marks in clean rounds: ${cleanMarks})`
  }

  summary (): Record<string, unknown> {
    return {
      what: `one row a round: its end (s into the run), ms the studio's AudioContext fell behind the wall clock, the machine's busy and stolen cores (mean, and the most stolen in one second), NetEq concealment events in the studio, and each tap's dropout marks (windows with a tone missing, each tone counting, impure or silent). Rounds are stalled where the studio's context lost ${STALL_MS} ms or more, stolen (if not stalled) where the hypervisor took ${STEAL_CORES} of a core or more in a second, clean otherwise`,
      columns: [...COLUMNS, ...this.taps.map((t) => `${t}Marks`)],
      rows: this.rows,
      rounds: this.rounds
    }
  }
}
