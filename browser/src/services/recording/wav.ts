/**
 * WAV (RIFF, 16-bit PCM) for the recorder's lossless tracks. A track file is
 * its 44-byte header, then interleaved little-endian samples: the sample of
 * frame f, channel c sits at `WAV_HEADER_BYTES + (f × channels + c) × 2`, so
 * every block is written where its frame belongs and a gap (a caller who
 * joined late, or dropped) stays zero: silence. The header's sizes are set
 * when the track is finished, and again by a recovery after a crash.
 */

/** Bytes before the first sample. */
export const WAV_HEADER_BYTES = 44
/** Bytes per sample: 16-bit PCM. */
export const WAV_SAMPLE_BYTES = 2
/** RIFF sizes are 32-bit: the data of a track stops short of 4 GiB (over 6 hours of stereo at 48 kHz). */
export const WAV_MAX_DATA_BYTES = 0xffff_ffff - (WAV_HEADER_BYTES - 8)

export interface WavFormat {
  sampleRate: number
  channels: number
}

/** The header of a WAV file holding `dataBytes` of samples (capped at WAV_MAX_DATA_BYTES). */
export function wavHeader (format: WavFormat, dataBytes: number): Uint8Array<ArrayBuffer> {
  const data = Math.min(Math.max(0, Math.floor(dataBytes)), WAV_MAX_DATA_BYTES)
  const header = new Uint8Array(WAV_HEADER_BYTES)
  const view = new DataView(header.buffer)
  const ascii = (at: number, text: string): void => { for (let i = 0; i < text.length; i++) header[at + i] = text.charCodeAt(i) }
  const blockAlign = format.channels * WAV_SAMPLE_BYTES
  ascii(0, 'RIFF')
  view.setUint32(4, WAV_HEADER_BYTES - 8 + data, true)
  ascii(8, 'WAVE')
  ascii(12, 'fmt ')
  view.setUint32(16, 16, true)
  view.setUint16(20, 1, true)
  view.setUint16(22, format.channels, true)
  view.setUint32(24, format.sampleRate, true)
  view.setUint32(28, format.sampleRate * blockAlign, true)
  view.setUint16(32, blockAlign, true)
  view.setUint16(34, WAV_SAMPLE_BYTES * 8, true)
  ascii(36, 'data')
  view.setUint32(40, data, true)
  return header
}

/** Where frame `frame` (counted from the track's start) begins in its file. */
export function wavOffset (format: WavFormat, frame: number): number {
  return WAV_HEADER_BYTES + frame * format.channels * WAV_SAMPLE_BYTES
}

/**
 * Planar 32-bit float samples (`channels` planes of `frames`, one after the
 * other) as interleaved 16-bit PCM, from `from` frames in: clipped to full
 * scale, rounded, little-endian.
 */
export function toPcm16 (planar: Float32Array, frames: number, channels: number, from = 0): Uint8Array<ArrayBuffer> {
  const count = Math.max(0, frames - from)
  const out = new Uint8Array(count * channels * WAV_SAMPLE_BYTES)
  // Every browser's machine is little-endian, like WAV: write the samples as they are; a DataView otherwise.
  const samples = LITTLE_ENDIAN ? new Int16Array(out.buffer) : undefined
  const view = new DataView(out.buffer)
  for (let c = 0; c < channels; c++) {
    const plane = c * frames + from
    for (let f = 0; f < count; f++) {
      const x = planar[plane + f] as number
      const clipped = x >= 1 ? 1 : x <= -1 ? -1 : Number.isNaN(x) ? 0 : x
      const value = Math.round(clipped * (clipped < 0 ? 0x8000 : 0x7fff))
      if (samples !== undefined) samples[f * channels + c] = value
      else view.setInt16((f * channels + c) * WAV_SAMPLE_BYTES, value, true)
    }
  }
  return out
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1

/**
 * `frames` 16-bit mono samples of `file` from frame `from`, past `header`
 * bytes, as floats: zeros before its start, fewer at its end.
 */
export async function wavSamples (file: Blob, from: number, frames: number, header = 0): Promise<Float32Array> {
  const start = header + Math.max(0, from) * WAV_SAMPLE_BYTES
  const bytes = new Uint8Array(await file.slice(start, start + (frames - Math.max(0, -from)) * WAV_SAMPLE_BYTES).arrayBuffer())
  const lead = Math.max(0, -from)
  const out = new Float32Array(Math.min(frames, lead + Math.floor(bytes.length / WAV_SAMPLE_BYTES)))
  const view = new DataView(bytes.buffer)
  for (let i = lead; i < out.length; i++) out[i] = view.getInt16((i - lead) * WAV_SAMPLE_BYTES, true) / 32768
  return out
}
