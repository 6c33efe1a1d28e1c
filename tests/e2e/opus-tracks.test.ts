/**
 * The recorder's Opus tracks, made in Debian's Chromium (WebCodecs' Opus
 * encoder, our Ogg pages) from a WAV of a known tone in OPFS, and read here by
 * FFmpeg: ffprobe must call it Opus of the right length and channels, and
 * the decoded audio must hold the tone at its level.
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
})
