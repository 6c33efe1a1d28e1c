/**
 * The studio's recording desk (docs/recording.md): the voices the mixer
 * hears, kept so that a recording started later gets every one on its own
 * track; the multitrack recorder while the studio runs; and callers' own
 * recordings arriving on `/openstudio/upload/1` (the double-ender). The
 * studio tells it whom it hears and who left, and it tells callers, on
 * their signalling streams, whether the show is being recorded.
 */
import { logger } from '@libp2p/logger'
import type { StudioRecorder, RecordingInit } from '../recording/recorder.ts'
import { UploadReceiver } from '../recording/uploads.ts'
import type { AbortOptions, StudioCall, StudioComponents } from './components.ts'

const log = logger('openstudio:app:studio:recording')

export interface RecordingDeskParts {
  /** The running studio's recorder, if its audio has one. */
  recorder: () => StudioRecorder | undefined
  /** Every call now, to tell whether the show is recorded. */
  calls: () => Iterable<StudioCall>
  /** A caller's audio's delay from its microphone to the mixer, as measured now (ms). */
  delayMs: (peer: string) => number
}

export class RecordingDesk {
  /** Every voice the mixer hears now, by participant. */
  private readonly voices = new Map<string, { who: string, node: AudioNode }>()
  /** Callers' own recordings (the double-ender), while this studio records or just did. */
  uploads?: UploadReceiver
  private unhandle?: () => Promise<void>

  constructor (private readonly parts: RecordingDeskParts) {}

  /** Whether a recording runs now. */
  get recording (): boolean {
    return this.parts.recorder()?.recording === true
  }

  /** A voice the mixer hears now: kept for a recording to come, and recorded at once while one runs. */
  hear (id: string, who: string, node: AudioNode): void {
    this.voices.set(id, { who, node })
    this.parts.recorder()?.attach(id, who, node).catch((err: Error) => { log.error('recording %s: %s', who, err.message) })
  }

  /** A voice left: its track (if any) keeps silence from here. */
  leave (id: string): void {
    this.voices.delete(id)
    this.parts.recorder()?.detach(id)
  }

  /**
   * Starts recording `program` and every voice heard, and tells the callers.
   * @throws RecorderStateError while one runs
   */
  async start (recorder: StudioRecorder, init: RecordingInit, program: AudioNode): Promise<void> {
    await recorder.start(init, program)
    for (const [id, voice] of this.voices) await recorder.attach(id, voice.who, voice.node)
    // Callers who agreed record their own microphone too, and upload it.
    await this.announce()
  }

  /** Stops the recording and finishes its files; callers stop theirs and finish their uploads. */
  async stop (): Promise<void> {
    await this.parts.recorder()?.stop()
    await this.announce()
  }

  /** Tells every caller (or one) whether the show is being recorded now, and which recording. */
  async announce (call?: StudioCall): Promise<void> {
    const status = this.parts.recorder()?.status
    const message = { type: 'recording' as const, recording: status?.recording === true ? status.dir : undefined }
    await Promise.all((call === undefined ? [...this.parts.calls()] : [call]).map(async (c) => { await c.send(message) }))
  }

  /** Takes callers' uploads until `shutdown`, when the studio records and can receive them. */
  async openUploads (handler: StudioComponents['uploads'], shutdown: AbortSignal, options: AbortOptions = {}): Promise<void> {
    const recorder = this.parts.recorder()
    if (recorder === undefined || handler === undefined) return
    const uploads = new UploadReceiver({
      storage: recorder.storage,
      recording: (dir) => recorder.recordingFor(dir),
      decodeOpus: recorder.decodeOpus,
      delayMs: this.parts.delayMs
    })
    this.uploads = uploads
    this.unhandle = await handler((channel) => { void uploads.handle(channel, { signal: shutdown }) }, options)
  }

  /** Ends with the studio: the recording's files finished, uploads no longer taken. Never throws. */
  async close (): Promise<void> {
    await this.parts.recorder()?.stop().catch((err: Error) => { log.error('recording did not finish: %s', err.message) })
    const unhandle = this.unhandle
    this.unhandle = undefined
    await unhandle?.().catch((err: Error) => { log('upload handler not removed: %s', err.message) })
  }
}
