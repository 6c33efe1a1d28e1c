/**
 * The studio's multitrack recorder: the program, the host and every caller,
 * each on its own WAV track, all on one timeline (the studio context's
 * frames), written to storage as the show goes (docs/recording.md).
 *
 * - A track's blocks land where their frames belong: a caller who joins late
 *   starts with silence, and one who drops and comes back keeps one track,
 *   with silence for the gap.
 * - At the stop every track is made as long as the longest, and its header
 *   says so. A three-hour show never lives in memory: at most
 *   RECORDER_LIMITS.maxPendingBytes wait for the disk at any time.
 * - A write that fails (the disk is full) is counted and shown, and the
 *   recording goes on: it never stops by itself.
 */
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import type { TapBlock } from '../../audio/program-tap.ts'
import { encodeManifest, MANIFEST_NAME, MAX_TRACKS, opusFileName, slug, trackFileName, type RecordingManifest, type RecordingTrack } from './manifest.ts'
import { StorageWriteError, type RecordingStorage, type TrackHandle } from './storage.ts'
import { toPcm16, WAV_HEADER_BYTES, wavHeader, wavOffset } from './wav.ts'

const log = logger('openstudio:app:recording')

export const RECORDER_LIMITS = {
  /** Bytes handed to storage and not yet written, over all tracks; past it, blocks are dropped and counted. */
  maxPendingBytes: 16 * 1024 * 1024,
  /** Frames per block a track's tap hands over (500 ms at 48 kHz): at 100 ms, 7 tracks cost 0.15 cores more (recording bench). */
  blockFrames: 24000,
  /** How often the disk's free space is read, in ms. */
  estimateEveryMs: 5_000,
  /** Warn when the space left holds less than this much more recording, in seconds. */
  warnBelowSeconds: 15 * 60,
  /** Finished recordings that callers' own recordings may still join. */
  keepFinished: 8
} as const

export class RecorderStateError extends Error {
  override readonly name = 'RecorderStateError'
}

export interface RecorderComponents {
  storage: RecordingStorage
  /** Taps `node` for blocks of `frames` frames in `channels`, each stamped with its first frame. */
  tap: (node: AudioNode, init: { channels: 1 | 2, frames: number }, onBlock: (block: TapBlock) => void) => Promise<{ stop: () => void }>
  /** The frame the studio's context renders now. */
  frameNow: () => number
  sampleRate: number
  /**
   * Transcodes a finished WAV track into Opus in Ogg at `opus` in the same
   * directory (wavToOggOpus in the browser). @default none: Opus is not offered
   */
  toOpus?: (dir: string, wav: string, opus: string, channels: 1 | 2, onProgress: (share: number) => void) => Promise<void>
  /**
   * Decodes `frames` samples of an Opus track from frame `from`
   * (decodeOggOpus in the browser), so that caller uploads line up with an
   * Opus recording's tracks by their sound. @default none
   */
  decodeOpus?: (file: Blob, from: number, frames: number) => Promise<Float32Array>
  /** @default Date.now */
  now?: () => number
}

export interface TrackStatus {
  id: string
  who: string
  file: string
  channels: 1 | 2
  /** Seconds from the recording's start to the end of what this track has written. */
  seconds: number
  /** Whether its voice is connected now (a caller who dropped is not; the track goes on in silence). */
  live: boolean
}

export interface RecorderStatus {
  /** The recording's directory, while one runs. */
  dir?: string
  recording: boolean
  seconds: number
  tracks: TrackStatus[]
  /** Bytes written to storage so far. */
  bytes: number
  /** Space left for this origin, as the browser estimates it. */
  freeBytes?: number
  /** Seconds of recording the space left holds at the current rate. */
  secondsLeft?: number
  /** The disk is getting full: under RECORDER_LIMITS.warnBelowSeconds left. */
  lowSpace: boolean
  /** Audio that could not be written (a full disk, a storage failure), in seconds over all tracks. */
  lostSeconds: number
  /** The last storage failure, for people. */
  error?: string
  /** Opus files being made from the stopped recording's tracks: the share done (0…1). */
  converting?: number
}

export interface RecorderEvents {
  'status:change': CustomEvent<RecorderStatus>
}

interface Track {
  meta: RecordingTrack
  handle: TrackHandle
  /** The end of what this track wrote, in frames from the recording's start. */
  end: number
  tap?: { stop: () => void }
}

export interface RecordingInit {
  /** The show's name, in the file names. */
  show: string
  /**
   * What the tracks end as: WAV, or Opus in Ogg (smaller: 64 kb/s a voice,
   * 128 kb/s the program), made from the WAV when the recording stops.
   * @default 'wav'
   */
  format?: 'wav' | 'opus'
}

