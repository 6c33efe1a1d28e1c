/**
 * Program ingest: the studio's encoded program arrives on
 * `/openstudio/program/1` (read and written by network/'s `handleProgram`)
 * and leaves as an Icecast source (node/'s `IcecastSource`, with its ring
 * buffer and reconnects). Only the stations this relay serves may stream; one
 * program runs per mount, and a new stream from a station replaces the old
 * one. When the new stream is the same Ogg stream (a studio that lost its link
 * and came back), the Icecast connection carries on without a break.
 */
import { rm } from 'node:fs/promises'
import { logger } from '@libp2p/logger'
import { TypedEventEmitter, type Libp2p, type PeerId } from '@libp2p/interface'
import { handleProgram, HLS_DEFAULTS, IcecastSource, readIcecastMounts, type IceHeaders, type ProgramReply, type ProgramSink, type SourceStatus } from '@openstudio/node'
import {
  bytesEqual, isOpusHeaderPage, MalformedError, NO_GRANULE, OggRepager, PROGRAM_CONTENT_TYPE, readOggPage, verifyManifestOrThrow, verifyNowPlayingOrThrow,
  type Manifest, type NowPlaying, type ProgramRefusal, type ProgramStart
} from '@openstudio/protocol'
import { PROGRAM_POLICY_DEFAULTS as D } from './constants.ts'
import { ProgramRenditions, type HlsRenditionInit, type Mp3RenditionInit, type RenditionName, type RenditionStatus } from './renditions.ts'

const log = logger('openstudio:relay:program')

export interface ProgramInit {
  /** Station ids whose studios may stream here; `*` lets any station stream (local networks only). */
  stations: string[]
  /** Icecast's base URL, such as `http://127.0.0.1:8000`. */
  icecastUrl: string
  icecastPassword: string
  /** Icecast's URL as listeners reach it (behind TLS, say). @default icecastUrl */
  publicUrl?: string
  /** @default '/live.ogg' */
  mount?: string
  /** Audio kept for replay after an Icecast outage, in ms. @default ICECAST_SOURCE_DEFAULTS.bufferMs (30 s) */
  bufferMs?: number
  /**
   * Memory the replay buffer may hold, in bytes: it bounds pages that claim no audio (a granule position that never advances).
   * @default bufferMs × ICECAST_SOURCE_DEFAULTS.bufferBytesPerSecond / 1000 (2.1 MiB for 30 s)
   */
  bufferBytes?: number
  /** How often Icecast's listener count is read. @default PROGRAM_POLICY_DEFAULTS.listenersIntervalMs */
  listenersIntervalMs?: number
  /** How often the studio gets a status without a change. @default PROGRAM_POLICY_DEFAULTS.statusIntervalMs */
  statusIntervalMs?: number
  /** A program whose stream broke is ended when no new stream took over by then. @default PROGRAM_POLICY_DEFAULTS.abandonMs */
  abandonMs?: number
  /** Ask Icecast to list the stream in public directories (Ice-Public). @default false */
  public?: boolean
  /**
   * Audio gathered into each Ogg page for Icecast, in ms: the studio's 10 ms
   * pages cost every listener about 23 % more bytes at 96 kb/s in page
   * headers (docs/icecast.md, "Lean pages for listeners"). 0 passes the
   * studio's pages on as they came.
   * @default PROGRAM_POLICY_DEFAULTS.oggPageMs (200)
   */
  oggPageMs?: number
  /**
   * An MP3 mount made from the program with ffmpeg, for legacy players; its
   * ICY title is the show's now playing. The relay CLI makes one at
   * MP3_DEFAULTS ('/live.mp3', 128 kb/s) unless told not to.
   * @default none
   */
  mp3?: Mp3RenditionInit | false
  /**
   * An HLS rendition made with ffmpeg, served by the relay's HTTP server under
   * `/hls/` (for Safari, CDNs and static hosts). The relay CLI makes one when
   * it serves HTTP, unless told not to.
   * @default none
   */
  hls?: HlsRenditionInit | false
  /** @default 'ffmpeg' */
  ffmpegPath?: string
}

