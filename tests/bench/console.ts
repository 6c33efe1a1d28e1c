/**
 * The console benchmark: what loudness processing costs the studio's audio
 * thread, beside the same show without it, in the same run.
 *
 * The studio mixer renders in an OfflineAudioContext in Debian's Chromium
 * (the mixer graph tests' page): one host and `CALLERS` callers on air for
 * `SECONDS` of audio, with the program processor off, then on. Offline
 * rendering runs as fast as the CPU allows, so render time per second of
 * audio is the graph's cost in cores of one thread. The loudness meter runs
 * in both (the studio always meters). The meter alone is timed in this
 * process over the same length of stereo audio.
 */
import { performance } from 'node:perf_hooks'
import type { MixParticipant } from '@openstudio/protocol'
import { createLoudnessMeter } from '../../browser/src/audio/loudness.ts'
import type { Voice } from '../src/mixer-harness.ts'
import { openMixerPage } from '../src/mixer-page.ts'
import { distribution, round } from './measure.ts'

const SECONDS = 30
const CALLERS = 5
const ROUNDS = 3

export async function benchConsole (): Promise<Record<string, unknown>> {
  const voices: Voice[] = [{ id: 'host', frequency: 300, amplitude: 0.1 }, ...Array.from({ length: CALLERS }, (_, i) => ({ id: `c${i}`, frequency: 400 + 100 * i, amplitude: 0.05 }))]
  const room: MixParticipant[] = voices.map((v) => ({ id: v.id, kind: v.id === 'host' ? 'host' : 'caller', onAir: true, muted: false }))
  const page = await openMixerPage()
  try {
    const render = async (enabled: boolean): Promise<number> => {
      const started = performance.now()
      await page.render({
        voices, duration: SECONDS, windows: [],
        mixer: { processing: { enabled } },
        steps: [{ at: 0, add: voices.map((v) => v.id), participants: room }]
      })
      return (performance.now() - started) / SECONDS
    }
    await render(false)
    const off: number[] = []
    const on: number[] = []
    for (let i = 0; i < ROUNDS; i++) {
      off.push(await render(false))
      on.push(await render(true))
    }
    const offMs = distribution(off)
    const onMs = distribution(on)
    return {
      what: `render time per second of audio, ms (= thousandths of one thread's core): the studio mixer in an OfflineAudioContext in Chromium, host and ${CALLERS} callers on air (mix-minus buses included), ${SECONDS} s per render, ${ROUNDS} rounds each, alternating`,
      processingOff: offMs,
      processingOn: onMs,
      processingAddsMsPerSecond: round(onMs.p50 - offMs.p50),
      ratio: round(onMs.p50 / offMs.p50),
      meterAloneMsPerSecond: meterCost(),
      notMeasuredHere: 'talkback and carts (not built yet)'
    }
  } finally {
    await page.stop()
  }
}

/** The loudness meter alone, in this process (V8, as in the worklet): ms per second of stereo audio. */
function meterCost (): number {
  const rate = 48_000
  const meter = createLoudnessMeter({ sampleRate: rate, channels: 2 })
  const block = Float32Array.from({ length: 128 }, (_, i) => 0.1 * Math.sin(i / 7))
  const started = performance.now()
  for (let n = 0; n < SECONDS * rate; n += 128) meter.push([block, block], 128)
  return round((performance.now() - started) / SECONDS)
}
