/**
 * The program encoders. WebCodecs Opus with 10 ms frames, each packet in its
 * own Ogg page the moment the encoder hands it out (a muxer that gathers
 * packets into pages holds audio back: see docs/icecast.md). Where the browser
 * has no WebCodecs Opus, MediaRecorder's WebM is the fallback; it costs about
 * a quarter of a second more, because it hands out audio only in timeslices.
 */
import { logger } from '@libp2p/logger'
import { opusHead, opusTags, writeOggPage, OGG_FLAG, type ProgramFormat } from '@openstudio/protocol'
import { createProgramTap, type ProgramTap, type TapBlock } from '../../audio/program-tap.ts'
import { PROGRAM_ENCODER } from './constants.ts'

const log = logger('openstudio:app:encoder')

export interface EncoderInit {
  /** kb/s. */
  bitrate: number
  channels: 1 | 2
}

/**
 * Encoded program units go here: each is whole (an Ogg page, a WebM chunk)
 * and `ms` long. A `header` unit is also in the encoder's `headers`.
 */
export type UnitSink = (bytes: Uint8Array, ms: number, header: boolean) => void

export interface ProgramEncoder {
  readonly format: ProgramFormat
  /** What the encoder is, for the producer: its latency cost in words. */
  readonly description: string
  /** Units every stream starts with (Ogg: OpusHead and OpusTags pages); complete once the first audio unit is out. */
  readonly headers: Uint8Array[]
  /** Program audio the encoder could not take (a starved page), in ms: a gap listeners hear. */
  readonly droppedMs: number
  stop: () => Promise<void>
}

/** Whether this browser encodes Opus with WebCodecs at these settings. */
export async function hasWebCodecsOpus (init: EncoderInit): Promise<boolean> {
  if (typeof AudioEncoder === 'undefined') return false
  try {
    const { supported } = await AudioEncoder.isConfigSupported(opusConfig(init))
    return supported === true
  } catch {
    return false
  }
}

/**
 * The best encoder this browser has for the program at `input`.
 * @throws the signal's reason when it aborts first (an encoder that came up by then is stopped)
 */
export async function createProgramEncoder (input: AudioNode, init: EncoderInit, onUnit: UnitSink, options: { signal?: AbortSignal } = {}): Promise<ProgramEncoder> {
  const { signal } = options
  signal?.throwIfAborted()
  const webCodecs = await hasWebCodecsOpus(init)
  signal?.throwIfAborted()
  if (!webCodecs) log('no WebCodecs Opus here: MediaRecorder fallback')
  const encoder = webCodecs ? await OggOpusEncoder.start(input, init, onUnit) : await WebmEncoder.start(input, init, onUnit)
  if (signal?.aborted === true) {
    await encoder.stop()
    throw signal.reason
  }
  return encoder
}

function opusConfig (init: EncoderInit): AudioEncoderConfig {
  return {
    codec: 'opus',
    sampleRate: PROGRAM_ENCODER.sampleRate,
    numberOfChannels: init.channels,
    bitrate: init.bitrate * 1000,
    opus: { frameDuration: PROGRAM_ENCODER.frameMs * 1000, complexity: PROGRAM_ENCODER.complexity, application: 'audio' }
  } as AudioEncoderConfig
}

/** WebCodecs Opus → one Ogg page per packet. */
export class OggOpusEncoder implements ProgramEncoder {
  readonly format = 'ogg-opus'
  readonly description = `Opus ${PROGRAM_ENCODER.frameMs} ms frames (WebCodecs), one Ogg page per frame`
  readonly headers: Uint8Array[] = []
  droppedMs = 0
  private readonly serial = crypto.getRandomValues(new Uint32Array(1))[0] as number
  private sequence = 0
  private granule = 0n
  private timestamp = 0
  private tap?: ProgramTap

  private readonly encoder: AudioEncoder

  private constructor (private readonly init: EncoderInit, onUnit: UnitSink) {
    this.encoder = new AudioEncoder({
      output: (chunk, metadata) => { this.packet(chunk, metadata, onUnit) },
      error: (err) => { log.error('program encoder failed: %s', err.message) }
    })
    this.encoder.configure(opusConfig(init))
  }

  static async start (input: AudioNode, init: EncoderInit, onUnit: UnitSink): Promise<OggOpusEncoder> {
    const self = new OggOpusEncoder(init, onUnit)
    self.tap = await createProgramTap(input, { channels: init.channels, frames: PROGRAM_ENCODER.frames }, (block) => { self.encode(block) })
    return self
  }

