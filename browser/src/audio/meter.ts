/**
 * Meters: an AnalyserNode tap read as peak and RMS in dBFS over its window.
 */
import { LEVEL_FLOOR_DB } from './constants.ts'

/** A meter reading over the last window (METER_WINDOW samples by default). */
export interface Level {
  /** Largest absolute sample, dBFS; LEVEL_FLOOR_DB for silence. */
  peak: number
  /** Root mean square, dBFS (a full-scale sine reads -3 dB); LEVEL_FLOOR_DB for silence. */
  rms: number
}

const toDb = (x: number): number => x > 0 ? Math.max(LEVEL_FLOOR_DB, 20 * Math.log10(x)) : LEVEL_FLOOR_DB

/** Creates a meter tap on `node`'s output `output` (an AnalyserNode needs no output connection to run). */
export function createMeter (context: BaseAudioContext, node: AudioNode, window: number, output = 0): AnalyserNode {
  const analyser = new AnalyserNode(context, { fftSize: window })
  node.connect(analyser, output)
  return analyser
}

/** The analyser's latest window, read into `scratch` (at least fftSize long). */
function readWindow (analyser: AnalyserNode, scratch: Float32Array<ArrayBuffer>): Float32Array<ArrayBuffer> {
  const samples = scratch.subarray(0, analyser.fftSize)
  analyser.getFloatTimeDomainData(samples)
  return samples
}

/** The largest absolute sample of the analyser's latest window, 0…1 (what a LevelMeter shows). */
export function readPeak (analyser: AnalyserNode, scratch: Float32Array<ArrayBuffer>): number {
  let peak = 0
  for (const s of readWindow(analyser, scratch)) peak = Math.max(peak, Math.abs(s))
  return peak
}

/** Measures the analyser's latest window, read into `scratch` (at least fftSize long). */
export function readLevel (analyser: AnalyserNode, scratch: Float32Array<ArrayBuffer>): Level {
  const samples = readWindow(analyser, scratch)
  let peak = 0
  let sum = 0
  for (const s of samples) {
    const a = Math.abs(s)
    if (a > peak) peak = a
    sum += s * s
  }
  return { peak: toDb(peak), rms: toDb(Math.sqrt(sum / samples.length)) }
}
