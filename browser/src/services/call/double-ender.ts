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
 * - Each take (a page's recording) is a file of its own, with a note of
 *   its start (`local-<recording>/take-<id>.pcm` and `.json`). A page that
 *   reloaded finds the takes it had not finished sending (`earlierTakes`)
 *   and sends them first (`DoubleEnder.resume`); a take the studio has
 *   whole is deleted here.
 */
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import { z } from 'zod'
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

/** Where a take's files are kept in this browser's storage. */
const takeDir = (recording: string): string => `local-${recording}`
const TAKE_NOTE = /^take-(\d{1,16})\.json$/
/** A take's note is a few dozen bytes; anything larger is not ours. */
const TAKE_NOTE_MAX_BYTES = 1024

const takeNoteSchema = z.strictObject({
  version: z.literal(1),
  /** The station whose studio the take goes to. */
  station: z.string().min(1).max(64),
  recording: z.string().min(1).max(64),
  sampleRate: z.number().int().min(8000).max(192_000),
  startMs: z.number().nonnegative()
})

/** A take this browser recorded and has not finished sending. */
export interface EarlierTake {
  recording: string
  take: string
  sampleRate: number
  startMs: number
  /** Bytes recorded. */
  bytes: number
}

/**
 * The takes for `station` that this browser recorded and the studio does
 * not have whole yet, oldest first. A note that is not one (too large, not
 * JSON, not the schema) is skipped.
 */
export async function earlierTakes (storage: RecordingStorage, station: string): Promise<EarlierTake[]> {
  const takes: EarlierTake[] = []
  for (const dir of (await storage.dirs()).filter((d) => d.startsWith('local-'))) {
    const files = await storage.files(dir)
    for (const { name, size } of files) {
      const take = TAKE_NOTE.exec(name)?.[1]
      if (take === undefined || size > TAKE_NOTE_MAX_BYTES) continue
      try {
        const note = takeNoteSchema.parse(JSON.parse(await (await storage.read(dir, name)).text()))
        const pcm = files.find((f) => f.name === `take-${take}.pcm`)
        if (note.station !== station || takeDir(note.recording) !== dir || pcm === undefined) continue
        takes.push({ recording: note.recording, take, sampleRate: note.sampleRate, startMs: note.startMs, bytes: pcm.size - (pcm.size % 2) })
      } catch (err) {
        log('skipping %s/%s: %s', dir, name, (err as Error).message)
      }
    }
  }
  return takes.sort((a, b) => a.startMs - b.startMs)
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
  /** Whether the studio is recording the show now: the upload then keeps to its pace. @default until this take stops */
  showRunning?: () => boolean
  /** @default pause (backoff.ts) */
  pause?: (ms: number, options: { signal?: AbortSignal }) => Promise<void>
  /** @default performance.now */
  clock?: () => number
}

export interface DoubleEnderInit {
  /** The studio's recording this take is for. */
  recording: string
  /** The station whose studio that is. */
  station: string
  /** The studio's clock minus this computer's, in ms. */
  clockOffsetMs: number
  /** This take's name in storage. @default the wall clock's ms now */
  take?: string
  /** The upload begins once this settles: earlier takes go first, so the studio never takes this one for their end. */
  after?: Promise<unknown>
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
  private readonly showRunning: () => boolean
  private readonly take: string
  /** Set once the studio has the whole take, or refused it, or this one was disposed. */
  readonly ended: Promise<void>
  private end: () => void = () => {}
  /** A take from an earlier page, sent as it is (see resume). */
  private readonly earlier: boolean

  constructor (private readonly components: DoubleEnderComponents, private readonly init: DoubleEnderInit, earlier?: EarlierTake) {
    super()
    this.pause = components.pause ?? pause
    this.clock = components.clock ?? (() => performance.now())
    this.showRunning = components.showRunning ?? (() => !this.done)
    this.take = earlier?.take ?? init.take ?? String(Date.now())
    this.ended = new Promise<void>((resolve) => { this.end = resolve })
    this.earlier = earlier !== undefined
    if (earlier !== undefined) {
      this.startMs = earlier.startMs
      this.recorded = earlier.bytes
      this.done = true
      this.state = 'uploading'
    }
  }

  /**
   * A take an earlier page recorded (earlierTakes): nothing more is
   * recorded; `start` sends what the studio does not have.
   */
  static resume (components: Omit<DoubleEnderComponents, 'tap' | 'wallMsOfFrame' | 'sampleRate'>, take: EarlierTake, init: { station: string, after?: Promise<unknown> }): DoubleEnder {
    const recordsNothing = async (): Promise<never> => { throw new Error('a resumed take records nothing') }
    return new DoubleEnder({ ...components, sampleRate: take.sampleRate, tap: recordsNothing, wallMsOfFrame: () => take.startMs }, { recording: take.recording, station: init.station, clockOffsetMs: 0, after: init.after }, take)
  }

  get status (): LocalRecordingStatus {
    return { state: this.state, seconds: this.recorded / 2 / this.components.sampleRate, sent: this.sent, recorded: this.recorded, refusal: this.refusal, error: this.error }
  }

  /** Starts recording the microphone here (a new take), and uploading it; or, resumed, uploading the rest. */
  async start (): Promise<void> {
    this.handle = await this.components.storage.open(takeDir(this.init.recording), `take-${this.take}.pcm`)
    if (!this.earlier) {
      await this.handle.truncate(0)
      this.tap = await this.components.tap({ channels: 1, frames: UPLOAD_PACE.blockFrames }, (block) => { this.onBlock(block) })
    }
    void this.upload().finally(() => { this.end() })
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
    this.end()
  }

  private onBlock (block: TapBlock): void {
    if (this.done || this.handle === undefined) return
    // The first sample, on the studio's clock: where the studio will place this recording. The note lets a later page
    // send what this one could not.
    if (this.startMs === undefined) {
      this.startMs = this.components.wallMsOfFrame(block.frame) + this.init.clockOffsetMs
      const { station, recording } = this.init
      const note = { version: 1, station, recording, sampleRate: this.components.sampleRate, startMs: this.startMs }
      this.components.storage.put(takeDir(recording), `take-${this.take}.json`, new TextEncoder().encode(JSON.stringify(note))).catch((err: Error) => { log('take note: %s', err.message) })
    }
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
        await this.init.after
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
      // One upload per caller at a time: the stream of a page that just reloaded may not have ended at the studio yet.
      if (answer?.type === 'refuse' && answer.reason === 'busy') throw new Error('the studio is still ending your last upload')
      if (answer?.type === 'refuse') {
        this.set({ state: 'refused', refusal: answer.reason })
        return
      }
      // A take the studio placed already (this page's predecessor saw it through, then reloaded).
      if (answer?.type === 'complete' && this.done) return await this.finished()
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
        if (this.showRunning()) {
          window.bytes += bytes.length
          const due = window.at + (window.bytes / UPLOAD_PACE.duringShowBytesPerSecond) * 1000 - this.clock()
          if (due > 0) await this.pause(due, { signal })
          if (window.bytes > UPLOAD_PACE.duringShowBytesPerSecond) window = { at: this.clock(), bytes: 0 }
        }
      }
      await channel.send({ type: 'done', bytes: this.sent }, { signal })
      const last = await answers
      if (last !== 'complete') throw new Error(last === undefined ? 'the studio closed the upload' : `the studio answered ${last}`)
      await this.finished()
    } finally {
      await channel.close().catch((err: Error) => { log('upload stream close: %s', err.message) })
    }
  }

  /** The studio has the whole take: it is no longer kept here. */
  private async finished (): Promise<void> {
    this.sent = this.recorded
    this.set({ state: 'uploaded' })
    await this.handle?.close()
    const { storage } = this.components
    const dir = takeDir(this.init.recording)
    for (const name of [`take-${this.take}.json`, `take-${this.take}.pcm`]) await storage.removeFile(dir, name)
    if ((await storage.files(dir)).length === 0) await storage.remove(dir)
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