/** Program options that cannot work (some of stations, Icecast URL and password without the others). */
export class ProgramConfigError extends Error {
  override readonly name = 'ProgramConfigError'
}

export interface ProgramServiceComponents {
  registrar: Pick<Libp2p, 'handle' | 'unhandle'>
}

export interface ProgramServiceEvents {
  /** A station's studio started streaming (or took over the mount). */
  'program:start': CustomEvent<{ station: string, replaced: boolean }>
  /** A stream was refused before it started. */
  'program:refuse': CustomEvent<{ peer: string, reason: ProgramRefusal | 'timeout' }>
  /** The program's Icecast source changed state. */
  'program:status': CustomEvent<SourceStatus & { station: string }>
  /** Icecast reported the mount's listeners. */
  'program:listeners': CustomEvent<{ station: string, listeners: number }>
  /** The station signed a new now-playing title (already verified). */
  'program:now-playing': CustomEvent<{ station: string, nowPlaying: NowPlaying, statement: Uint8Array }>
  /** A now-playing statement from the studio did not verify: it changed nothing, and the show went on. */
  'program:now-playing-refuse': CustomEvent<{ station: string, reason: string }>
  /** The studio ended the show, or its stream broke. */
  'program:end': CustomEvent<{ station: string, why: string }>
}

/** The mount's current program. */
interface Program {
  station: string
  manifest: Manifest
  start: ProgramStart
  source: IcecastSource
  /** The MP3 mount (and any other rendition): started, fed and stopped with `source`. */
  renditions: ProgramRenditions
  /** The newest title the station signed for this show. */
  nowPlaying?: { nowPlaying: NowPlaying, statement: Uint8Array }
  /** The header pages `source` was started with, when it carries on from an earlier stream. */
  sourceHeaders?: Uint8Array[]
  /** Ogg header pages, complete once the first audio page arrived. */
  headers: Uint8Array[]
  /** The last header page ends in a packet that continues on the next page. */
  headerOpenEnded: boolean
  headersDone: boolean
  lastGranule?: bigint
  /** Gathers the audio pages for `source` (one per source: a stream that carries on keeps it). */
  repager?: OggRepager
  /** The stream feeding it now, and how to talk back to it. */
  reply: ProgramReply
  sinkId: number
  listeners?: number
}

export class ProgramService extends TypedEventEmitter<ProgramServiceEvents> {
  private readonly stations: Set<string>
  readonly mount: string
  private program?: Program
  private nextSinkId = 0
  private running = false
  private statusTimer?: ReturnType<typeof setInterval>
  private listenersTimer?: ReturnType<typeof setInterval>
  /** Ends the current program when its broken stream was not taken over in time. */
  private abandonTimer?: ReturnType<typeof setTimeout>
  private unhandle?: () => Promise<void>

  constructor (private readonly components: ProgramServiceComponents, private readonly init: ProgramInit) {
    super()
    this.stations = new Set(init.stations)
    this.mount = init.mount ?? D.mount
  }

  /** The current program's source and renditions, for health and metrics. */
  get current (): { station: string, status: SourceStatus, listeners?: number, renditions: RenditionStatus[], nowPlaying?: string } | undefined {
    const p = this.program
    return p === undefined
      ? undefined
      : { station: p.station, status: p.source.status, listeners: p.listeners, renditions: p.renditions.status, nowPlaying: p.nowPlaying?.nowPlaying.title }
  }

  /** The current program's ffmpeg processes by rendition, for CPU figures (and tests that kill one). */
  get renditionPids (): Partial<Record<RenditionName, number>> {
    return this.program?.renditions.pids ?? {}
  }

  /** Registers `/openstudio/program/1` and starts the status and listener timers. Idempotent. */
  async start (): Promise<void> {
    if (this.running) return
    this.unhandle = await handleProgram(this.components.registrar, {
      accept: (from, start, reply) => this.accept(from, start, reply, Date.now()),
      onRejected: (from, why) => { this.safeDispatchEvent('program:refuse', { detail: { peer: from.toString(), reason: why === 'timeout' ? 'timeout' : 'malformed' } }) }
    })
    this.running = true
    this.statusTimer = setInterval(() => { this.report() }, this.init.statusIntervalMs ?? D.statusIntervalMs)
    this.listenersTimer = setInterval(() => { void this.readListeners() }, this.init.listenersIntervalMs ?? D.listenersIntervalMs)
  }

