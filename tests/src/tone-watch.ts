/**
 * Watching steady test tones for dropouts, window by window, in bounded
 * memory: the soak benchmark runs one in Node on what a listener decodes and
 * one in an AudioWorklet on what each caller hears (the class is plain
 * JavaScript with no imports, so the probe kit sends its source to the
 * worklet as it is).
 *
 * Each window (20 ms by default) gets every watched tone's amplitude by the
 * Goertzel algorithm through a Hann window, and its purity: the share of the
 * window's power that the watched tones hold. The first windows set each
 * tone's reference level and the reference purity; after them, a tone is
 * missing in a window when it is `dropDb` or more under its reference, and a
 * window is impure when its purity falls `impureDrop` under the reference
 * (a click, a discontinuity, concealment noise). Only counts are kept.
 */

export interface ToneWatchInit {
  sampleRate: number
  /** The tones to watch, by name, in Hz. */
  tones: Record<string, number>
  /** @default 20 */
  windowMs?: number
  /** Windows that set the reference levels before anything is counted. @default 100 (2 s) */
  calibrationWindows?: number
  /** How far under its reference a tone must fall to be missing. @default 20 */
  dropDb?: number
  /** How far under the reference purity (0…1) a window must fall to be impure. @default 0.2 */
  impureDrop?: number
  /** RMS under which a window is digital silence. @default 1e-4 (-80 dBFS) */
  silentRms?: number
}

/** Runs of windows where something was wrong: how many, how many windows in all, and the longest run. */
export interface DropoutCount {
  windows: number
  runs: number
  longestMs: number
}

export interface ToneWatchReport {
  windowMs: number
  /** Samples seen, calibration included. */
  samples: number
  /** Windows counted (after calibration). */
  windows: number
  /** Each tone's reference amplitude (a sine's peak) and where it went missing. */
  tones: Record<string, DropoutCount & { reference: number }>
  /** Windows with less of the watched tones' power than the reference purity allows. */
  impure: DropoutCount & { referencePurity: number }
  /** Windows of digital silence (RMS under `silentRms`). */
  silent: DropoutCount
}

interface Run { windows: number, runs: number, longest: number, current: number }

interface Tone { name: string, omega: number, reference: number, amplitude: number, run: Run }

export class ToneWatch {
  private readonly windowMs: number
  private readonly n: number
  private readonly calibration: number
  private readonly drop: number
  private readonly impureDrop: number
  private readonly silentRms: number
  private readonly tones: Tone[]
  private readonly hann: Float32Array
  private readonly hannSum: number
  private readonly hannSquares: number
  private readonly window: Float32Array
  private readonly impureRun: Run = this.emptyRun()
  private readonly silentRun: Run = this.emptyRun()
  private referencePurity = 0
  private fill = 0
  private seen = 0
  private counted = 0
  private samples = 0

  constructor (init: ToneWatchInit) {
    this.windowMs = init.windowMs ?? 20
    this.n = Math.round(init.sampleRate * this.windowMs / 1000)
    this.calibration = init.calibrationWindows ?? 100
    this.drop = 10 ** (-(init.dropDb ?? 20) / 20)
    this.impureDrop = init.impureDrop ?? 0.2
    this.silentRms = init.silentRms ?? 1e-4
    this.tones = Object.entries(init.tones).map(([name, hz]) => ({ name, omega: 2 * Math.PI * hz / init.sampleRate, reference: 0, amplitude: 0, run: this.emptyRun() }))
    this.hann = new Float32Array(this.n).map((_, i) => 0.5 - 0.5 * Math.cos(2 * Math.PI * i / (this.n - 1)))
    this.hannSum = this.hann.reduce((sum, w) => sum + w, 0)
    this.hannSquares = this.hann.reduce((sum, w) => sum + w * w, 0)
    this.window = new Float32Array(this.n)
  }

  /** Feeds samples (float, or 16-bit integers with `scale` 1/32768). */
  push (samples: Float32Array | Int16Array, scale = 1): void {
    for (let i = 0; i < samples.length; i++) {
      this.window[this.fill++] = (samples[i] ?? 0) * scale
      if (this.fill === this.n) {
        this.analyse()
        this.fill = 0
      }
    }
    this.samples += samples.length
  }

  report (): ToneWatchReport {
    const count = (r: Run): DropoutCount => ({ windows: r.windows, runs: r.runs, longestMs: r.longest * this.windowMs })
    const round = (x: number): number => Math.round(x * 1e4) / 1e4
    const tones: ToneWatchReport['tones'] = {}
    for (const tone of this.tones) tones[tone.name] = { reference: round(tone.reference), ...count(tone.run) }
    return {
      windowMs: this.windowMs,
      samples: this.samples,
      windows: this.counted,
      tones,
      impure: { referencePurity: round(this.referencePurity), ...count(this.impureRun) },
      silent: count(this.silentRun)
    }
  }

  /** Analyses the full window in place, allocating nothing (it may run on an audio render thread). */
  private analyse (): void {
    let raw = 0
    let energy = 0
    for (let i = 0; i < this.n; i++) {
      const x = this.window[i] ?? 0
      const v = x * (this.hann[i] ?? 0)
      raw += x * x
      energy += v * v
      this.window[i] = v
    }
    let tonal = 0
    for (const tone of this.tones) {
      const coeff = 2 * Math.cos(tone.omega)
      let s1 = 0
      let s2 = 0
      for (let i = 0; i < this.n; i++) {
        const s0 = (this.window[i] ?? 0) + coeff * s1 - s2
        s2 = s1
        s1 = s0
      }
      tone.amplitude = 2 * Math.sqrt(Math.max(0, s1 * s1 + s2 * s2 - coeff * s1 * s2)) / this.hannSum
      // A sine of amplitude A holds A²/2 · Σw² of the windowed energy.
      tonal += tone.amplitude * tone.amplitude / 2 * this.hannSquares
    }
    const purity = energy === 0 ? 0 : Math.min(1, tonal / energy)
    if (this.seen < this.calibration) {
      this.seen++
      for (const tone of this.tones) tone.reference += tone.amplitude / this.calibration
      this.referencePurity += purity / this.calibration
      return
    }
    this.counted++
    for (const tone of this.tones) this.mark(tone.run, tone.amplitude < tone.reference * this.drop)
    this.mark(this.impureRun, purity < this.referencePurity - this.impureDrop)
    this.mark(this.silentRun, Math.sqrt(raw / this.n) < this.silentRms)
  }

  private mark (run: Run, bad: boolean): void {
    if (!bad) {
      run.current = 0
      return
    }
    if (run.current === 0) run.runs++
    run.current++
    run.windows++
    run.longest = Math.max(run.longest, run.current)
  }

  private emptyRun (): Run {
    return { windows: 0, runs: 0, longest: 0, current: 0 }
  }
}
