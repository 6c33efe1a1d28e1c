/**
 * The caller's side of the double-ender: with the caller's consent, while
 * the studio records, the call page records the caller's own microphone
 * before the network (no loss, no codec) into this browser's storage, and
 * uploads it to the studio over `/openstudio/upload/1` (docs/recording.md).
 *
 * - Upload runs during the show at UPLOAD_PACE.duringShowBytesPerSecond at
 *   most, so the call's audio keeps its bandwidth; once the recording
 *   stops, it sends the rest as fast as the connection takes it.
 * - A broken upload starts again from what the studio says it has.
 * - The first sample's capture time is given on the studio's clock (the
 *   offset measured over signalling), so the studio can place the upload.
 */
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import type { UploadRefusal } from '@openstudio/protocol'
import type { TapBlock } from '../../audio/program-tap.ts'
import { Backoff, pause } from '../backoff.ts'
import type { RecordingStorage, TrackHandle } from '../recording/storage.ts'
import type { UploadEndpoint } from '../recording/uploads.ts'
import { toPcm16 } from '../recording/wav.ts'

const log = logger('openstudio:app:caller:double-ender')

export const UPLOAD_PACE = {
  /** During the show: well under a call's spare uplink, and over Opus's 30–60 kb/s a few times. */
  duringShowBytesPerSecond: 64 * 1024,
  /** Bytes read from storage and sent as one chunk (the protocol's largest). */
  chunkBytes: 32 * 1024,
  /** Frames per block from the microphone's tap (100 ms). */
  blockFrames: 4800,
  /** Redial waits after a broken upload, in ms. */
  retryFirstMs: 1000,
  retryMaxMs: 15_000
} as const

export type LocalRecordingState = 'recording' | 'uploading' | 'uploaded' | 'refused' | 'stopped'

export interface LocalRecordingStatus {
  state: LocalRecordingState
  /** Seconds recorded here. */
  seconds: number
  /** Bytes the studio has of it. */
  sent: number
  /** Bytes recorded. */
  recorded: number
  refusal?: UploadRefusal
  /** The last failure, for people (an upload that broke and will be tried again). */
  error?: string
}

export interface DoubleEnderEvents {
  'status:change': CustomEvent<LocalRecordingStatus>
}

export interface DoubleEnderComponents {
  storage: RecordingStorage
  /** Taps the microphone (mono blocks, stamped with their frame). */
  tap: (init: { channels: 1, frames: number }, onBlock: (block: TapBlock) => void) => Promise<{ stop: () => void }>
  /** Unix ms (this computer's clock) when frame `frame` of the microphone's context was captured. */
  wallMsOfFrame: (frame: number) => number
  sampleRate: number
  /** Opens an upload stream to the studio. @throws when there is no direct connection to it now */
  openUpload: (options: { signal: AbortSignal }) => Promise<UploadEndpoint>
  /** @default pause (backoff.ts) */
  pause?: (ms: number, options: { signal?: AbortSignal }) => Promise<void>
  /** @default performance.now */
  clock?: () => number
}

export class DoubleEnder extends TypedEventEmitter<DoubleEnderEvents> {
  private readonly shutdown = new AbortController()
  private handle?: TrackHandle
  private tap?: { stop: () => void }
  private recorded = 0
  private sent = 0
  private startMs?: number
  private done = false
  private state: LocalRecordingState = 'recording'
  private refusal?: UploadRefusal
  private error?: string
  /** Wakes the uploader when there is more to send, or the recording stopped. */
  private wake?: () => void
  private readonly pause: NonNullable<DoubleEnderComponents['pause']>
  private readonly clock: () => number

  constructor (private readonly components: DoubleEnderComponents, private readonly init: { recording: string, clockOffsetMs: number }) {
    super()
    this.pause = components.pause ?? pause
    this.clock = components.clock ?? (() => performance.now())
  }

  get status (): LocalRecordingStatus {
    return { state: this.state, seconds: this.recorded / 2 / this.components.sampleRate, sent: this.sent, recorded: this.recorded, refusal: this.refusal, error: this.error }
  }

  /** Starts recording the microphone here, and uploading it. */
  async start (): Promise<void> {
    this.handle = await this.components.storage.open(`local-${this.init.recording}`, 'microphone.pcm')
    await this.handle.truncate(0)
    this.tap = await this.components.tap({ channels: 1, frames: UPLOAD_PACE.blockFrames }, (block) => { this.onBlock(block) })
    void this.upload()
  }

  /** Stops recording here; the upload sends the rest and finishes. Idempotent. */
  stopRecording (): void {
    if (this.done) return
    this.done = true
    this.tap?.stop()
    if (this.state === 'recording') this.set({ state: 'uploading' })
    this.wake?.()
  }

  /** Stops everything, the upload too (the page is closing). */
  dispose (): void {
    this.stopRecording()
    this.shutdown.abort()
    void this.handle?.close()
  }

