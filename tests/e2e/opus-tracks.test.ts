/**
 * The recorder's Opus tracks, made in Debian's Chromium (WebCodecs' Opus
 * encoder, our Ogg pages) from a WAV of a known tone in OPFS, and read here by
 * FFmpeg: ffprobe must call it Opus of the right length and channels, and
 * the decoded audio must hold the tone at its level, and a sweep at its
 * place all through. The studio's own reader (which lines caller uploads up
 * with Opus tracks) must give the sweep back to the sample.
 */
import { execFileSync } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { toneAmplitude } from '../src/goertzel.ts'
import { openHarnessPage } from '../src/mixer-page.ts'
import { removeDir, tempDir } from '../src/network.ts'
import type * as Harness from '../src/recording-harness.ts'
import { sweep } from '../src/sweep.ts'

const HARNESS = fileURLToPath(new URL('../src/recording-harness.ts', import.meta.url))
interface PageGlobals { RecordingHarness: typeof Harness }

describe('Opus tracks', () => {
  let browser: Browser
  let page: Page
  let dir: string

  beforeAll(async () => {
    ({ browser, page } = await openHarnessPage(HARNESS, 'RecordingHarness'))
    dir = await tempDir('openstudio-opus-')
  })

  afterAll(async () => {
    await browser?.close()
    await removeDir(dir)
  })

  it.each([1, 2] as const)('turns a %i-channel WAV track into Ogg Opus that FFmpeg reads whole, with the tone at its level', async (channels) => {
    const seconds = 5
    const bytes = await page.evaluate(async ([c, s]) => (globalThis as unknown as PageGlobals).RecordingHarness.opusOfTone(s, 1000, c), [channels, seconds] as const)
    const file = join(dir, `tone-${channels}.opus`)
    await writeFile(file, Uint8Array.from(bytes))
    const probe = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-show_format', '-of', 'json', file], { encoding: 'utf8' })) as { streams: Array<Record<string, string | number>>, format: Record<string, string> }
    expect(probe.streams[0]).toMatchObject({ codec_name: 'opus', channels, sample_rate: '48000' })
    // ffprobe's figure counts the pre-skip (6.5 ms); the decoded length below is exact.
    expect(Math.abs(Number(probe.format.duration) - seconds)).toBeLessThan(0.01)
    const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', '48000', '-'], { maxBuffer: 64 * 1024 * 1024 })
    const samples = Float32Array.from(new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2), (x) => x / 32768)
    // The pre-skip and the end granule trim the encoder's delay and padding: as long as the WAV, to the sample.
    expect(samples.length).toBe(seconds * 48_000)
    const amplitude = toneAmplitude(samples, 48_000, 1000, 48_000, 4 * 48_000)
    expect(20 * Math.log10(amplitude / 0.4)).toBeGreaterThan(-1)
    expect(20 * Math.log10(amplitude / 0.4)).toBeLessThan(1)
  })

  it('reads stretches of an Opus track back to the sample: before its start, inside, and over its end', async () => {
    const seconds = 6
    const rate = 48_000
    const asked: Array<[number, number]> = [[-2400, rate], [rate, 2 * rate], [4.7 * rate, rate], [5.5 * rate, rate]]
    const { bytes, stretches } = await page.evaluate(async ([s, a]) => (globalThis as unknown as PageGlobals).RecordingHarness.opusStretches(s, a), [seconds, asked] as const)
    // FFmpeg finds every part of the sweep where it was: the file keeps the WAV's timeline all through.
    const file = join(dir, 'sweep.opus')
    await writeFile(file, Uint8Array.from(bytes))
    const pcm = execFileSync('ffmpeg', ['-v', 'error', '-i', file, '-f', 's16le', '-ac', '1', '-ar', '48000', '-'], { maxBuffer: 64 * 1024 * 1024 })
    const decoded = Float32Array.from(new Int16Array(pcm.buffer, pcm.byteOffset, pcm.length / 2), (x) => x / 32768)
    expect(decoded.length).toBe(seconds * rate)
    for (const at of [0.5, 2.5, 5.5]) {
      const scores = Array.from({ length: 41 }, (_, k) => correlation(sweep(seconds, at * rate, rate / 4), decoded.subarray(at * rate), k - 20))
      expect(scores.indexOf(Math.max(...scores)) - 20, `FFmpeg at ${at} s`).toBe(0)
    }
    // Fewer samples past the track's end (6 s), none missing before it.
    expect(stretches.map((x) => x.length)).toEqual([rate, 2 * rate, rate, 0.5 * rate])
    for (const [i, [from, frames]] of asked.entries()) {
      const got = Float32Array.from(stretches[i] as number[])
      const want = sweep(seconds, from, frames)
      // The decoded sweep matches the original best at lag 0, closely (Opus at 64 kb/s).
      const scores = Array.from({ length: 41 }, (_, k) => correlation(want, got, k - 20))
      expect(scores.indexOf(Math.max(...scores)) - 20, `stretch ${i}`).toBe(0)
      expect(scores[20], `stretch ${i}`).toBeGreaterThan(0.95)
    }
    // Before the track's start is silence.
    expect(Math.max(...(stretches[0] as number[]).slice(0, 2400).map(Math.abs))).toBe(0)
  })
})

/** Normalized correlation of `a` with `b` moved by `lag` frames (b[i + lag] against a[i]), over their common span. */
function correlation (a: Float32Array, b: Float32Array, lag: number): number {
  let ab = 0
  let aa = 0
  let bb = 0
  for (let i = Math.max(0, -lag); i < a.length && i + lag < b.length; i++) {
    const x = a[i] as number
    const y = b[i + lag] as number
    ab += x * y
    aa += x * x
    bb += y * y
  }
  return aa === 0 || bb === 0 ? 0 : ab / Math.sqrt(aa * bb)
}
