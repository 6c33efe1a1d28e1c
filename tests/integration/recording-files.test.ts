/**
 * The recorder's WAV tracks as other tools read them: ffprobe (FFmpeg) must
 * take every file the studio writes, late and silent stretches included.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { toPcm16, WAV_HEADER_BYTES, wavHeader, wavOffset } from '../../browser/src/services/recording/wav.ts'

/** What ffprobe reads of a file: its stream's codec, rate, channels and duration. */
function probe (bytes: Uint8Array): { codec: string, rate: number, channels: number, seconds: number } {
  const dir = mkdtempSync(join(tmpdir(), 'openstudio-wav-'))
  try {
    const file = join(dir, 'track.wav')
    writeFileSync(file, bytes)
    const out = JSON.parse(execFileSync('ffprobe', ['-v', 'error', '-show_streams', '-of', 'json', file], { encoding: 'utf8' })) as { streams: Array<Record<string, string | number>> }
    const s = out.streams[0] ?? {}
    return { codec: String(s.codec_name), rate: Number(s.sample_rate), channels: Number(s.channels), seconds: Number(s.duration) }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

describe('WAV tracks read by ffprobe', () => {
  it('writes a file ffprobe reads as 16-bit PCM of the right rate, channels and length', () => {
    for (const channels of [1, 2]) {
      const frames = 48_000
      const planar = new Float32Array(frames * channels).map((_, i) => Math.sin(i / 10) * 0.5)
      const pcm = toPcm16(planar, frames, channels)
      const file = new Uint8Array(WAV_HEADER_BYTES + pcm.length)
      file.set(wavHeader({ sampleRate: 48_000, channels }, pcm.length))
      file.set(pcm, WAV_HEADER_BYTES)
      expect(probe(file)).toEqual({ codec: 'pcm_s16le', rate: 48_000, channels, seconds: 1 })
    }
  })

  it('reads a late track whole: its silence, then its sound', () => {
    const format = { sampleRate: 48_000, channels: 1 }
    const file = new Uint8Array(wavOffset(format, 48_000))
    file.set(wavHeader(format, file.length - WAV_HEADER_BYTES))
    file.set(toPcm16(new Float32Array(24_000).fill(0.25), 24_000, 1), wavOffset(format, 24_000))
    expect(probe(file).seconds).toBe(1)
  })
})
