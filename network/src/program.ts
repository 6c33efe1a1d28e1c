/**
 * `/openstudio/program/1`: both ends of the program stream. The studio
 * ({@link ProgramSender}) sends `start`, then the encoded program, one
 * message per Ogg page, through a queue that shows how far the link lags.
 * The relay ({@link handleProgram}) is the one place that reads and writes
 * program streams: it bounds every message, cuts off stalled senders, and
 * hands well-formed messages to the relay's policy ({@link ProgramIngest}).
 */
import { StreamBufferError, UnsupportedProtocolError, type Libp2p, type PeerId, type Stream } from '@libp2p/interface'
import { logger } from '@libp2p/logger'
import { InvalidDataLengthError, InvalidDataLengthLengthError, InvalidMessageLengthError, lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import {
  decodeProgramDown, decodeProgramUp, encodeProgramDown, encodeProgramUp, MalformedError, MAX_PROGRAM_MESSAGE_BYTES, PROTOCOL, TooLargeError,
  type ProgramDown, type ProgramRefusal, type ProgramStart, type ProgramStatus, type ProgramUp, type Stream as ManifestStream
} from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import { ProgramRefusedError, TimeoutError } from './errors.ts'

const log = logger('openstudio:program')

const LP_INIT = { maxDataLength: MAX_PROGRAM_MESSAGE_BYTES, maxBufferSize: 4 * (MAX_PROGRAM_MESSAGE_BYTES + 16) }

export const PROGRAM_DEFAULTS = {
  /** From dial to the relay's `accepted`. */
  openTimeoutMs: 10_000,
  /** The relay cuts off a sender that says nothing for this long (the encoder sends 50–100 pages a second). */
  idleTimeoutMs: 10_000,
  /** The relay's wait for `start` after the stream opens. */
  startTimeoutMs: 5_000,
  /** Bytes the studio queues for a slow link before it drops the oldest (about 2 minutes at 128 kb/s). */
  maxQueueBytes: 2 * 1024 * 1024,
  /** One program stream per connection at a time (a replacement may overlap the old one). */
  maxInboundStreams: 2
} as const

export type ProgramStatusReport = Omit<ProgramStatus, 'type'>

export interface ProgramSenderEvents {
  /** The relay reported on its Icecast source. */
  'program:status': CustomEvent<ProgramStatusReport>
  /** The stream ended: `refused` when the relay ended it (`replaced`, `stalled`), `error` when the link broke, neither when we ended it. */
  'program:close': CustomEvent<{ refused?: ProgramRefusal, error?: Error }>
}

export interface OpenProgramInit {
  /** Gives up on the dial or the verdict: the stream is aborted, and `open` rejects with the signal's reason. */
  signal?: AbortSignal
  /** @default PROGRAM_DEFAULTS.openTimeoutMs */
  timeoutMs?: number
  /** @default PROGRAM_DEFAULTS.maxQueueBytes */
  maxQueueBytes?: number
}

/**
 * The studio's end: a program stream the relay has accepted.
 *
 * @example
 * ```ts
 * const sender = await ProgramSender.open(node, relayPeerId, { type: 'start', record, format: 'ogg-opus', bitrate: 96, channels: 2, sampleRate: 48000 })
 * sender.addEventListener('program:status', (e) => { console.log(e.detail.icecast, e.detail.listeners) })
 * for (const page of pages) sender.send(page)
 * await sender.end()
 * ```
 */
export class ProgramSender extends TypedEventEmitter<ProgramSenderEvents> {
  /** The relay's mount. */
  readonly mount: string
  /** Where listeners play it. */
  readonly listenUrl: string
  /** The other renditions the relay makes of it (an MP3 mount, HLS). */
  readonly renditions: ManifestStream[]
  private readonly queue: Uint8Array[] = []
  private queued = 0
  private sending = false
  /** The write loop that runs (or last ran): `end` waits for it. */
  private pumping: Promise<void> = Promise.resolve()
  private closed = false
  /** Bytes of audio handed to the stream. */
  bytesSent = 0
  /** Bytes dropped because the queue overflowed. */
  bytesDropped = 0
  /** A signed now-playing statement waiting to go out, ahead of the audio. */
  private nowPlayingStatement?: Uint8Array

  private constructor (
    private readonly stream: Stream, private readonly lp: LengthPrefixedStream<Stream>, readonly relay: PeerId,
    accepted: { mount: string, listenUrl: string, renditions?: ManifestStream[] }, private readonly maxQueueBytes: number
  ) {
    super()
    this.mount = accepted.mount
    this.listenUrl = accepted.listenUrl
    this.renditions = accepted.renditions ?? []
    void this.readStatuses()
  }

  /**
   * Dials the relay, sends `start`, and waits for its verdict.
   * @throws {ProgramRefusedError} the relay refused (`reason`: not-station, bad-manifest, malformed), or takes no program at all (`not-station`)
   * @throws {TimeoutError} no verdict within `timeoutMs`
   * @throws the signal's reason when `init.signal` aborts
   */
  static async open (node: Pick<Libp2p, 'dialProtocol'>, relay: PeerId, start: ProgramStart, init: OpenProgramInit = {}): Promise<ProgramSender> {
    init.signal?.throwIfAborted()
    const timeoutMs = init.timeoutMs ?? PROGRAM_DEFAULTS.openTimeoutMs
    const timeout = AbortSignal.timeout(timeoutMs)
    const signal = init.signal === undefined ? timeout : AbortSignal.any([init.signal, timeout])
    const bytes = encodeProgramUp(start)
    let stream: Stream | undefined
    try {
      stream = await node.dialProtocol(relay, PROTOCOL.program, { signal })
      const lp = lpStream(stream, LP_INIT)
      await lp.write(bytes, { signal })
      const verdict = decodeProgramDown((await lp.read({ signal })).subarray())
      if (verdict.type === 'refused') throw new ProgramRefusedError(`the relay refused the program: ${verdict.reason}`, verdict.reason)
      if (verdict.type !== 'accepted') throw new ProgramRefusedError(`the relay answered ${verdict.type} before accepting`, 'malformed')
      return new ProgramSender(stream, lp, relay, verdict, init.maxQueueBytes ?? PROGRAM_DEFAULTS.maxQueueBytes)
    } catch (err) {
      stream?.abort(err as Error)
      if (init.signal?.aborted === true) throw init.signal.reason
      if (timeout.aborted) throw new TimeoutError(`the relay did not accept the program within ${timeoutMs} ms`)
      if (err instanceof UnsupportedProtocolError) throw new ProgramRefusedError('the relay takes no program', 'not-station')
      throw err
    }
  }

  /** Bytes waiting to leave: how far the link lags. */
  get queuedBytes (): number {
    return this.queued
  }

  get open (): boolean {
    return !this.closed
  }

  /** Queues one unit of encoded audio (an Ogg page). Never blocks: a full queue drops its oldest unit. */
  send (bytes: Uint8Array): void {
    if (this.closed) return
    this.queue.push(bytes)
    this.queued += bytes.length
    while (this.queued > this.maxQueueBytes && this.queue.length > 1) {
      const dropped = this.queue.shift() as Uint8Array
      this.queued -= dropped.length
      this.bytesDropped += dropped.length
    }
    void this.drain()
  }

  /** Sends the station's signed now-playing statement (see signNowPlaying) ahead of the queued audio; a newer one replaces one not yet sent. */
  nowPlaying (statement: Uint8Array): void {
    if (this.closed) return
    this.nowPlayingStatement = statement
    void this.drain()
  }

  /** What is queued and not yet sent (to carry over to a new stream). */
  takeQueue (): Uint8Array[] {
    const pending = this.queue.splice(0)
    this.queued = 0
    return pending
  }

  /** Sends what is queued, then `end`, and closes. */
  async end (): Promise<void> {
    if (this.closed) return
    // What was queued goes out first, including pages queued while an earlier write was in flight.
    while (!this.closed && (this.sending || this.queue.length > 0)) await this.drain()
    this.closed = true
    try {
      await this.lp.write(encodeProgramUp({ type: 'end' }), { signal: AbortSignal.timeout(2_000) })
      await this.stream.close({ signal: AbortSignal.timeout(2_000) })
    } catch (err) {
      this.stream.abort(err as Error)
    }
    this.safeDispatchEvent('program:close', { detail: {} })
  }

  abort (err: Error): void {
    this.fail(err)
  }

  /** Writes the queue out (one loop at a time); resolves when that loop stops. */
  private async drain (): Promise<void> {
    if (!this.sending) {
      this.sending = true
      this.pumping = this.pump()
    }
    await this.pumping
  }

  private async pump (): Promise<void> {
    try {
      while ((this.queue.length > 0 || this.nowPlayingStatement !== undefined) && !this.closed) {
        const statement = this.nowPlayingStatement
        if (statement !== undefined) {
          this.nowPlayingStatement = undefined
          await this.lp.write(encodeProgramUp({ type: 'now-playing', statement }))
          continue
        }
        const bytes = this.queue[0] as Uint8Array
        await this.lp.write(encodeProgramUp({ type: 'data', bytes }))
        // Taken off the queue only once written: a broken link leaves it for the next stream.
        if (this.queue[0] === bytes) {
          this.queue.shift()
          this.queued -= bytes.length
        }
        this.bytesSent += bytes.length
      }
    } catch (err) {
      this.fail(err as Error)
    } finally {
      this.sending = false
    }
  }

  private async readStatuses (): Promise<void> {
    try {
      while (true) {
        const message: ProgramDown = decodeProgramDown((await this.lp.read()).subarray())
        if (message.type === 'status') {
          const { type: _, ...report } = message
          this.safeDispatchEvent('program:status', { detail: report })
        } else if (message.type === 'refused') {
          this.closed = true
          this.stream.abort(new ProgramRefusedError(`the relay ended the program: ${message.reason}`, message.reason))
          this.safeDispatchEvent('program:close', { detail: { refused: message.reason } })
          return
        }
      }
    } catch (err) {
      this.fail(err as Error)
    }
  }

  private fail (err: Error): void {
    if (this.closed) return
    this.closed = true
    log('program stream to %p failed: %s', this.relay, err.message)
    this.stream.abort(err)
    this.safeDispatchEvent('program:close', { detail: { error: err } })
  }
}

/** A program the relay accepted: where its messages go. */
export interface ProgramSink {
  /** The Icecast mount it feeds. */
  mount: string
  /** Where listeners play it. */
  listenUrl: string
  /** The other renditions the relay makes of it (an MP3 mount, HLS), for the manifest. */
  renditions?: ManifestStream[]
  /**
   * One `data` message.
   * @throws {MalformedError} for bytes the format does not allow: the stream is cut off
   */
  data: (bytes: Uint8Array) => void
  /**
   * A `now-playing` message: the station's signed statement, still to be verified.
   * @throws {MalformedError} for a statement that does not verify: the stream is cut off
   */
  nowPlaying?: (statement: Uint8Array) => void
  /** The stream is over: `end` from the studio, or the link closed, broke or stalled. */
  close: (why: 'end' | 'closed' | 'stalled' | 'malformed' | 'replaced') => void
}

/** Talks back to one studio: the relay's side of an accepted stream. */
export interface ProgramReply {
  /** Sends a status (dropped when one is still being written). */
  status: (report: ProgramStatusReport) => void
  /** Tells the studio why the relay ends the stream, and ends it. */
  refuse: (reason: ProgramRefusal) => void
}

/** Why the dispatcher dropped a stream before the policy saw a `start`. */
export type ProgramRejection = 'malformed' | 'timeout'

/** The relay's policy. */
export interface ProgramIngest {
  /** Decides on a well-formed `start` from `from`: a sink takes the stream, a refusal ends it. */
  accept: (from: PeerId, start: ProgramStart, reply: ProgramReply) => ProgramSink | ProgramRefusal | Promise<ProgramSink | ProgramRefusal>
  /** A stream whose first message did not decode, was not `start`, or did not come in time. */
  onRejected?: (from: PeerId, why: ProgramRejection, err: Error) => void
}

export interface HandleProgramInit {
  /** @default PROGRAM_DEFAULTS.startTimeoutMs */
  startTimeoutMs?: number
  /** @default PROGRAM_DEFAULTS.idleTimeoutMs */
  idleTimeoutMs?: number
  /** @default PROGRAM_DEFAULTS.maxInboundStreams */
  maxInboundStreams?: number
}

/**
 * Registers the relay's `/openstudio/program/1` handler. Program streams need a direct connection (they carry audio).
 * @returns `unhandle`, which unregisters it (streams already open carry on)
 */
export async function handleProgram (node: Pick<Libp2p, 'handle' | 'unhandle'>, ingest: ProgramIngest, init: HandleProgramInit = {}): Promise<() => Promise<void>> {
  await node.handle(PROTOCOL.program, async (stream, connection) => {
    await serveProgram(stream, connection.remotePeer, ingest, init)
  }, { maxInboundStreams: init.maxInboundStreams ?? PROGRAM_DEFAULTS.maxInboundStreams })
  return async () => { await node.unhandle(PROTOCOL.program) }
}

async function serveProgram (stream: Stream, from: PeerId, ingest: ProgramIngest, init: HandleProgramInit): Promise<void> {
  const lp = lpStream(stream, LP_INIT)
  let start: ProgramUp
  const startWait = AbortSignal.timeout(init.startTimeoutMs ?? PROGRAM_DEFAULTS.startTimeoutMs)
  try {
    start = decodeProgramUp((await lp.read({ signal: startWait })).subarray())
    if (start.type !== 'start') throw new MalformedError(`expected start, got ${start.type}`)
  } catch (err) {
    const why: ProgramRejection = startWait.aborted ? 'timeout' : 'malformed'
    log('%s program stream from %p: %s', why, from, (err as Error).message)
    ingest.onRejected?.(from, why, err as Error)
    if (why === 'malformed') await writeDown(lp, { type: 'refused', reason: 'malformed' }).catch(() => {})
    stream.abort(err as Error)
    return
  }

  let writing = false
  let ended = false
  const reply: ProgramReply = {
    status: (report) => {
      if (writing || ended) return
      writing = true
      writeDown(lp, { type: 'status', ...report }).catch((err: Error) => { stream.abort(err) }).finally(() => { writing = false })
    },
    refuse: (reason) => {
      if (ended) return
      ended = true
      writeDown(lp, { type: 'refused', reason }).then(async () => { await stream.close() }, () => {}).finally(() => { stream.abort(new ProgramRefusedError(`program ended: ${reason}`, reason)) })
    }
  }
  const verdict = await ingest.accept(from, start, reply)
  if (typeof verdict === 'string') {
    reply.refuse(verdict)
    return
  }
  const sink = verdict
  const idleMs = init.idleTimeoutMs ?? PROGRAM_DEFAULTS.idleTimeoutMs
  let idle: AbortSignal | undefined
  try {
    // A studio that gave up while the policy decided (the show ended) is gone by now: the sink hears it closed.
    await writeDown(lp, { type: 'accepted', mount: sink.mount, listenUrl: sink.listenUrl, ...(sink.renditions === undefined || sink.renditions.length === 0 ? {} : { renditions: sink.renditions }) })
    while (!ended) {
      idle = AbortSignal.timeout(idleMs)
      const bytes = await lp.read({ signal: idle })
      const message = decodeProgramUp(bytes.subarray())
      if (message.type === 'data') sink.data(message.bytes)
      else if (message.type === 'now-playing') sink.nowPlaying?.(message.statement)
      else if (message.type === 'end') {
        ended = true
        sink.close('end')
        await stream.close().catch(() => {})
        return
      } else throw new MalformedError('a second start on one stream')
    }
  } catch (err) {
    if (ended) return
    ended = true
    const why = idle?.aborted === true ? 'stalled' : isMalformed(err) ? 'malformed' : 'closed'
    log('program stream from %p ended (%s): %s', from, why, (err as Error).message)
    sink.close(why)
    if (why === 'stalled' || why === 'malformed') await writeDown(lp, { type: 'refused', reason: why }).catch(() => {})
    stream.abort(err as Error)
  }
}

/** The sender broke the protocol (as against a link that broke or went quiet): bytes that do not decode, frames too long, a policy's MalformedError. */
function isMalformed (err: unknown): boolean {
  return err instanceof MalformedError || err instanceof TooLargeError || err instanceof StreamBufferError ||
    err instanceof InvalidDataLengthError || err instanceof InvalidDataLengthLengthError || err instanceof InvalidMessageLengthError
}

async function writeDown (lp: LengthPrefixedStream<Stream>, message: ProgramDown): Promise<void> {
  await lp.write(encodeProgramDown(message), { signal: AbortSignal.timeout(5_000) })
}
