/**
 * An Icecast source client that loses no audio when Icecast blinks.
 *
 * It speaks Icecast's source protocol on a raw socket: a `PUT` that is never
 * chunked (Icecast 2.4 leaves chunk framing in the stream), a bare
 * Content-Type and Ice-* headers, then one write per unit of audio (Icecast
 * forwards one Ogg page per read). Every unit goes into a ring buffer first.
 * When the connection fails, it reconnects with exponential backoff and
 * jitter, sends the stream headers again, and replays from shortly before the
 * failure, so the outage is the only audio Icecast never had. The ring is
 * bounded by time and by memory: units that claim no time (an Ogg page whose
 * granule position never advances) cannot grow it without end.
 */
import { connect, type Socket } from 'node:net'
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import { ICECAST_SOURCE_DEFAULTS as D } from './constants.ts'

const log = logger('openstudio:icecast:source')

/** Ice-* headers: what Icecast shows about the stream and passes to directories. */
export interface IceHeaders {
  name?: string
  description?: string
  genre?: string
  url?: string
  /** List the stream in public YP directories. @default false */
  public?: boolean
  /** Such as `channels=2;samplerate=48000;bitrate=96`. */
  audioInfo?: string
}

export interface IcecastSourceInit {
  /** Icecast's base URL, such as `http://127.0.0.1:8000`. */
  url: string
  /** Such as `/live.ogg`. */
  mount: string
  password: string
  /** @default 'source' */
  user?: string
  /** A bare type such as `audio/ogg`. */
  contentType: string
  headers?: IceHeaders
  /** Audio kept for replay after an outage, in ms. @default ICECAST_SOURCE_DEFAULTS.bufferMs (30 s) */
  bufferMs?: number
  /**
   * Memory the ring may hold, in bytes: its units' bytes plus
   * `ICECAST_SOURCE_DEFAULTS.unitOverheadBytes` for each. The oldest units go
   * first when either this or `bufferMs` is exceeded; the newest unit is
   * always kept. The backlog (audio Icecast has not had yet) is part of the ring.
   * @default bufferMs × ICECAST_SOURCE_DEFAULTS.bufferBytesPerSecond / 1000 (2.1 MiB for 30 s: room for 320 kb/s in 10 ms pages)
   */
  bufferBytes?: number
  /** Audio sent again from before a failure, since Icecast may have lost what was in flight, in ms. @default ICECAST_SOURCE_DEFAULTS.replayOverlapMs */
  replayOverlapMs?: number
  /** First reconnect delay; it doubles up to `backoffMaxMs`. @default 500 */
  backoffInitialMs?: number
  /** @default 10_000 */
  backoffMaxMs?: number
  /** Each delay is scaled by a random factor in [1 - jitter, 1 + jitter]. @default 0.2 */
  jitter?: number
  /** A connection whose answer or drain takes longer is dropped. @default ICECAST_SOURCE_DEFAULTS.stallTimeoutMs */
  stallTimeoutMs?: number
  /** @default Math.random */
  random?: () => number
}

export type SourceState = 'connecting' | 'connected' | 'reconnecting' | 'failed' | 'stopped'

export interface SourceStatus {
  state: SourceState
  /** Attempts since the last successful connection. */
  attempt: number
  reconnects: number
  bytesIn: number
  bytesOut: number
  /** Audio queued that Icecast has not had yet, in ms. */
  backlogMs: number
  /** Audio held for replay, in ms. */
  bufferedMs: number
  /** Bytes of the units held for replay (the bound also charges a fixed overhead per unit). */
  bufferedBytes: number
  /** Audio dropped from the ring before Icecast had it (an outage longer than the buffer), in ms. */
  lostMs: number
  /** Bytes dropped from the ring before Icecast had them: an outage longer than the buffer, or units beyond its byte bound. */
  lostBytes: number
  /** Why the last connection failed. */
  error?: string
}

export interface IcecastSourceEvents {
  /** The state changed (connecting, connected, reconnecting, failed, stopped). */
  'status:change': CustomEvent<SourceStatus>
}

/** An HTTP answer from Icecast that is not a 200: wrong password, mount in use, bad type. */
export class IcecastRefusedError extends Error {
  override readonly name = 'IcecastRefusedError'
  constructor (readonly status: number, statusText: string) {
    super(`Icecast refused the source: ${status} ${statusText}`)
  }
}

interface Unit {
  bytes: Uint8Array
  ms: number
  /** When it was handed to the socket, for the replay overlap. */
  sentAt?: number
}