  async stop (): Promise<void> {
    this.tap?.stop()
    if (this.encoder.state === 'configured') await this.encoder.flush().catch(() => {})
    if (this.encoder.state !== 'closed') this.encoder.close()
  }

  private encode (block: TapBlock): void {
    if (this.encoder.state !== 'configured') return
    // An encoder that falls behind (a starved page) drops blocks rather than queue without end, and counts them.
    if (this.encoder.encodeQueueSize > PROGRAM_ENCODER.maxEncodeQueue) {
      this.droppedMs += (block.frames * 1000) / PROGRAM_ENCODER.sampleRate
      return
    }
    const data = new AudioData({
      format: 'f32-planar',
      sampleRate: PROGRAM_ENCODER.sampleRate,
      numberOfFrames: block.frames,
      numberOfChannels: block.channels,
      timestamp: this.timestamp,
      data: block.data
    })
    this.timestamp += (block.frames * 1e6) / PROGRAM_ENCODER.sampleRate
    this.encoder.encode(data)
    data.close()
  }

  private packet (chunk: EncodedAudioChunk, metadata: EncodedAudioChunkMetadata | undefined, onUnit: UnitSink): void {
    if (this.headers.length === 0) {
      this.writeHeaders(metadata?.decoderConfig?.description)
      for (const header of this.headers) onUnit(header, 0, true)
    }
    const packet = new Uint8Array(chunk.byteLength)
    chunk.copyTo(packet)
    const samples = Math.round(((chunk.duration ?? PROGRAM_ENCODER.frameMs * 1000) * PROGRAM_ENCODER.sampleRate) / 1e6)
    this.granule += BigInt(samples)
    onUnit(writeOggPage({ granule: this.granule, serial: this.serial, sequence: this.sequence++, packets: [packet] }), samples / 48, false)
  }

  /** OpusHead (the encoder's own, when it gives one) and OpusTags, each on its own page. */
  private writeHeaders (description: AllowSharedBufferSource | undefined): void {
    const own = description === undefined ? undefined : new Uint8Array(ArrayBuffer.isView(description) ? description.buffer.slice(description.byteOffset, description.byteOffset + description.byteLength) : description)
    const head = own !== undefined && own.length >= 19 && String.fromCharCode(...own.subarray(0, 8)) === 'OpusHead'
      ? own
      : opusHead({ channels: this.init.channels, preSkip: PROGRAM_ENCODER.defaultPreSkip })
    this.headers.push(writeOggPage({ flags: OGG_FLAG.bos, granule: 0n, serial: this.serial, sequence: this.sequence++, packets: [head] }))
    this.headers.push(writeOggPage({ granule: 0n, serial: this.serial, sequence: this.sequence++, packets: [opusTags('OpenStudio')] }))
  }
}

/** MediaRecorder → WebM chunks: the fallback. */
export class WebmEncoder implements ProgramEncoder {
  readonly format = 'webm-opus'
  readonly description = `Opus in WebM (MediaRecorder fallback: about ${PROGRAM_ENCODER.recorderSliceMs} ms more latency)`
  readonly headers: Uint8Array[] = []
  /** MediaRecorder never drops: it delays. */
  readonly droppedMs = 0

  private constructor (private readonly recorder: MediaRecorder, private readonly destination: MediaStreamAudioDestinationNode, private readonly input: AudioNode) {}

  static async start (input: AudioNode, init: EncoderInit, onUnit: UnitSink): Promise<WebmEncoder> {
    const destination = (input.context as AudioContext).createMediaStreamDestination()
    destination.channelCount = init.channels
    input.connect(destination)
    const recorder = new MediaRecorder(destination.stream, { mimeType: 'audio/webm;codecs=opus', audioBitsPerSecond: init.bitrate * 1000 })
    const self = new WebmEncoder(recorder, destination, input)
    recorder.addEventListener('dataavailable', (e) => {
      void e.data.arrayBuffer().then((buffer) => {
        const bytes = new Uint8Array(buffer)
        if (bytes.length === 0) return
        // The first chunk holds the WebM header: every stream starts with it.
        const header = self.headers.length === 0
        if (header) self.headers.push(bytes)
        onUnit(bytes, PROGRAM_ENCODER.recorderSliceMs, header)
      })
    })
    recorder.start(PROGRAM_ENCODER.recorderSliceMs)
    return self
  }

  async stop (): Promise<void> {
    if (this.recorder.state === 'inactive') return
    this.recorder.stop()
    this.input.disconnect(this.destination)
  }
}
