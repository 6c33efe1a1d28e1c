/** Small timing helpers for the benchmarks. Benchmarks print figures; they never pass or fail. */
import { performance } from 'node:perf_hooks'

export interface Throughput {
  opsPerSec: number
  usPerOp: number
}

/** Microseconds per call of `fn`, over a slice of about `ms`. */
function slice (fn: () => unknown, ms: number): number {
  let runs = 0
  const start = performance.now()
  let now = start
  while (now - start < ms) {
    for (let i = 0; i < 8; i++) fn()
    runs += 8
    now = performance.now()
  }
  return ((now - start) * 1000) / runs
}

/**
 * Throughput of several functions measured in interleaved slices, so that
 * load from elsewhere on the machine hits them alike. Reports the median slice.
 */
export function throughputs<K extends string> (fns: Record<K, () => unknown>, init: { rounds?: number, sliceMs?: number } = {}): Record<K, Throughput> {
  const rounds = init.rounds ?? 9
  const sliceMs = init.sliceMs ?? 150
  const names = Object.keys(fns) as K[]
  const samples = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<K, number[]>
  for (const n of names) slice(fns[n], sliceMs / 2)
  for (let r = 0; r < rounds; r++) for (const n of names) samples[n].push(slice(fns[n], sliceMs))
  return Object.fromEntries(names.map((n) => {
    const usPerOp = median(samples[n])
    return [n, { opsPerSec: Math.round(1e6 / usPerOp), usPerOp: round(usPerOp) }]
  })) as Record<K, Throughput>
}

export interface Distribution {
  n: number
  p50: number
  p95: number
  max: number
}

/** Percentiles of a list of samples, in their unit. */
export function distribution (samples: readonly number[]): Distribution {
  const sorted = [...samples].sort((a, b) => a - b)
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN
  return { n: sorted.length, p50: round(at(0.5)), p95: round(at(0.95)), max: round(sorted.at(-1) ?? NaN) }
}

export function median (xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)] ?? NaN
}

export function round (x: number, digits = 3): number {
  const f = 10 ** digits
  return Math.round(x * f) / f
}

export interface TrendSummary {
  n: number
  start: number
  end: number
  min: number
  max: number
  /** Least-squares slope, in the samples' unit per minute. */
  perMinute: number
}

/**
 * A quantity sampled over a long run, in constant memory: first and last
 * values, extremes, and the least-squares slope against time.
 */
export class Trend {
  private n = 0
  private t0 = 0
  private first = NaN
  private last = NaN
  private min = Infinity
  private max = -Infinity
  private sx = 0
  private sy = 0
  private sxx = 0
  private sxy = 0

  /** A sample `y` taken at `at` (ms since the epoch). */
  add (y: number, at = Date.now()): void {
    if (!Number.isFinite(y)) return
    if (this.n === 0) {
      this.t0 = at
      this.first = y
    }
    const x = (at - this.t0) / 60_000
    this.n++
    this.last = y
    this.min = Math.min(this.min, y)
    this.max = Math.max(this.max, y)
    this.sx += x
    this.sy += y
    this.sxx += x * x
    this.sxy += x * y
  }

  summary (digits = 3): TrendSummary {
    const d = this.n * this.sxx - this.sx * this.sx
    const slope = this.n < 2 || d === 0 ? NaN : (this.n * this.sxy - this.sx * this.sy) / d
    return { n: this.n, start: round(this.first, digits), end: round(this.last, digits), min: round(this.min, digits), max: round(this.max, digits), perMinute: round(slope, digits) }
  }
}