/**
 * @example
 * ```ts
 * const source = new IcecastSource({ url: 'http://127.0.0.1:8000', mount: '/live.ogg', password, contentType: 'audio/ogg' })
 * source.setStreamHeaders([opusHeadPage, opusTagsPage])
 * source.start()
 * source.push(page, 10)          // one Ogg page, 10 ms of audio
 * await source.stop()
 * ```
 */
export class IcecastSource extends TypedEventEmitter<IcecastSourceEvents> {
  private readonly ring: Unit[] = []
  /** Index in `ring` of the next unit to send. */
  private next = 0
  private ringMs = 0
  /** Bytes of the units in `ring`. */
  private ringBytes = 0
  private readonly maxMs: number
  private readonly maxBytes: number
  private headers: Uint8Array[] = []
  private socket?: Socket
  private writing = false
  private retryTimer?: ReturnType<typeof setTimeout>
  private readonly stats: SourceStatus = { state: 'stopped', attempt: 0, reconnects: 0, bytesIn: 0, bytesOut: 0, backlogMs: 0, bufferedMs: 0, bufferedBytes: 0, lostMs: 0, lostBytes: 0 }
  private everConnected = false
  private running = false

  constructor (private readonly init: IcecastSourceInit) {
    super()
    this.maxMs = init.bufferMs ?? D.bufferMs
    this.maxBytes = init.bufferBytes ?? Math.ceil(this.maxMs * D.bufferBytesPerSecond / 1000)
  }

  get status (): SourceStatus {
    return { ...this.stats, backlogMs: this.backlogMs(), bufferedMs: this.ringMs, bufferedBytes: this.ringBytes }
  }

  /** The units every connection starts with (Ogg: the BOS and comment pages). */
  setStreamHeaders (headers: Uint8Array[]): void {
    this.headers = headers
  }

  /** Connects, and keeps reconnecting until `stop`. Idempotent. */
  start (): void {
    if (this.running) return
    this.running = true
    this.stats.attempt = 0
    this.attemptConnect()
  }

