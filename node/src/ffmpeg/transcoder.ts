/**
 * One ffmpeg process that turns the program (Ogg Opus pages, or WebM) into
 * another rendition: MP3 on its stdout, or HLS files in a directory. The
 * relay runs one per rendition, so that one rendition's failure never takes
 * another down, and each one's CPU can be measured on its own.
 *
 * The program never waits for ffmpeg. A page goes to ffmpeg's stdin only
 * while less than `maxBacklogBytes` is waiting there; beyond that it is
 * dropped and counted. When ffmpeg exits (it crashed, or was killed), a new
 * one starts after a backoff with the stream's header pages first, so it
 * reads the same stream from where the program is now.
 */
import { spawn as nodeSpawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import { TRANSCODER_DEFAULTS as D } from './constants.ts'

export type TranscoderState = 'starting' | 'running' | 'restarting' | 'stopped'

export interface TranscoderStatus {
  state: TranscoderState
  /** ffmpeg processes started after the first. */
  restarts: number
  /** Program bytes written to ffmpeg. */
  bytesIn: number
  /** Program bytes dropped because ffmpeg fell behind. */
  bytesDropped: number
  /** Bytes ffmpeg wrote on its stdout. */
  bytesOut: number
  /** The last lines ffmpeg wrote on stderr, when it exited. */
  error?: string
}

export interface TranscoderEvents {
  'status:change': CustomEvent<TranscoderStatus>
  /** ffmpeg wrote bytes on its stdout (MP3, say). */
  'output:data': CustomEvent<Uint8Array>
}

export interface TranscoderInit {
  /** What ffmpeg reads on stdin: `ogg` for Ogg Opus pages, `matroska` for WebM. */
  inputFormat: 'ogg' | 'matroska'
  /** ffmpeg's output arguments, after its input: codec, format and where (`pipe:1` for stdout). */
  output: string[]
  /** @default 'ffmpeg' */
  ffmpegPath?: string
  /** Program bytes that may wait in ffmpeg's stdin before pages are dropped. @default TRANSCODER_DEFAULTS.maxBacklogBytes */
  maxBacklogBytes?: number
  /** First restart delay; it doubles up to `backoffMaxMs`. @default TRANSCODER_DEFAULTS.backoffInitialMs */
  backoffInitialMs?: number
  /** @default TRANSCODER_DEFAULTS.backoffMaxMs */
  backoffMaxMs?: number
  /** A run this long resets the backoff. @default TRANSCODER_DEFAULTS.healthyRunMs */
  healthyRunMs?: number
  /** @default node:child_process spawn */
  spawn?: (command: string, args: string[], options: SpawnOptions) => ChildProcess
  /** Namespace of this transcoder's log. @default 'openstudio:ffmpeg' */
  logName?: string
}

/**
 * @example
 * ```ts
 * const mp3 = new Transcoder({ inputFormat: 'ogg', output: ['-c:a', 'libmp3lame', '-b:a', '128k', '-f', 'mp3', 'pipe:1'] })
 * mp3.addEventListener('output:data', (e) => { icecast.push(e.detail, 0) })
 * mp3.setStreamHeaders([opusHead, opusTags])
 * mp3.start()
 * mp3.push(page)
 * await mp3.stop()
 * ```
 */
export class Transcoder extends TypedEventEmitter<TranscoderEvents> {
  private headers: Uint8Array[] = []
  private child?: ChildProcess
  private running = false
  private startedAt = 0
  private backoffMs: number
  private retryTimer?: ReturnType<typeof setTimeout>
  private stderrTail = ''
  private readonly stats: TranscoderStatus = { state: 'stopped', restarts: 0, bytesIn: 0, bytesDropped: 0, bytesOut: 0 }
  private readonly log

  constructor (private readonly init: TranscoderInit) {
    super()
    this.backoffMs = init.backoffInitialMs ?? D.backoffInitialMs
    this.log = logger(init.logName ?? 'openstudio:ffmpeg')
  }

  get status (): TranscoderStatus {
    return { ...this.stats }
  }

  /** The pid of the running ffmpeg, for CPU figures. */
  get pid (): number | undefined {
    return this.child?.pid
  }

  /** The units every ffmpeg starts with (Ogg: the Opus header pages; WebM: its header chunk). */
  setStreamHeaders (headers: Uint8Array[]): void {
    this.headers = headers
  }

  /** Starts ffmpeg, and starts it again whenever it exits, until `stop`. Idempotent. */
  start (): void {
    if (this.running) return
    this.running = true
    this.setState('starting')
    this.spawn()
  }

  /** One unit of the program; dropped when ffmpeg is not running or is too far behind. */
  push (bytes: Uint8Array): void {
    const stdin = this.child?.stdin
    if (stdin == null || !stdin.writable || stdin.writableLength > (this.init.maxBacklogBytes ?? D.maxBacklogBytes)) {
      if (this.running) this.stats.bytesDropped += bytes.length
      return
    }
    stdin.write(bytes)
    this.stats.bytesIn += bytes.length
  }

  /** Ends ffmpeg's input, lets it finish for a moment, then kills it. Idempotent. */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.retryTimer)
    const child = this.child
    this.child = undefined
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { child.kill('SIGKILL') }, D.stopGraceMs)
        child.once('exit', () => { clearTimeout(timer); resolve() })
        child.stdin?.end()
      })
    }
    this.setState('stopped')
  }

  private spawn (): void {
    const args = ['-hide_banner', '-loglevel', 'error', '-fflags', '+nobuffer', '-probesize', '32', '-analyzeduration', '0',
      '-f', this.init.inputFormat, '-i', 'pipe:0', '-vn', ...this.init.output]
    const child = (this.init.spawn ?? nodeSpawn)(this.init.ffmpegPath ?? 'ffmpeg', args, { stdio: ['pipe', 'pipe', 'pipe'] })
    this.child = child
    this.startedAt = Date.now()
    this.stderrTail = ''
    // A closed pipe is an exit, handled below: the write error is expected then.
    child.stdin?.on('error', (err) => { this.log('stdin: %s', err.message) })
    child.stdout?.on('data', (chunk: Buffer) => {
      if (this.child !== child) return
      this.stats.bytesOut += chunk.length
      this.safeDispatchEvent('output:data', { detail: new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength) })
    })
    child.stderr?.on('data', (chunk: Buffer) => { this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-D.stderrTailChars) })
    child.once('error', (err) => { this.exited(child, err.message) })
    child.once('exit', (code, signal) => { this.exited(child, `ffmpeg exited (${signal ?? `code ${code ?? '?'}`})`) })
    for (const header of this.headers) this.push(header)
    if (child.pid !== undefined) this.setState('running')
  }

  /** Handles the end of one ffmpeg once, and schedules the next. */
  private exited (child: ChildProcess, why: string): void {
    if (this.child !== child) return
    this.child = undefined
    if (!this.running) return
    this.stats.error = `${why}${this.stderrTail.trim() === '' ? '' : `: ${this.stderrTail.trim()}`}`.slice(0, D.stderrTailChars)
    this.log.error('%s', this.stats.error)
    const healthy = Date.now() - this.startedAt >= (this.init.healthyRunMs ?? D.healthyRunMs)
    if (healthy) this.backoffMs = this.init.backoffInitialMs ?? D.backoffInitialMs
    const delay = this.backoffMs
    this.backoffMs = Math.min(this.backoffMs * 2, this.init.backoffMaxMs ?? D.backoffMaxMs)
    this.setState('restarting')
    this.retryTimer = setTimeout(() => {
      if (!this.running) return
      this.stats.restarts++
      this.spawn()
    }, delay)
  }

  private setState (state: TranscoderState): void {
    if (this.stats.state === state) return
    this.stats.state = state
    this.safeDispatchEvent('status:change', { detail: this.status })
  }
}
