/**
 * Opus in Ogg for recordings the producer wants small: a finished WAV track
 * is transcoded in the page with WebCodecs' Opus encoder (RFC 7845 framing:
 * OpusHead, OpusTags, then about a second of packets per page, the last page
 * marked end-of-stream with the granule that trims the encoder's padding).
 * The WAV, with its exact timeline, is made first; the Opus file keeps it
 * (same start, same length), and then replaces it.
 */
import { concatBytes, MalformedError, MAX_OGG_PAGE_BYTES, TooLargeError, OGG_FLAG, opusHead, opusTags, readOggPage, writeOggPage } from '@openstudio/protocol'
import type { RecorderComponents } from './recorder.ts'
import type { RecordingStorage, TrackHandle } from './storage.ts'
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
  defaultPreSkip: 312,
  /** Bytes read at a time when an Ogg file is read back. */
  readBytes: 1024 * 1024,
  /** Samples decoded ahead of a stretch read back, so that the decoder has settled (80 ms, RFC 7845 §4.6). */
  preRoll: 3840,
  /** Samples decoded past it, in case the decoder holds its last packet back. */
  decodeAfter: 1920,
  /** The largest packet read back (an Opus packet is at most 120 ms: 61,200 bytes; OpusTags may be more). */
  maxPacketBytes: 1024 * 1024
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
    error: (err) => {
      failure = err
      wake()
    }
  })
  let wake = (): void => {}
  /** Resolves when the encoder takes the next chunk off its queue, or fails. */
  const dequeued = async (): Promise<void> => new Promise((resolve) => {
    wake = resolve
    encoder.addEventListener('dequeue', () => { resolve() }, { once: true })
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
      // A second at a time: the encoder never holds much more, and the pages go out as they are made. Never a
      // flush before the end: a flush pads the encoder's look-ahead out into a packet of its own, which would
      // push everything after it 20 ms later.
      while (encoder.encodeQueueSize > 1 && failure === undefined) await dequeued()
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

/** The recorder's `toOpus` on `storage`: a track's WAV transcoded into the Opus file beside it. */
export function opusInStorage (storage: RecordingStorage, sampleRate: number): NonNullable<RecorderComponents['toOpus']> {
  return async (dir, wav, opus, channels, onProgress) => {
    const out = await storage.open(dir, opus)
    try {
      await out.truncate(0)
      await wavToOggOpus(await storage.read(dir, wav), { sampleRate, channels }, out, onProgress)
    } finally {
      await out.close()
    }
  }
}

/** Samples (at 48 kHz) in one Opus packet, from its TOC byte (RFC 6716 §3.1); 0 for a packet too short to say. */
export function opusPacketFrames (packet: Uint8Array): number {
  const toc = packet[0]
  if (toc === undefined) return 0
  const config = toc >> 3
  // SILK (0–11): 10, 20, 40, 60 ms; hybrid (12–15): 10, 20 ms; CELT (16–31): 2.5, 5, 10, 20 ms.
  const frameSize = config < 12 ? [480, 960, 1920, 2880][config & 3] as number : config < 16 ? [480, 960][config & 1] as number : [120, 240, 480, 960][config & 3] as number
  const code = toc & 3
  const count = code === 0 ? 1 : code < 3 ? 2 : (packet[1] ?? 0) & 0x3f
  return frameSize * count
}

/**
 * The packets of an Ogg file, in order, read a slice at a time (never the
 * whole file). Every page is checked (readOggPage); a packet continued over
 * pages comes out whole, up to OPUS_FILE.maxPacketBytes.
 * @throws {MalformedError | TooLargeError} at the first bad page, or a packet too large
 */
export async function * oggPackets (file: Blob): AsyncGenerator<Uint8Array> {
  let buffer: Uint8Array = new Uint8Array(0)
  let at = 0
  let partial: Uint8Array[] = []
  let partialBytes = 0
  /** Makes sure `n` bytes past the buffer's start are in it, reading on; false at the end of the file. */
  const need = async (n: number): Promise<boolean> => {
    while (buffer.length < n && at < file.size) {
      const more = new Uint8Array(await file.slice(at, at + OPUS_FILE.readBytes).arrayBuffer())
      at += more.length
      buffer = concatBytes([buffer, more])
    }
    return buffer.length >= n
  }
  while (await need(27)) {
    if (!await need(27 + (buffer[26] as number))) break
    const segments = buffer[26] as number
    const lacing = buffer.subarray(27, 27 + segments)
    const length = 27 + segments + lacing.reduce((n, l) => n + l, 0)
    if (!await need(length)) throw new MalformedError(`the file ends inside an Ogg page (${buffer.length} of ${length} bytes)`)
    const page = readOggPage(buffer.slice(0, length))
    buffer = buffer.subarray(length)
    let offset = 0
    for (const l of lacing) {
      partial.push(page.body.subarray(offset, offset + l))
      offset += l
      partialBytes += l
      if (partialBytes > OPUS_FILE.maxPacketBytes) throw new TooLargeError('Ogg packet', partialBytes, OPUS_FILE.maxPacketBytes)
      if (l < 255) {
        yield concatBytes(partial)
        partial = []
        partialBytes = 0
      }
    }
  }
  if (buffer.length > 0) throw new MalformedError(`${buffer.length} bytes after the last Ogg page`)
}

/**
 * Decodes `frames` samples of an Ogg Opus track from track frame `from`
 * (its first channel; zeros before the track starts, fewer at its end):
 * how the studio reads an Opus recording's track to line a caller's upload
 * up with it. Decoding starts 80 ms ahead (RFC 7845's pre-roll), so the
 * samples returned are settled.
 * @throws when the file is not Ogg Opus, or this browser cannot decode Opus
 */
export async function decodeOggOpus (file: Blob, from: number, frames: number): Promise<Float32Array> {
  const packets = oggPackets(file)
  const head = (await packets.next()).value
  if (head === undefined || head.length < 19 || String.fromCharCode(...head.subarray(0, 8)) !== 'OpusHead') throw new MalformedError('not an Ogg Opus file (no OpusHead)')
  const channels = head[9] as number
  const preSkip = new DataView(head.buffer, head.byteOffset).getUint16(10, true)
  await packets.next() // OpusTags
  // Granule positions count the pre-skip: track frame f is granule preSkip + f.
  const first = preSkip + from
  const out = new Float32Array(frames)
  // The furthest granule decoded: the decoder may hold its last packet back, or drop its first output.
  let reached = first
  let failure: Error | undefined
  const decoder = new AudioDecoder({
    // Each output is placed by its timestamp (the packet's granule), whatever the decoder dropped or held.
    output: (data) => {
      const at = Math.round((data.timestamp * 48_000) / 1e6)
      const plane = new Float32Array(data.numberOfFrames)
      data.copyTo(plane, { planeIndex: 0, format: 'f32-planar' })
      data.close()
      // Before the track (the pre-skip, or a negative `from`) stays silence.
      const lo = Math.max(at, first, preSkip)
      const hi = Math.min(at + plane.length, first + frames)
      if (hi > lo) out.set(plane.subarray(lo - at, hi - at), lo - first)
      reached = Math.max(reached, at + plane.length)
    },
    error: (err) => { failure = err }
  })
  try {
    decoder.configure({ codec: 'opus', sampleRate: 48_000, numberOfChannels: channels })
    let granule = 0
    for await (const packet of packets) {
      if (granule >= first + frames + OPUS_FILE.decodeAfter) break
      const n = opusPacketFrames(packet)
      if (granule + n > first - OPUS_FILE.preRoll) decoder.decode(new EncodedAudioChunk({ type: 'key', timestamp: Math.round((granule * 1e6) / 48_000), data: packet }))
      granule += n
    }
    await decoder.flush()
    if (failure !== undefined) throw failure
    // The last page's granule says where the track ends (it trims the encoder's padding).
    const end = Math.min(reached, await lastGranule(file) ?? Infinity)
    return out.subarray(0, Math.max(0, Math.min(frames, end - first)))
  } finally {
    if (decoder.state !== 'closed') decoder.close()
    await packets.return(undefined)
  }
}

/** The granule position of an Ogg file's last page, read from its last 64 KiB; undefined when there is no whole page there. */
async function lastGranule (file: Blob): Promise<number | undefined> {
  const from = Math.max(0, file.size - MAX_OGG_PAGE_BYTES)
  const tail = new Uint8Array(await file.slice(from).arrayBuffer())
  for (let i = tail.length - 27; i >= 0; i--) {
    if (tail[i] !== 0x4f || tail[i + 1] !== 0x67 || tail[i + 2] !== 0x67 || tail[i + 3] !== 0x53) continue
    try {
      return Number(readOggPage(tail.subarray(i)).granule)
    } catch {
      // "OggS" inside a packet, or a page cut short: look further back.
    }
  }
  return undefined
}