  /** Queues one unit of audio (`ms` long) and sends it when connected. */
  push (bytes: Uint8Array, ms: number): void {
    this.stats.bytesIn += bytes.length
    // A view into a larger buffer (a socket read, Buffer's pool) would hold all of it: the ring keeps its own copy.
    this.ring.push({ bytes: bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes), ms })
    this.ringMs += ms
    this.ringBytes += bytes.length
    this.trim()
    this.pump()
  }

  /** Sends what is queued (briefly), then ends the source. Idempotent. */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    clearTimeout(this.retryTimer)
    const socket = this.socket
    this.socket = undefined
    if (socket !== undefined && !socket.destroyed) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => { socket.destroy(); resolve() }, D.stopFlushMs)
        socket.end(() => { clearTimeout(timer); resolve() })
      })
    }
    this.setState('stopped')
  }

  private attemptConnect (): void {
    if (!this.running) return
    this.stats.attempt++
    // A refusal stays "failed" through the retries: only a connection clears it.
    this.setState(this.stats.state === 'failed' ? 'failed' : this.everConnected ? 'reconnecting' : 'connecting')
    const url = new URL(this.init.url)
    const socket = connect({ host: url.hostname, port: Number(url.port === '' ? 80 : url.port), noDelay: true })
    this.socket = socket
    let answered = false
    let answer = ''
    const stall = setTimeout(() => { socket.destroy(new Error(`no answer from Icecast within ${this.stallTimeoutMs} ms`)) }, this.stallTimeoutMs)
    socket.on('connect', () => { socket.write(this.requestHead()) })
    socket.on('data', (chunk: Buffer) => {
      if (answered) return
      answer += chunk.toString('latin1')
      if (answer.length > D.maxAnswerBytes) { socket.destroy(new Error('Icecast sent an oversized answer')); return }
      const end = answer.indexOf('\r\n\r\n')
      if (end < 0) return
      answered = true
      clearTimeout(stall)
      const match = /^HTTP\/1\.[01] (\d{3}) ?([^\r\n]*)/.exec(answer)
      const status = Number(match?.[1] ?? 0)
      if (status !== 200) { socket.destroy(new IcecastRefusedError(status, match?.[2] ?? 'no HTTP status line')); return }
      this.onConnected()
    })
    socket.on('error', (err) => { this.failed(socket, err) })
    socket.on('close', () => {
      clearTimeout(stall)
      this.failed(socket, new Error(answered ? 'Icecast closed the source connection' : 'Icecast closed the connection before answering'))
    })
  }

  private onConnected (): void {
    if (this.everConnected) this.stats.reconnects++
    this.everConnected = true
    this.stats.attempt = 0
    this.stats.error = undefined
    log('source %s%s connected; replaying %d ms', this.init.url, this.init.mount, this.backlogMs())
    this.setState('connected')
    for (const header of this.headers) this.write(header)
    this.pump()
  }

  /** Handles the end of a connection once, then schedules the next attempt. */
  private failed (socket: Socket, err: Error): void {
    if (this.socket !== socket) return
    this.socket = undefined
    this.writing = false
    socket.destroy()
    if (!this.running) return
    this.stats.error = err.message
    log('source %s%s: %s', this.init.url, this.init.mount, err.message)
    this.rewind()
    const refused = err instanceof IcecastRefusedError
    const base = Math.min(this.backoffMaxMs, this.backoffInitialMs * 2 ** Math.max(0, this.stats.attempt - 1))
    const jitter = this.init.jitter ?? D.jitter
    const delay = base * (1 - jitter + 2 * jitter * (this.init.random ?? Math.random)())
    this.setState(refused ? 'failed' : this.everConnected ? 'reconnecting' : 'connecting')
    this.retryTimer = setTimeout(() => { this.attemptConnect() }, delay)
  }

  /** Goes back to the first unit sent within the replay overlap before now. */
  private rewind (): void {
    const since = Date.now() - (this.init.replayOverlapMs ?? D.replayOverlapMs)
    let i = this.next
    while (i > 0 && ((this.ring[i - 1] as Unit).sentAt ?? 0) > since) i--
    this.next = i
  }

  /** Writes queued units, one per write, while the socket takes them. */
  private pump (): void {
    if (this.writing || this.stats.state !== 'connected' || this.socket === undefined) return
    while (this.next < this.ring.length) {
      const unit = this.ring[this.next] as Unit
      this.next++
      unit.sentAt = Date.now()
      if (!this.write(unit.bytes)) {
        this.awaitDrain(this.socket)
        return
      }
    }
  }

  private write (bytes: Uint8Array): boolean {
    this.stats.bytesOut += bytes.length
    return this.socket?.write(bytes) ?? false
  }

  private awaitDrain (socket: Socket): void {
    this.writing = true
    const stall = setTimeout(() => { socket.destroy(new Error(`Icecast took no data for ${this.stallTimeoutMs} ms`)) }, this.stallTimeoutMs)
    socket.once('drain', () => {
      clearTimeout(stall)
      if (this.socket !== socket) return
      this.writing = false
      this.pump()
    })
  }

  /** Keeps the ring within its length and its memory, oldest first; what falls out unsent is lost. */
  private trim (): void {
    while ((this.ringMs > this.maxMs || this.ringBytes + this.ring.length * D.unitOverheadBytes > this.maxBytes) && this.ring.length > 1) {
      const unit = this.ring.shift() as Unit
      this.ringMs -= unit.ms
      this.ringBytes -= unit.bytes.length
      if (this.next > 0) this.next--
      else {
        this.stats.lostMs += unit.ms
        this.stats.lostBytes += unit.bytes.length
      }
    }
  }

  private backlogMs (): number {
    let ms = 0
    for (let i = this.next; i < this.ring.length; i++) ms += (this.ring[i] as Unit).ms
    return ms
  }

  private requestHead (): string {
    const url = new URL(this.init.url)
    const auth = Buffer.from(`${this.init.user ?? 'source'}:${this.init.password}`).toString('base64')
    const h = this.init.headers ?? {}
    const lines = [
      `PUT ${this.init.mount} HTTP/1.1`,
      `Host: ${url.host}`,
      `Authorization: Basic ${auth}`,
      'User-Agent: OpenStudio relay',
      `Content-Type: ${this.init.contentType}`,
      `Ice-Public: ${h.public === true ? 1 : 0}`
    ]
    const optional: Array<[string, string | undefined]> = [
      ['Ice-Name', h.name], ['Ice-Description', h.description], ['Ice-Genre', h.genre], ['Ice-Url', h.url], ['Ice-Audio-Info', h.audioInfo]
    ]
    for (const [name, value] of optional) if (value !== undefined && value !== '') lines.push(`${name}: ${headerValue(value)}`)
    return `${lines.join('\r\n')}\r\n\r\n`
  }

  private setState (state: SourceState): void {
    const changed = this.stats.state !== state
    this.stats.state = state
    if (changed || state !== 'connected') this.safeDispatchEvent('status:change', { detail: this.status })
  }

  private get stallTimeoutMs (): number { return this.init.stallTimeoutMs ?? D.stallTimeoutMs }
  private get backoffInitialMs (): number { return this.init.backoffInitialMs ?? D.backoffInitialMs }
  private get backoffMaxMs (): number { return this.init.backoffMaxMs ?? D.backoffMaxMs }
}

/** One header line's value (sent as UTF-8): no control characters, so no header injection, and bounded. */
function headerValue (value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, D.maxHeaderChars)
}
