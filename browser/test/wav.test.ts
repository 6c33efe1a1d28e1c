import { describe, expect, it } from 'vitest'
import { toPcm16, WAV_HEADER_BYTES, wavHeader, wavOffset } from '../src/services/recording/wav.ts'

describe('WAV track writing', () => {
  it('writes the RIFF header of 16-bit PCM at the rate and channels given', () => {
    const header = wavHeader({ sampleRate: 48_000, channels: 2 }, 192_000)
    const view = new DataView(header.buffer)
    const text = (at: number): string => String.fromCharCode(...header.subarray(at, at + 4))
    expect([text(0), text(8), text(12), text(36)]).toEqual(['RIFF', 'WAVE', 'fmt ', 'data'])
    expect([view.getUint32(4, true), view.getUint16(20, true), view.getUint16(22, true), view.getUint32(24, true)]).toEqual([36 + 192_000, 1, 2, 48_000])
    expect([view.getUint32(28, true), view.getUint16(32, true), view.getUint16(34, true), view.getUint32(40, true)]).toEqual([192_000, 4, 16, 192_000])
  })

  it('interleaves planar samples, clips to full scale and rounds', () => {
    const planar = Float32Array.from([0, 0.5, 2, -2, /* right */ -0.5, 1, Number.NaN, -1])
    const view = new DataView(toPcm16(planar, 4, 2).buffer)
    const samples = Array.from({ length: 8 }, (_, i) => view.getInt16(i * 2, true))
    expect(samples).toEqual([0, -16384, 16384, 32767, 32767, 0, -32768, -32768])
    // From a frame on: the first frames are skipped.
    expect(toPcm16(planar, 4, 2, 3).length).toBe(4)
  })

  it('puts a frame where it belongs, so gaps are zero: silence', () => {
    expect(wavOffset({ sampleRate: 48_000, channels: 2 }, 0)).toBe(44)
    expect(wavOffset({ sampleRate: 48_000, channels: 2 }, 48_000)).toBe(44 + 192_000)
    // A late track: 0.5 s of nothing, then 0.5 s of tone, in a 1 s file ffprobe reads whole.
    const format = { sampleRate: 48_000, channels: 1 }
    const file = new Uint8Array(wavOffset(format, 48_000))
    file.set(wavHeader(format, file.length - WAV_HEADER_BYTES))
    file.set(toPcm16(new Float32Array(24_000).fill(0.25), 24_000, 1), wavOffset(format, 24_000))
    expect(new DataView(file.buffer).getInt16(wavOffset(format, 100), true)).toBe(0)
    expect(new DataView(file.buffer).getInt16(wavOffset(format, 24_100), true)).toBe(8192)
  })
})
