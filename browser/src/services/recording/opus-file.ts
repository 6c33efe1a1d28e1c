/**
 * Opus in Ogg for recordings the producer wants small: a finished WAV track
 * is transcoded in the page with WebCodecs' Opus encoder (RFC 7845 framing:
 * OpusHead, OpusTags, then about a second of packets per page, the last page
 * marked end-of-stream with the granule that trims the encoder's padding).
 * The WAV, with its exact timeline, is made first; the Opus file keeps it
 * (same start, same length), and then replaces it.
 */
import { OGG_FLAG, opusHead, opusTags, writeOggPage } from '@openstudio/protocol'
import type { TrackHandle } from './storage.ts'
import { WAV_HEADER_BYTES, WAV_SAMPLE_BYTES } from './wav.ts'

export const OPUS_FILE = {
  /** kb/s for a mono voice track; stereo gets OPUS_FILE.stereoKbps. */
  monoKbps: 64,
  stereoKbps: 128,
  /** 20 ms packets, 50 to a page. */
  frameMs: 20,
  packetsPerPage: 50,
  /** Seconds of WAV read and encoded at a time. */
  readSeconds: 1,
  /** The encoder's look-ahead at 48 kHz, when its own OpusHead does not say. */
  defaultPreSkip: 312
} as const

export interface WavFormatOf { sampleRate: number, channels: number }

/**
 * Transcodes the 16-bit PCM WAV `wav` into Ogg Opus, written to `out` from
 * byte 0.
 * @param onProgress called with the share (0…1) done
 * @returns the Ogg file's length in bytes
 * @throws when this browser has no WebCodecs Opus encoder for the format
 */
export async function wavToOggOpus (wav: Blob, format: WavFormatOf, out: TrackHandle, onProgress: (share: number) => void = () => {}): Promise<number> {
  const { sampleRate, channels } = format
  const frames = Math.max(0, Math.floor((wav.size - WAV_HEADER_BYTES) / (channels * WAV_SAMPLE_BYTES)))
  const config = {
    codec: 'opus',
    sampleRate,
    numberOfChannels: channels,
    bitrate: (channels === 1 ? OPUS_FILE.monoKbps : OPUS_FILE.stereoKbps) * 1000,
    opus: { frameDuration: OPUS_FILE.frameMs * 1000, application: 'audio' }
  } as AudioEncoderConfig
  const { supported } = await AudioEncoder.isConfigSupported(config)
  if (supported !== true) throw new Error('this browser cannot encode Opus (WebCodecs)')

  const serial = crypto.getRandomValues(new Uint32Array(1))[0] as number
  // Pages 0 and 1 are OpusHead and OpusTags, written once the encoder says what its OpusHead is.
  let sequence = 2
  let written = 0
  let samples = 0
  let preSkip: number = OPUS_FILE.defaultPreSkip
  let head: Uint8Array | undefined
  let failure: Error | undefined
  let pending: Uint8Array[] = []
  const pages: Uint8Array[] = []
  const encoder = new AudioEncoder({
    output: (chunk, metadata) => {
      const description = metadata?.decoderConfig?.description
      if (head === undefined && description !== undefined) {
        const own = new Uint8Array(ArrayBuffer.isView(description) ? description.buffer.slice(description.byteOffset, description.byteOffset + description.byteLength) : description)
        if (own.length >= 19 && String.fromCharCode(...own.subarray(0, 8)) === 'OpusHead') {
          head = own
          preSkip = new DataView(own.buffer).getUint16(10, true)
        }
      }
      const packet = new Uint8Array(chunk.byteLength)
      chunk.copyTo(packet)
      pending.push(packet)
      samples += Math.round(((chunk.duration ?? OPUS_FILE.frameMs * 1000) * sampleRate) / 1e6)
      if (pending.length >= OPUS_FILE.packetsPerPage) page(0)
    },
    error: (err) => { failure = err }
  })
  const page = (flags: number): void => {
    // A page's granule counts the samples of every packet so far, the pre-skip's included; the last one says where
    // the track ends (pre-skip + its frames), which trims the padding of the last packets.
    const granule = BigInt((flags & OGG_FLAG.eos) !== 0 ? preSkip + frames : samples)
    pages.push(writeOggPage({ flags, granule, serial, sequence: sequence++, packets: pending }))
    pending = []
  }
  const flushPages = async (): Promise<void> => {
    if (written === 0) {
      const headPage = writeOggPage({ flags: OGG_FLAG.bos, granule: 0n, serial, sequence: 0, packets: [head ?? opusHead({ channels: channels === 1 ? 1 : 2, preSkip })] })
      const tagsPage = writeOggPage({ granule: 0n, serial, sequence: 1, packets: [opusTags('OpenStudio')] })
      pages.unshift(headPage, tagsPage)
    }
    for (const bytes of pages.splice(0)) {
      // The write hands the bytes to the storage's Worker: their length first.
      const length = bytes.length
      await out.write(written, bytes as Uint8Array<ArrayBuffer>)
      written += length
    }
  }
  try {
    encoder.configure(config)
    const step = Math.round(OPUS_FILE.readSeconds * sampleRate)
    for (let at = 0; at < frames; at += step) {
      const n = Math.min(step, frames - at)
      const start = WAV_HEADER_BYTES + at * channels * WAV_SAMPLE_BYTES
      const pcm = new Int16Array(await wav.slice(start, start + n * channels * WAV_SAMPLE_BYTES).arrayBuffer())
      const planar = new Float32Array(n * channels)
      for (let f = 0; f < n; f++) for (let c = 0; c < channels; c++) planar[c * n + f] = (pcm[f * channels + c] as number) / 32768
      const data = new AudioData({ format: 'f32-planar', sampleRate, numberOfFrames: n, numberOfChannels: channels, timestamp: Math.round((at * 1e6) / sampleRate), data: planar })
      encoder.encode(data)
      data.close()
      // A second at a time: the encoder never holds more, and the pages go out as they are made.
      await encoder.flush()
      if (failure !== undefined) throw failure
      await flushPages()
      onProgress(Math.min(1, (at + n) / frames))
    }
    // The encoder holds its look-ahead (the pre-skip) back: a frame of silence pushes the last real samples out,
    // and the end granule trims it off again.
    const tail = Math.ceil(preSkip / (sampleRate * OPUS_FILE.frameMs / 1000)) * (sampleRate * OPUS_FILE.frameMs / 1000)
    const silence = new AudioData({ format: 'f32-planar', sampleRate, numberOfFrames: tail, numberOfChannels: channels, timestamp: Math.round((frames * 1e6) / sampleRate), data: new Float32Array(tail * channels) })
    encoder.encode(silence)
    silence.close()
    await encoder.flush()
    if (failure !== undefined) throw failure
    page(OGG_FLAG.eos)
    await flushPages()
    return written
  } finally {
    if (encoder.state !== 'closed') encoder.close()
  }
}
