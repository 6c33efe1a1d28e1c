/**
 * The studio's side of the double-ender (`/openstudio/upload/1`, see
 * protocol/src/upload.ts and docs/recording.md): a caller's own recording
 * of its microphone arrives in chunks, resumes after a disconnect, and once
 * whole is placed on the show's timeline beside the track the studio heard.
 *
 * What a caller cannot do:
 * - upload unless the studio recorded it in this recording (it has a track
 *   there: a caller of this show, during or after it), into a recording this
 *   studio made;
 * - choose a file name: the studio names the file after the caller's track;
 * - write anywhere but the end of what the studio has (`at` must be `have`),
 *   so nothing can overwrite another track, or this one's past;
 * - send more than the show's length allows (its length so far, plus
 *   UPLOAD_LIMITS.slackSeconds).
 */
import { logger } from '@libp2p/logger'
import type { UploadMessage, UploadRefusal } from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import { refineAlignment } from './align.ts'
import { slug, trackFileName, type RecordingManifest } from './manifest.ts'
import type { RecordingStorage, StoredFile, TrackHandle } from './storage.ts'
import { WAV_HEADER_BYTES, WAV_SAMPLE_BYTES, wavHeader, wavSamples } from './wav.ts'

/** A track's samples: `frames` of them from frame `from` (zeros before its start, fewer at its end). */
type TrackSamples = (from: number, frames: number) => Promise<Float32Array>

const log = logger('openstudio:app:recording:uploads')

export const UPLOAD_LIMITS = {
  /** An upload may run this much longer than the show (the caller's recording starts before, or stops after, the studio's). */
  slackSeconds: 120,
  /** The studio tells the caller what it has after this many bytes. */
  ackEveryBytes: 256 * 1024,
  /** How long the caller has to make its offer. */
  offerTimeoutMs: 10_000,
  /** How far from the timestamps' place the audio may move the upload, in ms. */
  alignRadiusMs: 500,
  /** Each stretch of the upload compared with the studio's track, in seconds. */
  alignSeconds: 4,
  /** Stretches compared, spread evenly over the upload (they overlap in a short one). */
  alignStretches: 7,
  /** Bytes copied at a time when the upload is placed. */
  copyBytes: 1024 * 1024
} as const

/** One end of an upload stream (UploadChannel in the browser, a pair in tests). */
export interface UploadEndpoint {
  readonly remotePeer: { toString: () => string }
  read: (options?: { signal?: AbortSignal }) => Promise<UploadMessage | undefined>
  send: (message: UploadMessage, options?: { signal?: AbortSignal }) => Promise<void>
  messages: (options?: { signal?: AbortSignal }) => AsyncGenerator<UploadMessage>
  close: () => Promise<void>
  abort: (err: Error) => void
}

export interface UploadReceiverComponents {
  storage: RecordingStorage
  /** A recording this studio made (or is making) that uploads may join, by directory; with its length so far in seconds. */
  recording: (dir: string) => { manifest: RecordingManifest, seconds: number } | undefined
  /** The caller's audio's delay from its microphone to the studio's mixer, as measured now (ms). */
  delayMs: (peer: string) => number
  /**
   * Decodes `frames` samples of an Ogg Opus track from frame `from`
   * (decodeOggOpus in the browser), so that an Opus recording's track can
   * place an upload by its sound too. @default none: Opus tracks place
   * uploads by the timestamps alone
   */
  decodeOpus?: (file: Blob, from: number, frames: number) => Promise<Float32Array>
}

/** Where an upload landed. */
export interface PlacedUpload {
  peer: string
  dir: string
  file: string
  /** Frames from the recording's start to the upload's first sample, as placed. */
  offsetFrames: number
  /** What the timestamps said, in frames. */
  coarseFrames: number
  /** How sure the audio was (0: the timestamps' place stood). */
  confidence: number
}

export interface UploadReceiverEvents {
  /** An upload is whole and on the timeline. */
  'upload:place': CustomEvent<PlacedUpload>
  /** An upload was refused, and why. */
  'upload:refuse': CustomEvent<{ peer: string, reason: UploadRefusal }>
}

export class UploadReceiver extends TypedEventEmitter<UploadReceiverEvents> {
  /** Bytes received of each take this session, by `dir/part`. */
  private readonly have = new Map<string, number>()
  private readonly active = new Set<string>()
  /** Every upload placed this session. */
  readonly placed: PlacedUpload[] = []

