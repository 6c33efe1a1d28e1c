/**
 * The console benchmark: what loudness processing, talkback and a playing
 * cart cost the studio's audio thread, beside the same show without them, in
 * the same run.
 *
 * The studio mixer renders in an OfflineAudioContext in Debian's Chromium
 * (the mixer graph tests' page): one host and `CALLERS` callers on air for
 * `SECONDS` of audio; the plain show, then with the program processor on,
 * with the producer talking back to a caller, with a cart bed playing under
 * the voices (through its ducker), and with all three. Offline
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
const ROUNDS = 5

export async function benchConsole (): Promise<Record<string, unknown>> {
  const voices: Voice[] = [{ id: 'host', frequency: 300, amplitude: 0.1 }, ...Array.from({ length: CALLERS }, (_, i) => ({ id: `c${i}`, frequency: 400 + 100 * i, amplitude: 0.05 }))]
  const room: MixParticipant[] = voices.map((v) => ({ id: v.id, kind: v.id === 'host' ? 'host' : 'caller', onAir: true, muted: false }))
  // A bed: a steady tone as loud as a caller, played as a cart that gives way to the voices.
  const bed: Voice = { id: 'bed', frequency: 1500, amplitude: 0.05 }
  const page = await openMixerPage()
  try {
    const variants = {
      plain: {},
      processing: { processing: true },
      talkback: { talkback: true },
      cart: { cart: true },
      all: { processing: true, talkback: true, cart: true }
    } satisfies Record<string, { processing?: boolean, talkback?: boolean, cart?: boolean }>
    type Variant = keyof typeof variants
    const render = async (variant: Variant): Promise<number> => {
      const { processing = false, talkback = false, cart = false } = variants[variant] as { processing?: boolean, talkback?: boolean, cart?: boolean }
      const started = performance.now()
      await page.render({
        voices: cart ? [...voices, bed] : voices,
        duration: SECONDS,
        windows: [],
        mixer: { processing: { enabled: processing } },
        steps: [{
          at: 0,
          add: voices.map((v) => v.id),
          beds: cart ? [bed.id] : [],
          participants: cart ? [...room, { id: bed.id, kind: 'cart', onAir: true, muted: false }] : room,
          talkback: talkback ? [{ from: 'host', to: 'c0' }] : []
        }]
      })
      return (performance.now() - started) / SECONDS
    }
    const names = Object.keys(variants) as Variant[]
    await render('plain')
    const times = Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<Variant, number[]>
    for (let i = 0; i < ROUNDS; i++) for (const n of names) times[n].push(await render(n))
    const ms = Object.fromEntries(names.map((n) => [n, distribution(times[n])])) as Record<Variant, ReturnType<typeof distribution>>
    const adds = (n: Variant): number => round(ms[n].p50 - ms.plain.p50)
    return {
      what: `render time per second of audio, ms (= thousandths of one thread's core): the studio mixer in an OfflineAudioContext in Chromium, host and ${CALLERS} callers on air (mix-minus buses included), ${SECONDS} s per render, ${ROUNDS} rounds of each variant, interleaved`,
      plain: ms.plain,
      processingOn: ms.processing,
      talkback: ms.talkback,
      cartBedUnderVoices: ms.cart,
      allThree: ms.all,
      addsMsPerSecond: { processing: adds('processing'), talkback: adds('talkback'), cart: adds('cart'), all: adds('all') },
      ratio: { processing: round(ms.processing.p50 / ms.plain.p50), talkback: round(ms.talkback.p50 / ms.plain.p50), cart: round(ms.cart.p50 / ms.plain.p50), all: round(ms.all.p50 / ms.plain.p50) },
      meterAloneMsPerSecond: meterCost()
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
