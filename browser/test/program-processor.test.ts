/**
 * The program processor on a speech-like programme (four partials under a
 * syllable envelope, with pauses), measured by the BS.1770 meter: quiet and
 * loud programmes come out at the target, the true peak under the ceiling,
 * and the gain does not pump with the pauses.
 */
import { describe, expect, it } from 'vitest'
import { createLoudnessMeter } from '../src/audio/loudness.ts'
import { createProgramProcessor } from '../src/audio/program-processor.ts'

const RATE = 48_000
const CHUNK = 128

/** Speech-like: partials at 180, 420, 950 and 2300 Hz, syllables at 4 Hz, a 400 ms pause every 2 s; peak 1 before scaling. */
function speech (n: number): number {
  const t = n / RATE
  if (t % 2 > 1.6) return 0
  const syllable = Math.max(0, Math.sin(2 * Math.PI * 4 * t)) ** 2
  return syllable * (0.5 * Math.sin(2 * Math.PI * 180 * t) + 0.3 * Math.sin(2 * Math.PI * 420 * t) + 0.15 * Math.sin(2 * Math.PI * 950 * t) + 0.05 * Math.sin(2 * Math.PI * 2300 * t))
}

/** The programme's loudness at unit scale, to scale it to a level. */
function unitLoudness (): number {
  const meter = createLoudnessMeter({ sampleRate: RATE, channels: 2, truePeak: false })
  const block = new Float32Array(RATE)
  for (let s = 0; s < 20; s++) {
    for (let i = 0; i < RATE; i++) block[i] = speech(s * RATE + i)
    meter.push([block, block], RATE)
  }
  return meter.read().integrated
}

interface Run { integrated: number, truePeak: number, gainSpreadDb: number }

/** Runs `seconds` of the programme at `inputLufs` through a processor; measures the output after `settle` seconds. */
function run (inputLufs: number, init: { targetLufs?: number, seconds?: number, settle?: number } = {}): Run {
  const scale = 10 ** ((inputLufs - unitLoudness()) / 20)
  const processor = createProgramProcessor({ sampleRate: RATE, targetLufs: init.targetLufs })
  const meter = createLoudnessMeter({ sampleRate: RATE, channels: 2 })
  const inL = new Float32Array(CHUNK)
  const outL = new Float32Array(CHUNK)
  const outR = new Float32Array(CHUNK)
  const seconds = init.seconds ?? 60
  const settle = init.settle ?? 20
  const gains: number[] = []
  for (let n = 0; n < seconds * RATE; n += CHUNK) {
    for (let i = 0; i < CHUNK; i++) inL[i] = scale * speech(n + i)
    processor.process(inL, inL, outL, outR, CHUNK)
    if (n === settle * RATE - (settle * RATE) % CHUNK) meter.reset()
    meter.push([outL, outR], CHUNK)
    if (n >= settle * RATE && n % (RATE / 10) < CHUNK) gains.push(processor.gainDb)
  }
  const r = meter.read()
  return { integrated: r.integrated, truePeak: r.truePeak, gainSpreadDb: Math.max(...gains) - Math.min(...gains) }
}

describe('program processor', () => {
  it('brings a −30 LUFS and a −8 LUFS programme to −16 LUFS (±1 LU), true peak at most −1 dBTP', () => {
    for (const input of [-30, -8]) {
      const out = run(input)
      expect(Math.abs(out.integrated + 16), `from ${input} LUFS: ${out.integrated}`).toBeLessThanOrEqual(1)
      expect(out.truePeak, `from ${input} LUFS`).toBeLessThanOrEqual(-1)
    }
  })

  it('meets the other targets the producer picks: −23 (EBU R128) and −14 LUFS', () => {
    for (const target of [-23, -14]) {
      const out = run(-20, { targetLufs: target, seconds: 40, settle: 15 })
      expect(Math.abs(out.integrated - target), `target ${target}: ${out.integrated}`).toBeLessThanOrEqual(1)
      expect(out.truePeak).toBeLessThanOrEqual(-1)
    }
  })

  it('does not pump: through the pauses of speech the gain moves less than 1 dB once settled', () => {
    expect(run(-30).gainSpreadDb).toBeLessThan(1)
  })

  it('off, it passes the programme unchanged (64 samples later)', () => {
    const processor = createProgramProcessor({ sampleRate: RATE })
    processor.enabled = false
    const input = Float32Array.from({ length: 256 }, (_, i) => Math.sin(i / 10))
    const outL = new Float32Array(256)
    const outR = new Float32Array(256)
    processor.process(input, input, outL, outR, 256)
    for (let i = 64; i < 256; i++) expect(outL[i]).toBeCloseTo(input[i - 64]!, 6)
  })
})