  constructor (private readonly components: UploadReceiverComponents) {
    super()
  }

  /** Takes one upload stream until it ends. Never throws: a bad stream is refused or aborted. */
  async handle (channel: UploadEndpoint, options: { signal?: AbortSignal } = {}): Promise<void> {
    const peer = channel.remotePeer.toString()
    let busy = false
    try {
      const offer = await channel.read({ signal: AbortSignal.any([AbortSignal.timeout(UPLOAD_LIMITS.offerTimeoutMs), ...(options.signal === undefined ? [] : [options.signal])]) })
      if (offer?.type !== 'offer') throw new Error(`expected an offer, got ${offer?.type ?? 'nothing'}`)
      const found = this.components.recording(offer.recording)
      // A caller of this show: the studio recorded it in this recording.
      const who = found?.manifest.tracks.find((t) => t.id === peer && t.id !== 'program')?.who
      const refusal: UploadRefusal | undefined = found === undefined || found.manifest.sampleRate !== offer.sampleRate || offer.channels !== 1
        ? 'no-recording'
        : who === undefined ? 'not-in-show' : this.active.has(peer) ? 'busy' : undefined
      if (refusal !== undefined || who === undefined || found === undefined) {
        await this.refuse(channel, peer, refusal ?? 'no-recording')
        return
      }
      this.active.add(peer)
      busy = true
      await this.receive(channel, peer, who, offer.recording, offer.startMs, options)
    } catch (err) {
      log('upload from %s: %s', peer, (err as Error).message)
      channel.abort(err as Error)
    } finally {
      if (busy) this.active.delete(peer)
    }
  }

  private async receive (channel: UploadEndpoint, peer: string, who: string, dir: string, startMs: number, options: { signal?: AbortSignal }): Promise<void> {
    const { storage } = this.components
    const recording = (): { manifest: RecordingManifest, seconds: number } => this.components.recording(dir) as { manifest: RecordingManifest, seconds: number }
    const { manifest } = recording()
    // One part file per take: a caller whose page reloaded records anew, from a new start.
    const part = partName(peer, startMs)
    const key = `${dir}/${part}`
    const stored = await storage.files(dir)
    // A take placed already (the caller's page saw it through, then reloaded before it could forget it), even by
    // this studio's page before it reloaded: its marker says so.
    const placed = await this.placedBytes(dir, placedName(peer, startMs), stored)
    if (placed !== undefined) {
      await channel.send({ type: 'complete', have: placed })
      await channel.close()
      return
    }
    await this.finishEarlierTakes(peer, who, dir, manifest, stored.filter((f) => f.name !== part && partOf(f.name)?.peer === peer))
    let have = this.have.get(key) ?? stored.find((f) => f.name === part)?.size ?? 0
    const handle = await storage.open(dir, part)
    let acked = have
    try {
      await channel.send({ type: 'accept', have })
      log('upload from %s (%s) into %s, from byte %d', who, peer, part, have)
      for await (const message of channel.messages(options)) {
        if (message.type === 'chunk') {
          const bound = (recording().seconds + UPLOAD_LIMITS.slackSeconds) * manifest.sampleRate * WAV_SAMPLE_BYTES
          if (message.at !== have) return await this.refuse(channel, peer, 'out-of-order')
          if (have + message.bytes.byteLength > bound) return await this.refuse(channel, peer, 'too-large')
          await handle.write(have, message.bytes.slice())
          have += message.bytes.byteLength
          this.have.set(key, have)
          if (have - acked >= UPLOAD_LIMITS.ackEveryBytes) {
            acked = have
            await channel.send({ type: 'ack', have })
          }
        } else if (message.type === 'done') {
          if (message.bytes !== have) return await this.refuse(channel, peer, 'out-of-order')
          await handle.close()
          await this.placeTake(peer, who, dir, manifest, part, startMs)
          await channel.send({ type: 'complete', have })
          this.have.delete(key)
          await channel.close()
          return
        }
      }
    } finally {
      await handle.close()
    }
  }

