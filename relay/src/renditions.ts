/**
 * The program's other renditions, made by the relay from the same stream the
 * Ogg mount gets: an MP3 mount for legacy players, radio directories and
 * smart speakers, with the show's now-playing title as its ICY title. Each
 * rendition is its own ffmpeg (node/'s Transcoder) and its own Icecast
 * source (with its ring buffer and reconnects), so a failure stays in one.
 * See docs/icecast.md, "Renditions".
 */
import { logger } from '@libp2p/logger'
import { IcecastSource, mp3Output, setIcecastTitle, Transcoder, type IceHeaders, type TranscoderStatus } from '@openstudio/node'
import type { ProgramFormat, Stream } from '@openstudio/protocol'

const log = logger('openstudio:relay:renditions')

export interface Mp3RenditionInit {
  /** Such as `/live.mp3`. */
  mount: string
  /** kb/s. */
  bitrate: number
}

export interface RenditionsInit {
  icecastUrl: string
  icecastPassword: string
  /** Icecast's URL as listeners reach it. */
  publicUrl: string
  /** @default no MP3 mount */
  mp3?: Mp3RenditionInit
  /** @default 'ffmpeg' */
  ffmpegPath?: string
  bufferMs?: number
}

/** One rendition's health, for `/health` and the metrics. */
export interface RenditionStatus {
  name: 'mp3'
  transcoder: TranscoderStatus
  icecast: IcecastSource['status']['state']
}

/** The renditions of one program's stream: started with its headers, fed every unit, stopped with it. */
export class ProgramRenditions {
  private readonly mp3?: { transcoder: Transcoder, source: IcecastSource, title?: string, titleSet?: string }
  private running = false

  constructor (private readonly init: RenditionsInit, format: ProgramFormat, headers: IceHeaders) {
    if (init.mp3 !== undefined) {
      const transcoder = new Transcoder({
        inputFormat: format === 'ogg-opus' ? 'ogg' : 'matroska',
        output: mp3Output(init.mp3.bitrate),
        ffmpegPath: init.ffmpegPath,
        logName: 'openstudio:relay:ffmpeg:mp3'
      })
      const source = new IcecastSource({
        url: init.icecastUrl,
        mount: init.mp3.mount,
        password: init.icecastPassword,
        contentType: 'audio/mpeg',
        headers: { ...headers, audioInfo: `channels=2;samplerate=48000;bitrate=${init.mp3.bitrate}` },
        bufferMs: init.bufferMs
      })
      const bytesPerMs = init.mp3.bitrate / 8
      transcoder.addEventListener('output:data', (e) => { source.push(e.detail, e.detail.length / bytesPerMs) })
      const mp3: { transcoder: Transcoder, source: IcecastSource, title?: string, titleSet?: string } = { transcoder, source }
      // A title set before the mount existed (or lost with an Icecast restart) is set again once the source is in.
      source.addEventListener('status:change', (e) => {
        if (e.detail.state === 'connected') mp3.titleSet = undefined
        if (e.detail.state === 'connected') void this.applyTitle()
      })
      this.mp3 = mp3
    }
  }

  /** The manifest's stream entries for the renditions. */
  get streams (): Stream[] {
    const mp3 = this.init.mp3
    return mp3 === undefined ? [] : [{ url: `${this.init.publicUrl}${mp3.mount}`, codec: 'mp3', bitrate: mp3.bitrate, mount: mp3.mount }]
  }

  get status (): RenditionStatus[] {
    return this.mp3 === undefined ? [] : [{ name: 'mp3', transcoder: this.mp3.transcoder.status, icecast: this.mp3.source.status.state }]
  }

  /** The ffmpeg processes, for CPU figures. */
  get pids (): Record<string, number | undefined> {
    return { mp3: this.mp3?.transcoder.pid }
  }

  /** Starts every rendition with the stream's header units. Idempotent. */
  start (headers: Uint8Array[]): void {
    if (this.running) return
    this.running = true
    if (this.mp3 !== undefined) {
      this.mp3.transcoder.setStreamHeaders(headers)
      this.mp3.transcoder.start()
      this.mp3.source.start()
    }
  }

  /** One unit of the program (an Ogg page as the studio sent it, or a WebM chunk). */
  push (bytes: Uint8Array): void {
    if (this.running) this.mp3?.transcoder.push(bytes)
  }

  /** The ICY title of the MP3 mount (sanitized again on its way to Icecast). */
  setTitle (title: string): void {
    if (this.mp3 === undefined) return
    this.mp3.title = title
    void this.applyTitle()
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    if (this.mp3 !== undefined) await Promise.all([this.mp3.transcoder.stop(), this.mp3.source.stop()])
  }

  private async applyTitle (): Promise<void> {
    const mp3 = this.mp3
    const title = mp3?.title
    if (mp3 === undefined || title === undefined || mp3.titleSet === title || mp3.source.status.state !== 'connected') return
    mp3.titleSet = title
    try {
      await setIcecastTitle(title, { url: this.init.icecastUrl, mount: (this.init.mp3 as Mp3RenditionInit).mount, password: this.init.icecastPassword })
      log('title of %s: %s', this.init.mp3?.mount, title)
    } catch (err) {
      if (mp3.titleSet === title) mp3.titleSet = undefined
      log.error('title of %s not set: %s', this.init.mp3?.mount, (err as Error).message)
    }
  }
}