  private onBlock (block: TapBlock): void {
    if (this.done || this.handle === undefined) return
    // The first sample, on the studio's clock: where the studio will place this recording.
    this.startMs ??= this.components.wallMsOfFrame(block.frame) + this.init.clockOffsetMs
    const bytes = toPcm16(block.data, block.frames, 1)
    const at = this.recorded
    this.recorded += bytes.length
    this.handle.write(at, bytes).then(() => { this.wake?.() }, (err: Error) => { this.set({ error: `Recording here failed: ${err.message}` }) })
    this.emitStatus()
  }

  /** Sends what is recorded until all of it is with the studio; a broken stream is opened again. */
  private async upload (): Promise<void> {
    const backoff = new Backoff({ initialMs: UPLOAD_PACE.retryFirstMs, maxMs: UPLOAD_PACE.retryMaxMs })
    while (!this.shutdown.signal.aborted && this.state !== 'uploaded' && this.state !== 'refused') {
      try {
        await this.waitFor(() => this.startMs !== undefined)
        await this.session()
        backoff.reset()
      } catch (err) {
        if (this.shutdown.signal.aborted) return
        log('upload broke: %s', (err as Error).message)
        this.set({ error: `Sending your recording paused (${(err as Error).message}); trying again.` })
        await this.pause(backoff.next(), { signal: this.shutdown.signal }).catch(() => {})
      }
    }
  }

  /** One upload stream: offer, then chunks from where the studio is, then done. */
  private async session (): Promise<void> {
    const signal = this.shutdown.signal
    const channel = await this.components.openUpload({ signal })
    try {
      await channel.send({ type: 'offer', recording: this.init.recording, sampleRate: this.components.sampleRate, channels: 1, startMs: this.startMs as number })
      const answer = await channel.read({ signal })
      if (answer?.type === 'refuse') {
        this.set({ state: 'refused', refusal: answer.reason })
        return
      }
      if (answer?.type !== 'accept') throw new Error(`the studio answered ${answer?.type ?? 'nothing'}`)
      this.sent = answer.have
      this.set({ error: undefined })
      const answers = this.readAnswers(channel)
      // Read to the end below; a stream that breaks first is reported there, or by the next send.
      answers.catch((err: Error) => { log('upload answers: %s', err.message) })
      let window = { at: this.clock(), bytes: 0 }
      for (;;) {
        await this.waitFor(() => this.sent < this.recorded || this.done)
        if (this.sent >= this.recorded && this.done) break
        const bytes = await (this.handle as TrackHandle).read(this.sent, Math.min(UPLOAD_PACE.chunkBytes, this.recorded - this.sent))
        if (bytes.length === 0) continue
        await channel.send({ type: 'chunk', at: this.sent, bytes }, { signal })
        this.sent += bytes.length
        this.emitStatus()
        // During the show, a steady pace; after it, as fast as it goes.
        if (!this.done) {
          window.bytes += bytes.length
          const due = window.at + (window.bytes / UPLOAD_PACE.duringShowBytesPerSecond) * 1000 - this.clock()
          if (due > 0) await this.pause(due, { signal })
          if (window.bytes > UPLOAD_PACE.duringShowBytesPerSecond) window = { at: this.clock(), bytes: 0 }
        }
      }
      await channel.send({ type: 'done', bytes: this.sent }, { signal })
      const last = await answers
      if (last !== 'complete') throw new Error(last === undefined ? 'the studio closed the upload' : `the studio answered ${last}`)
      this.set({ state: 'uploaded' })
      await this.handle?.close()
    } finally {
      await channel.close().catch((err: Error) => { log('upload stream close: %s', err.message) })
    }
  }

  /** Reads the studio's answers while chunks go out: acks move `sent` on; the last answer is returned. */
  private async readAnswers (channel: UploadEndpoint): Promise<string | undefined> {
    for await (const message of channel.messages({ signal: this.shutdown.signal })) {
      if (message.type === 'refuse') {
        this.set({ state: 'refused', refusal: message.reason })
        return message.type
      }
      if (message.type === 'complete') return message.type
    }
    return undefined
  }

  /** Resolves once `ready` holds (checked again on every wake). */
  private async waitFor (ready: () => boolean): Promise<void> {
    while (!ready()) {
      this.shutdown.signal.throwIfAborted()
      await new Promise<void>((resolve) => { this.wake = resolve })
    }
  }

  private set (patch: { state?: LocalRecordingState, refusal?: UploadRefusal, error?: string }): void {
    if (patch.state !== undefined) this.state = patch.state
    if ('refusal' in patch) this.refusal = patch.refusal
    if ('error' in patch) this.error = patch.error
    this.emitStatus()
  }

  private emitStatus (): void {
    this.safeDispatchEvent('status:change', { detail: this.status })
  }
}