  /** Unregisters the protocol, clears every timer and stops the program's Icecast source. Idempotent. */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearInterval(this.statusTimer)
    clearInterval(this.listenersTimer)
    clearTimeout(this.abandonTimer)
    this.abandonTimer = undefined
    await this.unhandle?.()
    this.unhandle = undefined
    if (this.program !== undefined) await stopOutputs(this.program)
    this.program = undefined
    // The HLS segments of the last show are no one's once the relay stops.
    if (this.init.hls !== undefined && this.init.hls !== false) await rm(this.init.hls.dir, { recursive: true, force: true })
  }

  /** Decides on a `start` at `now` (unix ms). */
  accept (from: PeerId, start: ProgramStart, reply: ProgramReply, now: number): ProgramSink | ProgramRefusal {
    const station = from.toString()
    if (!this.stations.has(station) && !this.stations.has('*')) return this.refuse(station, 'not-station')
    let manifest: Manifest
    try {
      manifest = verifyManifestOrThrow(start.record, { now })
      if (manifest.id !== station) throw new Error(`the manifest is for ${manifest.id}`)
    } catch (err) {
      log('program from %s with a bad manifest: %s', station, (err as Error).message)
      return this.refuse(station, 'bad-manifest')
    }
    const previous = this.program
    const sinkId = ++this.nextSinkId
    // A new stream takes over: the program waiting for one is not abandoned.
    clearTimeout(this.abandonTimer)
    this.abandonTimer = undefined
    if (previous !== undefined) {
      log.error('program of %s replaces the running program of %s', station, previous.station)
      previous.reply.refuse('replaced')
    }
    // A same-format stream from the same station may continue the same Ogg stream: decided once its headers are in.
    const carryOn = previous?.station === station && sameFormat(previous.start, start) && previous.headersDone
    const nowPlaying = previous?.station === station ? previous.nowPlaying : undefined
    const outputs = carryOn ? previous : this.newOutputs(manifest, start, nowPlaying)
    const program: Program = {
      station,
      manifest,
      start,
      source: outputs.source,
      renditions: outputs.renditions,
      nowPlaying,
      sourceHeaders: carryOn ? previous.headers : undefined,
      repager: carryOn ? previous.repager : undefined,
      headers: [],
      headerOpenEnded: false,
      headersDone: false,
      reply,
      sinkId,
      listeners: previous?.listeners
    }
    this.program = program
    if (previous !== undefined && previous.source !== program.source) void stopOutputs(previous)
    this.safeDispatchEvent('program:start', { detail: { station, replaced: previous !== undefined } })
    log('program of %s on %s%s', station, this.init.icecastUrl, this.mount)
    return {
      mount: this.mount,
      listenUrl: `${this.init.publicUrl ?? this.init.icecastUrl}${this.mount}`,
      renditions: program.renditions.streams,
      data: (bytes) => { this.data(program, bytes) },
      nowPlaying: (statement) => { this.nowPlaying(program, statement, Date.now()) },
      close: (why) => { this.closed(program, sinkId, why) }
    }
  }

  /**
   * The Icecast source of the Ogg mount and the renditions made beside it, for
   * one Ogg stream. New renditions of a show keep its title: the studio sends
   * it again on a new stream, but it is not newer, so it changes nothing.
   */
  private newOutputs (manifest: Manifest, start: ProgramStart, nowPlaying: Program['nowPlaying']): { source: IcecastSource, renditions: ProgramRenditions } {
    const headers = iceHeaders(manifest, start, this.init.public ?? false)
    const renditions = new ProgramRenditions({
      icecastUrl: this.init.icecastUrl,
      icecastPassword: this.init.icecastPassword,
      publicUrl: this.init.publicUrl ?? this.init.icecastUrl,
      mp3: this.init.mp3 === false ? undefined : this.init.mp3,
      hls: this.init.hls === false || this.init.hls === undefined ? undefined : { ...HLS_DEFAULTS, ...this.init.hls },
      ffmpegPath: this.init.ffmpegPath,
      bufferMs: this.init.bufferMs
    }, start.format, headers)
    if (nowPlaying !== undefined) renditions.setTitle(nowPlaying.nowPlaying.title)
    return { source: this.newSource(start, headers), renditions }
  }

  private newSource (start: ProgramStart, headers: IceHeaders): IcecastSource {
    const source = new IcecastSource({
      url: this.init.icecastUrl,
      mount: this.mount,
      password: this.init.icecastPassword,
      contentType: PROGRAM_CONTENT_TYPE[start.format],
      headers,
      bufferMs: this.init.bufferMs,
      bufferBytes: this.init.bufferBytes
    })
    source.addEventListener('status:change', (e) => {
      if (this.program?.source !== source) return
      this.safeDispatchEvent('program:status', { detail: { ...e.detail, station: this.program.station } })
      this.report()
    })
    return source
  }

  /**
   * One message of audio: an Ogg page (checked, and its length read from the
   * granule positions) or a WebM chunk.
   * @throws {MalformedError | TooLargeError} for a page that does not read, or more header pages than `maxHeaderPages`
   */
  private data (program: Program, bytes: Uint8Array): void {
    if (this.program !== program) return
    if (program.start.format === 'webm-opus') {
      if (!program.headersDone) this.headersComplete(program, [bytes])
      else {
        program.source.push(bytes, (bytes.length * 8) / program.start.bitrate)
        program.renditions.push(bytes)
      }
      return
    }
    const page = readOggPage(bytes)
    if (!program.headersDone) {
      if (isOpusHeaderPage(page) || program.headerOpenEnded) {
        if (program.headers.length >= D.maxHeaderPages) throw new MalformedError(`more than ${D.maxHeaderPages} Ogg header pages`)
        program.headers.push(bytes)
        program.headerOpenEnded = page.openEnded
        return
      }
      this.headersComplete(program, program.headers)
    }
    program.renditions.push(bytes)
    if (program.repager !== undefined) {
      for (const out of program.repager.push(page)) toSource(program, out.bytes, out.ms)
      return
    }
    let ms = 0
    if (page.granule !== NO_GRANULE) {
      if (program.lastGranule !== undefined && page.granule > program.lastGranule) ms = Number(page.granule - program.lastGranule) / 48
      program.lastGranule = page.granule
    }
    toSource(program, bytes, ms)
  }

  private headersComplete (program: Program, headers: Uint8Array[]): void {
    program.headersDone = true
    program.headers = headers
    if (program.sourceHeaders !== undefined && !sameHeaders(program.sourceHeaders, headers)) {
      // The studio restarted its encoder: a new Ogg stream needs a new source connection.
      void stopOutputs(program)
      Object.assign(program, this.newOutputs(program.manifest, program.start, program.nowPlaying))
      program.repager = undefined
    }
    const pageMs = this.init.oggPageMs ?? D.oggPageMs
    if (program.start.format === 'ogg-opus' && pageMs > 0) program.repager ??= new OggRepager({ pageMs, firstSequence: headers.length })
    program.source.setStreamHeaders(headers)
    program.source.start()
    void program.renditions.start(headers)
    this.report()
  }

  private closed (program: Program, sinkId: number, why: string): void {
    if (this.program !== program || program.sinkId !== sinkId) return
    log('program of %s: stream %s', program.station, why)
    this.safeDispatchEvent('program:end', { detail: { station: program.station, why } })
    if (why === 'end') {
      this.endProgram(program)
      return
    }
    // A broken or stalled stream keeps the source and its buffer a while: the studio reconnects and carries on.
    clearTimeout(this.abandonTimer)
    this.abandonTimer = setTimeout(() => {
      this.abandonTimer = undefined
      if (this.program === program && program.sinkId === sinkId) this.endProgram(program)
    }, this.init.abandonMs ?? D.abandonMs)
  }

  /**
   * A signed now-playing statement from the studio: a newer title goes to the
   * MP3 mount's ICY title and out to the directory; an older one changes
   * nothing. One that does not verify (another key, a title that is not
   * sanitized, too old) is refused with its error's name, and the show goes on:
   * a bad title is no reason to cut the program.
   */
  private nowPlaying (program: Program, statement: Uint8Array, now: number): void {
    if (this.program !== program) return
    let nowPlaying: NowPlaying
    try {
      nowPlaying = verifyNowPlayingOrThrow(statement, program.station, now)
    } catch (err) {
      log('refused now playing from %s: %s', program.station, (err as Error).message)
      this.safeDispatchEvent('program:now-playing-refuse', { detail: { station: program.station, reason: (err as Error).name } })
      return
    }
    if (program.nowPlaying !== undefined && program.nowPlaying.nowPlaying.at >= nowPlaying.at) return
    program.nowPlaying = { nowPlaying, statement }
    program.renditions.setTitle(nowPlaying.title)
    log('now playing on %s: %s', program.station, nowPlaying.title)
    this.safeDispatchEvent('program:now-playing', { detail: { station: program.station, nowPlaying, statement } })
  }

  private endProgram (program: Program): void {
    // The last page the repager held: the end of the show.
    for (const out of program.repager?.flush(true) ?? []) toSource(program, out.bytes, out.ms)
    if (this.program === program) {
      this.program = undefined
      clearTimeout(this.abandonTimer)
      this.abandonTimer = undefined
    }
    void stopOutputs(program)
  }

  private report (): void {
    const program = this.program
    if (program === undefined) return
    const s = program.source.status
    if (s.state === 'stopped') return
    program.reply.status({
      icecast: program.headersDone ? s.state : 'connecting',
      attempt: s.attempt,
      listeners: program.listeners,
      backlogMs: Math.round(s.backlogMs),
      bufferedMs: Math.round(s.bufferedMs),
      bytesIn: s.bytesIn,
      bytesOut: s.bytesOut,
      reconnects: s.reconnects,
      error: s.error?.slice(0, 200)
    })
  }

  private async readListeners (): Promise<void> {
    const program = this.program
    if (program === undefined || program.source.status.state !== 'connected') return
    try {
      const mount = (await readIcecastMounts(this.init.icecastUrl)).get(this.mount)
      if (mount === undefined || this.program !== program) return
      program.listeners = mount.listeners
      this.safeDispatchEvent('program:listeners', { detail: { station: program.station, listeners: mount.listeners } })
    } catch (err) {
      log('no listener count from %s: %s', this.init.icecastUrl, (err as Error).message)
    }
  }

  private refuse (peer: string, reason: ProgramRefusal): ProgramRefusal {
    log('refused a program stream from %s: %s', peer, reason)
    this.safeDispatchEvent('program:refuse', { detail: { peer, reason } })
    return reason
  }
}

function sameHeaders (a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.length === b.length && a.every((page, i) => bytesEqual(page, b[i] as Uint8Array))
}

function sameFormat (a: ProgramStart, b: ProgramStart): boolean {
  return a.format === b.format && a.bitrate === b.bitrate && a.channels === b.channels
}

/** Ice-* headers from the station's signed manifest. */
export function iceHeaders (manifest: Manifest, start: ProgramStart, isPublic: boolean): IceHeaders {
  return {
    name: manifest.name,
    description: manifest.description,
    genre: manifest.tags.join(' '),
    url: manifest.homepage,
    public: isPublic && manifest.access === 'open',
    audioInfo: `channels=${start.channels};samplerate=${start.sampleRate};bitrate=${start.bitrate}`
  }
}

async function stopOutputs (outputs: { source: IcecastSource, renditions: ProgramRenditions }): Promise<void> {
  await Promise.all([outputs.source.stop(), outputs.renditions.stop()])
}

/** One Ogg page to the program's Icecast source; no page claims more than `maxPageMs` of audio. */
function toSource (program: Program, bytes: Uint8Array, ms: number): void {
  program.source.push(bytes, Math.min(ms, D.maxPageMs))
}