export class StudioRecorder extends TypedEventEmitter<RecorderEvents> {
  private manifest?: RecordingManifest
  private dir?: string
  private startFrame = 0
  private readonly tracks = new Map<string, Track>()
  private pendingBytes = 0
  private bytes = 0
  private lostFrames = 0
  private error?: string
  private converting?: number
  private free?: number
  private estimateTimer?: ReturnType<typeof setInterval>
  private readonly now: () => number
  private stopping?: Promise<RecordingManifest | undefined>
  /** Recordings this recorder finished, by directory, with their lengths: uploads may still join them. */
  private readonly finished = new Map<string, { manifest: RecordingManifest, seconds: number }>()

  constructor (private readonly components: RecorderComponents) {
    super()
    this.now = components.now ?? Date.now
  }

  /** Where it writes. */
  get storage (): RecordingStorage {
    return this.components.storage
  }

  /** The running recording in `dir`, or one this recorder finished (the last RECORDER_LIMITS.keepFinished): its manifest and length in seconds. */
  recordingFor (dir: string): { manifest: RecordingManifest, seconds: number } | undefined {
    if (this.manifest !== undefined && dir === this.dir && this.recording) return { manifest: this.manifest, seconds: this.status.seconds }
    return this.finished.get(dir)
  }

  /** Reads a stretch of one of its Opus tracks, where this browser can. */
  get decodeOpus (): RecorderComponents['decodeOpus'] {
    return this.components.decodeOpus
  }

  /** Whether this recorder can make Opus tracks. */
  get canOpus (): boolean {
    return this.components.toOpus !== undefined
  }

  get recording (): boolean {
    return this.manifest !== undefined && this.stopping === undefined
  }

  get status (): RecorderStatus {
    const tracks = [...this.tracks.values()].map((t) => ({ ...t.meta, seconds: t.end / this.components.sampleRate, live: t.tap !== undefined }))
    const seconds = this.recording ? Math.max(0, (this.components.frameNow() - this.startFrame) / this.components.sampleRate) : 0
    const rate = tracks.reduce((sum, t) => sum + t.channels * 2 * this.components.sampleRate, 0)
    const secondsLeft = this.free === undefined || rate === 0 ? undefined : this.free / rate
    return {
      dir: this.dir,
      recording: this.recording,
      seconds,
      tracks,
      bytes: this.bytes,
      freeBytes: this.free,
      secondsLeft,
      lowSpace: secondsLeft !== undefined && secondsLeft < RECORDER_LIMITS.warnBelowSeconds,
      lostSeconds: this.lostFrames / this.components.sampleRate,
      error: this.error,
      converting: this.converting
    }
  }

  /**
   * Starts a recording: its directory, its manifest, and the program's track.
   * @throws {RecorderStateError} while one runs
   */
  async start (init: RecordingInit, program: AudioNode): Promise<void> {
    if (this.manifest !== undefined) throw new RecorderStateError('a recording is running already')
    const startedAt = this.now()
    this.startFrame = this.components.frameNow()
    this.dir = `recording-${startedAt}`
    const format = init.format === 'opus' && this.canOpus ? 'opus' : 'wav'
    this.manifest = { version: 1, show: init.show.trim().slice(0, 120) || 'Show', startedAt, sampleRate: this.components.sampleRate, format, tracks: [] }
    this.bytes = 0
    this.lostFrames = 0
    this.error = undefined
    this.stopping = undefined
    await this.attach('program', 'Program', program, 2)
    void this.readFree()
    this.estimateTimer = setInterval(() => { void this.readFree() }, RECORDER_LIMITS.estimateEveryMs)
    log('recording %s to %s', this.manifest.show, this.dir)
  }

  /**
   * Records `node` on participant `id`'s track: a new track the first time,
   * the same one when it comes back (a redial, a new microphone track).
   * Does nothing while no recording runs.
   */
  async attach (id: string, who: string, node: AudioNode, channels: 1 | 2 = 1): Promise<void> {
    const manifest = this.manifest
    const dir = this.dir
    if (manifest === undefined || dir === undefined || !this.recording) return
    let track = this.tracks.get(id)
    if (track === undefined) {
      if (this.tracks.size >= MAX_TRACKS) throw new RecorderStateError(`a recording holds at most ${MAX_TRACKS} tracks`)
      const file = this.uniqueFile(manifest, id === 'program' ? 'program' : slug(who, 'caller'))
      const handle = await this.components.storage.open(dir, file)
      track = { meta: { id, who: who.slice(0, 64), file, channels }, handle, end: 0 }
      this.tracks.set(id, track)
      manifest.tracks.push(track.meta)
      await handle.write(0, wavHeader({ sampleRate: manifest.sampleRate, channels }, 0))
      await this.saveManifest()
    }
    track.tap?.stop()
    const current = track
    current.tap = await this.components.tap(node, { channels: current.meta.channels, frames: RECORDER_LIMITS.blockFrames }, (block) => { this.write(current, block) })
    this.emitStatus()
  }

  /** Stops recording participant `id` (it left); its track waits, silent, for it to come back. */
  detach (id: string): void {
    const track = this.tracks.get(id)
    track?.tap?.stop()
    if (track !== undefined) track.tap = undefined
    this.emitStatus()
  }

