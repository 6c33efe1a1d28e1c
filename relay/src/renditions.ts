/**
 * The program's other renditions, made by the relay from the same stream the
 * Ogg mount gets:
 * - an MP3 mount for legacy players, radio directories and smart speakers,
 *   with the show's now-playing title as its ICY title;
 * - HLS (AAC in 1 s MPEG-TS segments) in a directory the relay's HTTP server
 *   serves under `/hls/`, for Safari, CDNs and static hosts.
 * Each rendition is its own ffmpeg (node/'s Transcoder), and the MP3 mount
 * its own Icecast source (with its ring buffer and reconnects), so a failure
 * stays in one. See docs/icecast.md, "The MP3 mount and Now playing", and
 * "HLS".
 */
import { mkdir, rm } from 'node:fs/promises'
import { logger } from '@libp2p/logger'
import { hlsOutput, IcecastSource, mp3Output, setIcecastTitle, Transcoder, type IceHeaders, type TranscoderStatus } from '@openstudio/node'
import type { ProgramFormat, Stream } from '@openstudio/protocol'

const log = logger('openstudio:relay:renditions')

export interface Mp3RenditionInit {
  /** Such as `/live.mp3`. */
  mount: string
  /** kb/s. */
  bitrate: number
}

export interface HlsRenditionInit {
  /** Where ffmpeg writes the playlist and segments: a directory of its own, emptied when a program starts. */
  dir: string
  /** The relay's HTTP server as listeners reach it, such as `https://relay.example.org`: the playlist is `<url>/hls/<name>.m3u8`. */
  publicUrl: string
  /** @default HLS_DEFAULTS.name */
  name?: string
  /** kb/s. @default HLS_DEFAULTS.bitrate */
  bitrate?: number
  /** @default HLS_DEFAULTS.segmentSeconds */
  segmentSeconds?: number
  /** @default HLS_DEFAULTS.listSize */
  listSize?: number
}

export interface RenditionsInit {
  icecastUrl: string
  icecastPassword: string
  /** Icecast's URL as listeners reach it. */
  publicUrl: string
  /** @default no MP3 mount */
  mp3?: Mp3RenditionInit
  /** @default no HLS */
  hls?: Required<HlsRenditionInit>
  /** @default 'ffmpeg' */
  ffmpegPath?: string
  bufferMs?: number
}

export type RenditionName = 'mp3' | 'hls'

/** One rendition's health, for `/health` and the metrics. */
export interface RenditionStatus {
  name: RenditionName
  transcoder: TranscoderStatus
  /** The MP3 mount's Icecast source; HLS has none. */
  icecast?: IcecastSource['status']['state']
}

interface Rendition {
  name: RenditionName
  transcoder: Transcoder
  source?: IcecastSource
  stream: Stream
}

/** The renditions of one program's stream: started with its headers, fed every unit, stopped with it. */
export class ProgramRenditions {
  private readonly renditions: Rendition[] = []
  private running = false
  private title?: string
  /** The title the MP3 mount has now, as far as the relay knows. */
  private titleSet?: string

  constructor (private readonly init: RenditionsInit, format: ProgramFormat, headers: IceHeaders) {
    const inputFormat = format === 'ogg-opus' ? 'ogg' : 'matroska'
    const transcoder = (name: RenditionName, output: string[]): Transcoder =>
      new Transcoder({ inputFormat, output, ffmpegPath: init.ffmpegPath, logName: `openstudio:relay:ffmpeg:${name}` })
    if (init.mp3 !== undefined) {
      const { mount, bitrate } = init.mp3
      const source = new IcecastSource({
        url: init.icecastUrl,
        mount,
        password: init.icecastPassword,
        contentType: 'audio/mpeg',
        headers: { ...headers, audioInfo: `channels=2;samplerate=48000;bitrate=${bitrate}` },
        bufferMs: init.bufferMs
      })
      const mp3 = transcoder('mp3', mp3Output(bitrate))
      mp3.addEventListener('output:data', (e) => { source.push(e.detail, e.detail.length * 8 / bitrate) })
      // A title set before the mount existed (or lost with an Icecast restart) is set again once the source is in.
      source.addEventListener('status:change', (e) => {
        if (e.detail.state !== 'connected') return
        this.titleSet = undefined
        void this.applyTitle()
      })
      this.renditions.push({ name: 'mp3', transcoder: mp3, source, stream: { url: `${init.publicUrl}${mount}`, codec: 'mp3', bitrate, mount } })
    }
    if (init.hls !== undefined) {
      const { dir, publicUrl, name, bitrate } = init.hls
      this.renditions.push({
        name: 'hls',
        transcoder: transcoder('hls', hlsOutput(dir, init.hls)),
        stream: { url: `${publicUrl}/hls/${name}.m3u8`, codec: 'aac', bitrate, mount: `/${name}.m3u8` }
      })
    }
  }

  /** The manifest's stream entries for the renditions. */
  get streams (): Stream[] {
    return this.renditions.map((r) => r.stream)
  }

  get status (): RenditionStatus[] {
    return this.renditions.map((r) => ({ name: r.name, transcoder: r.transcoder.status, ...(r.source === undefined ? {} : { icecast: r.source.status.state }) }))
  }

  /** The ffmpeg processes, for CPU figures. */
  get pids (): Partial<Record<RenditionName, number>> {
    return Object.fromEntries(this.renditions.map((r) => [r.name, r.transcoder.pid]))
  }

  /** Starts every rendition with the stream's header units. Idempotent. */
  async start (headers: Uint8Array[]): Promise<void> {
    if (this.running) return
    this.running = true
    // The last program's segments go: a player must never mix two shows' sequence numbers.
    if (this.init.hls !== undefined) await emptyDir(this.init.hls.dir)
    if (!this.running) return
    for (const r of this.renditions) {
      r.transcoder.setStreamHeaders(headers)
      r.transcoder.start()
      r.source?.start()
    }
  }

  /** One unit of the program (an Ogg page as the studio sent it, or a WebM chunk). */
  push (bytes: Uint8Array): void {
    if (!this.running) return
    for (const r of this.renditions) r.transcoder.push(bytes)
  }

  /** The ICY title of the MP3 mount (sanitized again on its way to Icecast). */
  setTitle (title: string): void {
    this.title = title
    void this.applyTitle()
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    await Promise.all(this.renditions.flatMap((r) => [r.transcoder.stop(), r.source?.stop()]))
  }

  private async applyTitle (): Promise<void> {
    const title = this.title
    const mp3 = this.renditions.find((r) => r.name === 'mp3')
    const source = mp3?.source
    if (source === undefined || title === undefined || this.titleSet === title || source.status.state !== 'connected') return
    this.titleSet = title
    const mount = mp3?.stream.mount
    try {
      await setIcecastTitle(title, { url: this.init.icecastUrl, mount: mount as string, password: this.init.icecastPassword })
      log('title of %s: %s', mount, title)
    } catch (err) {
      if (this.titleSet === title) this.titleSet = undefined
      log.error('title of %s not set: %s', mount, (err as Error).message)
    }
  }
}

/** Removes what a directory holds (the directory stays). */
async function emptyDir (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
}
