/**
 * The soak's listener: ffmpeg decoding the mount, its audio watched for
 * dropouts of the show's tones (`ToneWatch`), and the decoded audio's length
 * held against the wall clock. It starts again (after a second) whenever
 * ffmpeg exits, and counts that. Memory stays constant however long it runs.
 */
import { Listener, SAMPLE_RATE } from '../src/program-audio.ts'
import { ToneWatch, type DropoutCount, type ToneWatchReport } from '../src/tone-watch.ts'
import { round, Trend, type TrendSummary } from './measure.ts'

const RESTART_DELAY_MS = 1_000
/** The drift trend gets one sample a second at most. */
const TREND_EVERY_MS = 1_000

export interface SoakListenerReport {
  hears: ToneWatchReport
  /** Decoded audio minus wall-clock time since the listener's first audio, ms: negative when audio came late or went missing. */
  decodedMinusWallMs: TrendSummary
  decodedSeconds: number
  restarts: number
}

export class SoakListener {
  readonly watch: ToneWatch
  private listener: Listener
  private restarts = 0
  private stopped = false
  /** The current listener's first audio, and the samples decoded since. */
  private origin?: number
  private samples = 0
  private decoded = 0
  private lastTrendAt = 0
  private readonly drift = new Trend()
  private restartTimer?: ReturnType<typeof setTimeout>

  constructor (private readonly url: string, tones: Record<string, number>) {
    this.watch = new ToneWatch({ sampleRate: SAMPLE_RATE, tones })
    this.listener = this.spawn()
  }

  /** Decoded minus wall-clock time now, ms (undefined before the first audio). */
  get driftMs (): number | undefined {
    return this.origin === undefined ? undefined : (this.samples * 1000) / SAMPLE_RATE - (Date.now() - this.origin)
  }

  report (): SoakListenerReport {
    return { hears: this.watch.report(), decodedMinusWallMs: this.drift.summary(1), decodedSeconds: round(this.decoded / SAMPLE_RATE, 1), restarts: this.restarts }
  }

  async stop (): Promise<void> {
    this.stopped = true
    clearTimeout(this.restartTimer)
    await this.listener.stop()
  }

  private spawn (): Listener {
    this.origin = undefined
    this.samples = 0
    const listener = new Listener(this.url, { lowDelay: true, keep: false, onPcm: (pcm, at) => { this.heard(pcm, at) } })
    void listener.exited.then(() => {
      if (this.stopped) return
      this.restarts++
      this.restartTimer = setTimeout(() => { if (!this.stopped) this.listener = this.spawn() }, RESTART_DELAY_MS)
    })
    return listener
  }

  private heard (pcm: Int16Array, at: number): void {
    this.origin ??= at
    this.samples += pcm.length
    this.decoded += pcm.length
    this.watch.push(pcm, 1 / 32768)
    if (at - this.lastTrendAt >= TREND_EVERY_MS) {
      this.lastTrendAt = at
      this.drift.add((this.samples * 1000) / SAMPLE_RATE - (at - this.origin), at)
    }
  }
}

/** Several reports of one watch that started again (a caller's return after a reconnect) as one. */
export function mergeReports (reports: ToneWatchReport[]): ToneWatchReport | undefined {
  const add = (a: DropoutCount, b: DropoutCount): DropoutCount => ({ windows: a.windows + b.windows, runs: a.runs + b.runs, longestMs: Math.max(a.longestMs, b.longestMs) })
  return reports.reduce<ToneWatchReport | undefined>((sum, r) => sum === undefined
    ? r
    : {
        ...sum,
        samples: sum.samples + r.samples,
        windows: sum.windows + r.windows,
        tones: Object.fromEntries(Object.entries(sum.tones).map(([name, t]) => [name, { ...t, ...add(t, r.tones[name] ?? { windows: 0, runs: 0, longestMs: 0 }) }])),
        impure: { ...sum.impure, ...add(sum.impure, r.impure) },
        silent: add(sum.silent, r.silent)
      }, undefined)
}