  /** Stops the recording: every track as long as the longest, its header set, the manifest marked finished. Idempotent. */
  async stop (): Promise<RecordingManifest | undefined> {
    this.stopping ??= this.finish()
    return this.stopping
  }

  private async finish (): Promise<RecordingManifest | undefined> {
    const manifest = this.manifest
    if (manifest === undefined) return undefined
    clearInterval(this.estimateTimer)
    for (const track of this.tracks.values()) track.tap?.stop()
    // Blocks already handed to storage land before the headers: the Worker answers in order.
    const end = Math.max(0, ...[...this.tracks.values()].map((t) => t.end))
    for (const track of this.tracks.values()) {
      const format = { sampleRate: manifest.sampleRate, channels: track.meta.channels }
      try {
        await track.handle.truncate(wavOffset(format, end))
        await track.handle.write(0, wavHeader(format, wavOffset(format, end) - WAV_HEADER_BYTES))
        await track.handle.close()
      } catch (err) {
        this.fail(err as Error)
      }
      track.tap = undefined
    }
    manifest.finishedAt = this.now()
    manifest.seconds = end / manifest.sampleRate
    await this.saveManifest()
    if (manifest.format === 'opus') await this.makeOpus()
    log('recorded %s: %d tracks, %d s', manifest.show, this.tracks.size, end / manifest.sampleRate)
    const done = manifest
    if (this.dir !== undefined) this.finished.set(this.dir, { manifest: done, seconds: end / manifest.sampleRate })
    for (const old of [...this.finished.keys()].slice(0, -RECORDER_LIMITS.keepFinished)) this.finished.delete(old)
    this.manifest = undefined
    this.dir = undefined
    this.tracks.clear()
    this.emitStatus()
    return done
  }

  /** Replaces each WAV track with Opus in Ogg; a track that fails stays WAV, and says so. */
  private async makeOpus (): Promise<void> {
    const toOpus = this.components.toOpus
    const dir = this.dir
    if (toOpus === undefined || dir === undefined) return
    const tracks = [...this.tracks.values()]
    for (const [i, track] of tracks.entries()) {
      const wav = track.meta.file
      const opus = opusFileName(wav)
      try {
        await toOpus(dir, wav, opus, track.meta.channels, (share) => {
          this.converting = (i + share) / tracks.length
          this.emitStatus()
        })
        track.meta.file = opus
        await this.saveManifest()
        await this.components.storage.removeFile(dir, wav)
      } catch (err) {
        this.error = `${wav} stays WAV: the Opus file could not be made (${(err as Error).message})`
        log.error('opus for %s: %s', wav, (err as Error).message)
      }
    }
    this.converting = undefined
  }

  /** One block of a track: to its place on the timeline, trimmed to the recording's start. */
  private write (track: Track, block: TapBlock): void {
    if (!this.recording) return
    const first = block.frame - this.startFrame
    const from = Math.max(0, -first)
    if (from >= block.frames) return
    const bytes = toPcm16(block.data, block.frames, block.channels, from)
    const frames = block.frames - from
    if (this.pendingBytes + bytes.length > RECORDER_LIMITS.maxPendingBytes) {
      this.lostFrames += frames
      this.emitStatus()
      return
    }
    const format = { sampleRate: this.components.sampleRate, channels: track.meta.channels }
    track.end = Math.max(track.end, first + block.frames)
    this.pendingBytes += bytes.length
    const size = bytes.length
    track.handle.write(wavOffset(format, first + from), bytes).then(() => { this.bytes += size }, (err: Error) => {
      this.lostFrames += frames
      this.fail(err)
    }).finally(() => { this.pendingBytes -= size })
  }

  private fail (err: Error): void {
    log.error('recording storage: %s', err.message)
    this.error = err instanceof StorageWriteError && err.reason === 'QuotaExceededError'
      ? 'The disk is full: audio is being lost. Free space, or stop the recording and download what was written.'
      : `Recording storage failed: ${err.message}`
    this.emitStatus()
  }

  private uniqueFile (manifest: RecordingManifest, who: string): string {
    const taken = new Set(manifest.tracks.map((t) => t.file))
    let file = trackFileName(manifest.show, manifest.startedAt, who)
    for (let n = 2; taken.has(file); n++) file = trackFileName(manifest.show, manifest.startedAt, `${who}-${n}`)
    return file
  }

  private async saveManifest (): Promise<void> {
    if (this.manifest === undefined || this.dir === undefined) return
    await this.components.storage.put(this.dir, MANIFEST_NAME, encodeManifest(this.manifest))
  }

  private async readFree (): Promise<void> {
    try {
      const { usage, quota } = await this.components.storage.estimate()
      this.free = Math.max(0, quota - usage)
      this.emitStatus()
    } catch (err) {
      log('storage estimate: %s', (err as Error).message)
    }
  }

  private emitStatus (): void {
    this.safeDispatchEvent('status:change', { detail: this.status })
  }
}