  /** Places a whole take and says so. */
  private async placeTake (peer: string, who: string, dir: string, manifest: RecordingManifest, part: string, startMs: number): Promise<void> {
    const files = await this.components.storage.files(dir)
    const file = this.fileFor(manifest, peer, who, files.map((f) => f.name))
    const placed = await this.place(peer, dir, manifest, part, file, startMs)
    await this.components.storage.put(dir, placedName(peer, startMs), new TextEncoder().encode(String(files.find((f) => f.name === part)?.size ?? 0)))
    this.placed.push(placed)
    this.safeDispatchEvent('upload:place', { detail: placed })
  }

  /**
   * A caller's earlier takes in this recording (its page reloaded, and the
   * rest of them is lost with it) are placed as far as they came, each as a
   * file of its own.
   */
  private async finishEarlierTakes (peer: string, who: string, dir: string, manifest: RecordingManifest, parts: StoredFile[]): Promise<void> {
    for (const { name, size } of parts) {
      const take = partOf(name)
      if (take === undefined) continue
      this.have.delete(`${dir}/${name}`)
      // A take that never sent a byte leaves nothing to place.
      if (size === 0) {
        await this.components.storage.removeFile(dir, name)
        continue
      }
      log('%s started a new take: the earlier one (%s) is placed as it came', who, name)
      await this.placeTake(peer, who, dir, manifest, name, take.startMs)
    }
  }

  /**
   * The upload's file: named after the caller's track in the studio, with
   * `-local`, and never the name of another track or file (`-local-2`… when
   * it would be: another take, another caller of the same name).
   */
  private fileFor (manifest: RecordingManifest, peer: string, who: string, files: string[]): string {
    const heard = manifest.tracks.find((t) => t.id === peer)?.file
    const base = heard === undefined ? trackFileName(manifest.show, manifest.startedAt, slug(who, 'caller')).replace(/\.wav$/, '') : heard.replace(/\.[a-z0-9]+$/, '')
    const taken = new Set([...manifest.tracks.map((t) => t.file), ...files])
    let file = `${base}-local.wav`
    for (let n = 2; taken.has(file); n++) file = `${base}-local-${n}.wav`
    return file
  }

  /**
   * Places a whole upload on the show's timeline: where the timestamps say
   * (the caller's clock on the studio's, plus the measured delay), moved by
   * the audio to match the track the studio heard; then writes it as a WAV
   * track at that place and drops the part file.
   */
  private async place (peer: string, dir: string, manifest: RecordingManifest, part: string, file: string, startMs: number): Promise<PlacedUpload> {
    const { storage } = this.components
    const rate = manifest.sampleRate
    const coarse = Math.round(((startMs + this.components.delayMs(peer) - manifest.startedAt) * rate) / 1000)
    const raw = await storage.read(dir, part)
    let shift = 0
    let confidence = 0
    try {
      const heard = await this.heardTrack(dir, manifest.tracks.find((t) => t.id === peer)?.file)
      if (heard !== undefined) ({ shift, confidence } = await this.refine(raw, heard, coarse, rate))
    } catch (err) {
      // The studio's own track cannot be read: the timestamps' place stands.
      log('no audio alignment for %s: %s', file, (err as Error).message)
    }
    const offset = coarse + shift
    const format = { sampleRate: rate, channels: 1 }
    const skip = Math.max(0, -offset) * WAV_SAMPLE_BYTES
    const dataBytes = Math.max(0, offset) * WAV_SAMPLE_BYTES + Math.max(0, raw.size - skip)
    const out = await storage.open(dir, file)
    try {
      await out.truncate(0)
      await out.write(0, wavHeader(format, dataBytes))
      await copy(raw, skip, out, WAV_HEADER_BYTES + Math.max(0, offset) * WAV_SAMPLE_BYTES)
      await out.truncate(WAV_HEADER_BYTES + dataBytes)
    } finally {
      await out.close()
    }
    await storage.removeFile(dir, part)
    log('placed %s at %d frames (timestamps said %d; confidence %s)', file, offset, coarse, confidence.toFixed(2))
    return { peer, dir, file, offsetFrames: offset, coarseFrames: coarse, confidence }
  }

