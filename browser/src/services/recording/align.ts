/**
 * Lining up a caller's own recording (the double-ender) with the track the
 * studio heard of the same voice. The timestamps exchanged in signalling
 * give a coarse place (within tens of ms: clocks, jitter buffers and capture
 * latencies all blur it); the audio itself gives the exact one. Pure: it
 * works on samples handed to it.
 *
 * 1. Envelopes (mean absolute level per ms, smoothed over 10 ms so that a
 *    voice's pitch does not ripple them) of the local excerpt and of the
 *    studio's around the coarse place, compared at every lag within the
 *    search radius by normalized cross-correlation: the lag of the best
 *    match, to the ms.
 * 2. The samples themselves around that lag, within ±2 ms: the lag to the
 *    sample.
 *
 * When the envelopes do not single out a lag (a steady tone, silence), the
 * coarse place stands.
 */

export interface AlignInit {
  sampleRate: number
  /** How far from the coarse place to look, in frames. */
  radius: number
}

export interface Alignment {
  /** Frames to add to the coarse offset. */
  shift: number
  /** How much better the best envelope match is than a typical one (0 when the coarse place stood). */
  confidence: number
}

/** Mean absolute level of each `bin` frames. */
export function envelope (samples: ArrayLike<number>, bin: number): Float32Array {
  const out = new Float32Array(Math.floor(samples.length / bin))
  for (let b = 0; b < out.length; b++) {
    let sum = 0
    for (let i = b * bin; i < (b + 1) * bin; i++) sum += Math.abs(samples[i] as number)
    out[b] = sum / bin
  }
  return out
}

/**
 * The envelope's average over the last `width` values: a voice's pitch
 * period (2.5–10 ms) is longer than one bin, so per-ms levels ripple with it,
 * and the ripple, not the words, would pick the lag.
 */
function smooth (e: Float32Array, width: number): Float32Array {
  const out = new Float32Array(e.length)
  let sum = 0
  for (let i = 0; i < e.length; i++) {
    sum += e[i] as number
    if (i >= width) sum -= e[i - width] as number
    out[i] = sum / Math.min(i + 1, width)
  }
  return out
}

/** Envelope bins the smoothing spans (10 ms). */
const SMOOTH_BINS = 10
/** How far the sample search looks around the envelope's lag, in bins (ms). */
const FINE_BINS = 2

/** Under this (the envelope's standard deviation over its mean), a recording is too steady to place by its sound. */
const MIN_VARIATION = 0.25

function variation (e: Float32Array): number {
  let mean = 0
  for (const x of e) mean += x
  mean /= e.length
  let sq = 0
  for (const x of e) sq += (x - mean) ** 2
  return mean === 0 ? 0 : Math.sqrt(sq / e.length) / mean
}

/** Normalized cross-correlation of `a` with `b` from `at` (same length as `a`). */
function ncc (a: ArrayLike<number>, b: ArrayLike<number>, at: number): number {
  let ab = 0
  let aa = 0
  let bb = 0
  let ma = 0
  let mb = 0
  const n = a.length
  for (let i = 0; i < n; i++) {
    ma += a[i] as number
    mb += b[at + i] as number
  }
  ma /= n
  mb /= n
  for (let i = 0; i < n; i++) {
    const x = (a[i] as number) - ma
    const y = (b[at + i] as number) - mb
    ab += x * y
    aa += x * x
    bb += y * y
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb)
}

/**
 * Where `local` sits in `studio`, which holds the same voice from `radius`
 * frames before the coarse place of `local`'s first frame to `radius` frames
 * after its last: `studio[radius + shift + i] ≈ local[i]`.
 */
export function refineAlignment (studio: ArrayLike<number>, local: ArrayLike<number>, init: AlignInit): Alignment {
  const bin = Math.max(1, Math.round(init.sampleRate / 1000))
  const le = smooth(envelope(local, bin), SMOOTH_BINS)
  const se = smooth(envelope(studio, bin), SMOOTH_BINS)
  const lags = Math.min(se.length - le.length, Math.floor((2 * init.radius) / bin))
  if (le.length < 100 || lags <= 0 || variation(le) < MIN_VARIATION) return { shift: 0, confidence: 0 }
  const scores: number[] = []
  for (let k = 0; k <= lags; k++) scores.push(ncc(le, se, k))
  let best = 0
  for (let k = 1; k < scores.length; k++) if ((scores[k] as number) > (scores[best] as number)) best = k
  const sorted = [...scores].sort((x, y) => x - y)
  const confidence = (scores[best] as number) - (sorted[Math.floor(sorted.length / 2)] as number)
  if (confidence < 0.2) return { shift: 0, confidence: 0 }
  // To the sample: ±2 ms around the envelope's lag, on the first second of the local excerpt.
  const coarse = best * bin
  const n = Math.min(local.length, init.sampleRate)
  const head = Array.from({ length: n }, (_, i) => local[i] as number)
  let fine = coarse
  let fineScore = -Infinity
  for (let at = Math.max(0, coarse - FINE_BINS * bin); at <= Math.min(studio.length - n, coarse + FINE_BINS * bin); at++) {
    const score = ncc(head, studio, at)
    if (score > fineScore) {
      fineScore = score
      fine = at
    }
  }
  return { shift: fine - init.radius, confidence }
}
