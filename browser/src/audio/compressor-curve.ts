/**
 * The program limiter: a DynamicsCompressorNode with its automatic makeup
 * gain cancelled, from the node's static curve as Chromium, WebKit and
 * Firefox implement it (the shared DynamicsCompressorKernel).
 *
 * The node multiplies its output by (1 / curve(0 dBFS)) ^ 0.6. A mixer
 * wants a limiter that is unity gain below its threshold, so the engine
 * follows it with the inverse of that gain. The e2e graph test checks the
 * result against real Chromium.
 */
import type { CompressorSettings } from './constants.ts'

const dbToLinear = (db: number): number => 10 ** (db / 20)
const linearToDb = (x: number): number => 20 * Math.log10(x)

/** Exponent the kernel raises the full-range makeup gain to ("perceptual tuning"). */
const MAKEUP_EXPONENT = 0.6
/** The kernel's search for the knee constant: bounds, start and iterations. */
const KNEE_SEARCH = { min: 0.1, max: 10_000, start: 5, iterations: 15 } as const

/** The knee: linear up to the threshold, then an exponential approach matched in slope. */
function kneeCurve (x: number, k: number, linearThreshold: number): number {
  if (x < linearThreshold) return x
  return linearThreshold + (1 - Math.exp(-k * (x - linearThreshold))) / k
}

/** The knee constant whose slope (in dB/dB) at threshold + knee is 1 / ratio, by the kernel's geometric bisection. */
function kneeConstant ({ threshold, knee, ratio }: CompressorSettings): number {
  const linearThreshold = dbToLinear(threshold)
  const x = dbToLinear(threshold + knee)
  const slopeAt = (k: number): number => {
    if (x < linearThreshold) return 1
    const x2 = x * 1.001
    const y = linearToDb(kneeCurve(x, k, linearThreshold))
    const y2 = linearToDb(kneeCurve(x2, k, linearThreshold))
    return (y2 - y) / (linearToDb(x2) - linearToDb(x))
  }
  let min: number = KNEE_SEARCH.min
  let max: number = KNEE_SEARCH.max
  let k: number = KNEE_SEARCH.start
  for (let i = 0; i < KNEE_SEARCH.iterations; i++) {
    if (slopeAt(k) < 1 / ratio) max = k
    else min = k
    k = Math.sqrt(min * max)
  }
  return k
}

/** Output level (dBFS) of the static curve for a full-scale (0 dBFS) input. */
function fullRangeDb (settings: CompressorSettings): number {
  const { threshold, knee, ratio } = settings
  const k = kneeConstant(settings)
  const linearThreshold = dbToLinear(threshold)
  const kneeThresholdDb = threshold + knee
  if (kneeThresholdDb > 0) return linearToDb(kneeCurve(1, k, linearThreshold))
  const yKneeDb = linearToDb(kneeCurve(dbToLinear(kneeThresholdDb), k, linearThreshold))
  return yKneeDb + (0 - kneeThresholdDb) / ratio
}

/** The makeup gain, in dB, a DynamicsCompressorNode with these settings applies to everything it outputs. */
export function compressorMakeupDb (settings: CompressorSettings): number {
  return -MAKEUP_EXPONENT * fullRangeDb(settings)
}

/** Builds a DynamicsCompressorNode and the gain that cancels its automatic makeup. */
export function createCompressor (context: BaseAudioContext, settings: CompressorSettings): { compressor: DynamicsCompressorNode, trim: GainNode } {
  const compressor = new DynamicsCompressorNode(context, settings)
  const trim = new GainNode(context, { gain: 10 ** (-compressorMakeupDb(settings) / 20) })
  compressor.connect(trim)
  return { compressor, trim }
}