  /**
   * The studio's track of the caller, read sample by sample: a WAV track
   * directly, an Opus track (an Opus recording, once it stopped) through the
   * decoder; undefined when it cannot be read that way.
   */
  private async heardTrack (dir: string, file: string | undefined): Promise<TrackSamples | undefined> {
    const decode = file?.endsWith('.wav') === true
      ? async (blob: Blob, from: number, frames: number) => wavSamples(blob, from, frames, WAV_HEADER_BYTES)
      : file?.endsWith('.opus') === true ? this.components.decodeOpus : undefined
    if (decode === undefined || file === undefined) return undefined
    const blob = await this.components.storage.read(dir, file)
    return async (from, frames) => decode(blob, from, frames)
  }

  /**
   * Moves the upload from the timestamps' place to where its sound matches
   * the studio's track of the same voice. The studio's track drifts a little
   * as its jitter buffer adapts (tens of ms after a reconnect), so no one
   * shift fits it everywhere: UPLOAD_LIMITS.alignStretches stretches spread
   * over the upload are matched, and the median shift of those the audio
   * singled out is taken, the one that fits most of the upload.
   */
  private async refine (raw: Blob, heard: TrackSamples, coarse: number, rate: number): Promise<{ shift: number, confidence: number }> {
    const radius = Math.round((UPLOAD_LIMITS.alignRadiusMs * rate) / 1000)
    const length = Math.round(UPLOAD_LIMITS.alignSeconds * rate)
    const frames = Math.floor(raw.size / WAV_SAMPLE_BYTES)
    const count = UPLOAD_LIMITS.alignStretches
    const starts = frames >= 2 * length
      ? Array.from({ length: count }, (_, i) => Math.min(frames - length, Math.max(0, Math.round((frames * (i + 1)) / (count + 1) - length / 2))))
      : [0]
    const found: Array<{ shift: number, confidence: number }> = []
    for (const from of starts) {
      const local = await wavSamples(raw, from, length)
      const studio = await heard(coarse + from - radius, length + 2 * radius)
      if (local.length !== length || studio.length !== length + 2 * radius) continue
      const match = refineAlignment(studio, local, { sampleRate: rate, radius })
      if (match.confidence > 0) found.push(match)
    }
    found.sort((a, b) => a.shift - b.shift)
    return found[Math.floor((found.length - 1) / 2)] ?? { shift: 0, confidence: 0 }
  }

  /** The bytes of a take placed already, from its marker (a decimal count; anything else counts as 0); undefined when there is none. */
  private async placedBytes (dir: string, marker: string, stored: StoredFile[]): Promise<number | undefined> {
    const found = stored.find((f) => f.name === marker)
    if (found === undefined) return undefined
    const text = found.size <= PLACED_MARKER_MAX_BYTES ? await (await this.components.storage.read(dir, marker)).text() : ''
    return /^\d{1,15}$/.test(text) ? Number(text) : 0
  }

  private async refuse (channel: UploadEndpoint, peer: string, reason: UploadRefusal): Promise<void> {
    log('upload from %s refused: %s', peer, reason)
    this.safeDispatchEvent('upload:refuse', { detail: { peer, reason } })
    await channel.send({ type: 'refuse', reason })
    await channel.close()
  }
}

/** The part file of one take of a caller's upload: named by the caller and the take's start. */
function partName (peer: string, startMs: number): string {
  return `upload-${peer}-${Math.round(startMs)}.part`
}

/** The marker left when a take is placed: its part file's name, ending `.placed`, holding the take's byte count. */
function placedName (peer: string, startMs: number): string {
  return partName(peer, startMs).replace(/\.part$/, '.placed')
}

/** A marker holds a byte count: a few digits. */
const PLACED_MARKER_MAX_BYTES = 32

/** The caller and start of a take's part file; undefined for any other file. */
function partOf (name: string): { peer: string, startMs: number } | undefined {
  const match = /^upload-([A-Za-z0-9]+)-(\d+)\.part$/.exec(name)
  return match === null ? undefined : { peer: match[1] as string, startMs: Number(match[2]) }
}

/** Copies `source` from byte `from` into `into` at byte `at`, a slice at a time. */
async function copy (source: Blob, from: number, into: TrackHandle, at: number): Promise<void> {
  for (let done = from; done < source.size; done += UPLOAD_LIMITS.copyBytes) {
    const slice = new Uint8Array(await source.slice(done, done + UPLOAD_LIMITS.copyBytes).arrayBuffer())
    await into.write(at + done - from, slice)
  }
}
