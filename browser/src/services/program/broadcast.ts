/**
 * Going live: the program is encoded in the page and streamed to the first of
 * the station's relays that takes it, over `/openstudio/program/1`. The
 * encoder never waits for the network: its pages queue in the stream, and
 * when the link breaks, the queue and the stream headers go out again on a
 * new stream (the relay then carries on the same Icecast connection). The
 * producer sees bytes sent, the bitrate, how much audio waits here and at the
 * relay, and the relay's Icecast state and listeners.
 *
 * The network, the encoder and the clock are injected ({@link BroadcastComponents}),
 * so the orchestration is tested without either; {@link Broadcast.start} wires
 * the real ones.
 *
 * @example
 * ```ts
 * const broadcast = await Broadcast.start({ node, input: mixer.programOutput, relays: () => relayIds, record: () => signedManifest })
 * broadcast.addEventListener('broadcast:accepted', (e) => { publishOnAir(e.detail.listenUrl) })
 * await broadcast.stop()
 * ```
 */
import { logger } from '@libp2p/logger'
import { ProgramRefusedError, ProgramSender, type ProgramSenderEvents, type ProgramStatusReport } from '@openstudio/network'
import type { ProgramRefusal, ProgramStart, Stream } from '@openstudio/protocol'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { Backoff, pause } from '../backoff.ts'
import { BROADCAST_DEFAULTS as D, PROGRAM_ENCODER } from './constants.ts'
import { createProgramEncoder, type EncoderInit, type ProgramEncoder, type UnitSink } from './encoder.ts'

const log = logger('openstudio:app:broadcast')

export type BroadcastState = 'connecting' | 'live' | 'reconnecting' | 'failed' | 'stopped'

export interface BroadcastStatus {
  state: BroadcastState
  /** The encoder, in words (WebCodecs Ogg pages, or the MediaRecorder fallback and its cost). */
  encoder: string
  bitrate: number
  channels: 1 | 2
  /** The relay taking the program. */
  relay?: string
  /** Where listeners play it. */
  listenUrl?: string
  mount?: string
  /** The other streams the relay makes of it (an MP3 mount). */
  renditions?: Stream[]
  /** The relay's last report on its Icecast source. */
  icecast?: ProgramStatusReport
  bytesSent: number
  /** Measured over the last few seconds, in kb/s. */
  kbps: number
  /** Audio encoded here and not yet sent, in ms. */
  queuedMs: number
  /** Program audio the encoder had to drop because the page was starved, in ms. */
  droppedMs: number
  /** Why the last attempt failed, in words the producer can act on. */
  error?: string
}

export interface BroadcastEvents {
  /** The status changed, and about once a second while the broadcast runs. */
  'status:change': CustomEvent<BroadcastStatus>
  /**
   * A relay took the program: `listenUrl` is where listeners play it, and
   * `renditions` the other streams the relay makes of it (an MP3 mount).
   * Never fires once the broadcast is stopped.
   */
  'broadcast:accepted': CustomEvent<{ listenUrl: string, mount: string, renditions: Stream[] }>
}

/** The part of a program stream the broadcast uses ({@link ProgramSender}). */
export type ProgramLink = Pick<ProgramSender, 'relay' | 'mount' | 'listenUrl' | 'renditions' | 'open' | 'bytesSent' | 'queuedBytes' | 'send' | 'nowPlaying' | 'takeQueue' | 'end' | 'addEventListener'>

/** Why a program stream closed (`program:close`). */
type LinkClose = ProgramSenderEvents['program:close']['detail']

export interface BroadcastComponents {
  /**
   * Opens a program stream to `relay`, resolving once the relay accepted it.
   * @throws {ProgramRefusedError} the relay refused; `reason` says why
   * @throws the signal's reason when it aborts
   */
  openSender: (relay: PeerId, start: ProgramStart, options: { signal: AbortSignal }) => Promise<ProgramLink>
  /**
   * Starts encoding the program; units go to `onUnit`.
   * @throws the signal's reason when it aborts
   */
  createEncoder: (init: EncoderInit, onUnit: UnitSink, options: { signal: AbortSignal }) => Promise<ProgramEncoder>
  /**
   * Waits `ms` between attempts.
   * @throws the signal's reason when it aborts
   */
  pause: (ms: number, options: { signal: AbortSignal }) => Promise<void>
  /** Calls `tick` every `ms` until the signal aborts. */
  every: (ms: number, tick: () => void, options: { signal: AbortSignal }) => void
  /** A clock in ms, for the measured bitrate. */
  now: () => number
}

/** What a broadcast is about; the network and the program bus come in as {@link BroadcastComponents}. */
export interface BroadcastSettings {
  /** The relays to try, in order (the station's manifest relays). */
  relays: () => PeerId[]
  /**
   * The station's current signed manifest record.
   * @throws when there is none yet: the message is shown to the producer
   */
  record: () => Uint8Array
  /** kb/s. @default 96 */
  bitrate?: number
  /** @default 2 */
  channels?: 1 | 2
}

export interface BroadcastInit extends BroadcastSettings {
  node: Pick<Libp2p, 'dialProtocol'>
  /** The program bus. */
  input: AudioNode
}

/** The real components: program streams over `node`, the browser's encoder on `input`, the page's timers. */
export function broadcastComponents (init: Pick<BroadcastInit, 'node' | 'input'>): BroadcastComponents {
  return {
    openSender: async (relay, start, { signal }) => ProgramSender.open(init.node, relay, start, { signal }),
    createEncoder: async (settings, onUnit, { signal }) => createProgramEncoder(init.input, settings, onUnit, { signal }),
    pause,
    every: (ms, tick, { signal }) => {
      if (signal.aborted) return
      const timer = setInterval(tick, ms)
      signal.addEventListener('abort', () => { clearInterval(timer) }, { once: true })
    },
    now: () => performance.now()
  }
}

/** Refusals no retry mends: the relay has to be reconfigured first. */
const FINAL_REFUSALS: ReadonlySet<ProgramRefusal> = new Set(['not-station'])

/** What one round over the station's relays came to. */
type Reach = { sender: ProgramLink } | { final: string } | { error: string }

/**
 * One show's program, from the encoder to a relay. It runs once: `start`
 * and `stop` are idempotent, and a `stop` at any point (during `start`, while
 * a relay is still deciding, during a backoff) leaves nothing running.
 */
export class Broadcast extends TypedEventEmitter<BroadcastEvents> {
  private encoder?: ProgramEncoder
  private sender?: ProgramLink
  private carried: Uint8Array[] = []
  /** The newest signed now-playing statement, for each relay that takes the program. */
  private nowPlayingStatement?: Uint8Array
  private readonly status: BroadcastStatus
  private readonly rate: Array<{ at: number, bytes: number }> = []
  /** Aborted by `stop` or a failure: cancels the encoder start, the relay dial, the backoff and the status ticks. */
  private readonly shutdown = new AbortController()
  private starting?: Promise<void>
  private running?: Promise<void>
  private stopping?: Promise<void>

  constructor (private readonly components: BroadcastComponents, private readonly init: BroadcastSettings) {
    super()
    this.status = { state: 'connecting', encoder: '', bitrate: init.bitrate ?? D.bitrate, channels: init.channels ?? D.channels, bytesSent: 0, kbps: 0, queuedMs: 0, droppedMs: 0 }
  }

  /**
   * Starts a broadcast of `init.input` over `init.node`: the encoder, then the link to a relay; the status tells how it goes.
   * @throws the encoder's error (the broadcast is then failed), or the signal's reason (the broadcast is then stopped)
   */
  static async start (init: BroadcastInit, options: { signal?: AbortSignal } = {}): Promise<Broadcast> {
    const broadcast = new Broadcast(broadcastComponents(init), init)
    await broadcast.start(options)
    return broadcast
  }

  get current (): BroadcastStatus {
    return { ...this.status }
  }

  /**
   * Starts the encoder, and connects to a relay in the background. Idempotent.
   * A `stop` during it wins: `start` resolves and nothing runs.
   * @throws the encoder's error (the broadcast is then failed), or the signal's reason (the broadcast is then stopped)
   */
  async start (options: { signal?: AbortSignal } = {}): Promise<void> {
    this.starting ??= this.begin(options.signal)
    await this.starting
  }

  /** Ends the show: the relay ends its Icecast source. Idempotent; resolves once nothing runs. */
  async stop (): Promise<void> {
    this.stopping ??= this.halt()
    await this.stopping
  }

  private async begin (signal?: AbortSignal): Promise<void> {
    const shutdown = this.shutdown.signal
    if (shutdown.aborted) return
    if (signal?.aborted === true) {
      void this.stop()
      throw signal.reason
    }
    const onAbort = (): void => { void this.stop() }
    signal?.addEventListener('abort', onAbort, { once: true })
    let encoder: ProgramEncoder
    try {
      encoder = await this.components.createEncoder({ bitrate: this.status.bitrate, channels: this.status.channels }, (bytes, _ms, header) => { this.unit(bytes, header) }, { signal: shutdown })
    } catch (err) {
      if (shutdown.aborted) {
        signal?.throwIfAborted()
        return
      }
      this.fail(`The program encoder did not start: ${(err as Error).message}`)
      throw err
    } finally {
      signal?.removeEventListener('abort', onAbort)
    }
    if (shutdown.aborted) {
      // Stopped while the encoder came up: it goes again at once.
      await encoder.stop()
      signal?.throwIfAborted()
      return
    }
    this.encoder = encoder
    this.status.encoder = encoder.description
    this.components.every(D.statusIntervalMs, () => { this.emit() }, { signal: shutdown })
    this.running = this.run(shutdown)
  }

  private async halt (): Promise<void> {
    this.shutdown.abort()
    await this.starting?.catch(() => {})
    await this.running
    // The encoder flushes into the open stream, which then sends what it holds and `end`.
    await this.encoder?.stop()
    const sender = this.sender
    this.sender = undefined
    await sender?.end()
    this.status.state = 'stopped'
    this.emit()
  }

  /** Keeps a link to a relay until the signal aborts or the broadcast fails. Never rejects. */
  private async run (signal: AbortSignal): Promise<void> {
    const backoff = new Backoff({ initialMs: D.backoffInitialMs, maxMs: D.backoffMaxMs })
    try {
      while (true) {
        const reach = await this.reach(signal)
        if ('final' in reach) {
          this.fail(reach.final)
          return
        }
        if ('sender' in reach) {
          backoff.reset()
          const close = await this.serve(reach.sender, signal)
          if (close.refused === 'replaced') {
            this.fail('Another studio of this station took over the program.')
            return
          }
          this.status.error = close.refused ?? close.error?.message
        } else {
          this.status.error = reach.error
        }
        this.status.state = 'reconnecting'
        this.emit()
        await this.components.pause(backoff.next(), { signal })
      }
    } catch (err) {
      if (signal.aborted) return
      log.error('broadcast failed: %s', (err as Error).message)
      this.fail((err as Error).message)
    }
  }

  /**
   * Tries the station's relays in order.
   * @throws the signal's reason when it aborts (a relay that accepts after that is told the show ended)
   */
  private async reach (signal: AbortSignal): Promise<Reach> {
    let record: Uint8Array
    try {
      record = this.init.record()
    } catch (err) {
      return { final: (err as Error).message }
    }
    const relays = this.init.relays()
    if (relays.length === 0) return { final: 'This station lists no relay. Publish it from My station first.' }
    const start: ProgramStart = {
      type: 'start', record, format: this.encoder?.format ?? 'ogg-opus', bitrate: this.status.bitrate, channels: this.status.channels, sampleRate: PROGRAM_ENCODER.sampleRate
    }
    const errors: Error[] = []
    for (const relay of relays) {
      signal.throwIfAborted()
      let sender: ProgramLink
      try {
        sender = await this.components.openSender(relay, start, { signal })
      } catch (err) {
        signal.throwIfAborted()
        log('relay %p did not take the program: %s', relay, (err as Error).message)
        errors.push(err as Error)
        continue
      }
      if (signal.aborted) {
        // The show ended while this relay was accepting: it ends its Icecast source again.
        log('relay %p accepted after the show ended: ending the stream', relay)
        await sender.end()
        signal.throwIfAborted()
      }
      return { sender }
    }
    // Refusals are final until the relay is reconfigured; broken links are worth another try.
    if (errors.every((err) => err instanceof ProgramRefusedError && FINAL_REFUSALS.has(err.reason))) {
      return { final: `None of the station's ${errors.length} relays takes its program: the station's relay needs --station with this station's id, --icecast and --icecast-password-file.` }
    }
    return { error: errors.map((err) => err instanceof ProgramRefusedError ? err.reason : err.message).join('; ') }
  }

  /**
   * Sends the program on `sender` until its stream closes.
   * @throws the signal's reason when it aborts (the stream stays open for `stop` to end)
   */
  private async serve (sender: ProgramLink, signal: AbortSignal): Promise<LinkClose> {
    signal.throwIfAborted()
    const closed = new Promise<LinkClose>((resolve, reject) => {
      const onAbort = (): void => { reject(signal.reason) }
      signal.addEventListener('abort', onAbort, { once: true })
      sender.addEventListener('program:close', (e) => {
        signal.removeEventListener('abort', onAbort)
        resolve(e.detail)
      }, { once: true })
    })
    sender.addEventListener('program:status', (e) => {
      if (this.sender !== sender) return
      this.status.icecast = e.detail
      this.emit()
    })
    this.attach(sender)
    const close = await closed
    // Whatever the stream did not send goes out on the next one.
    this.sender = undefined
    this.status.bytesSent += sender.bytesSent
    for (const bytes of sender.takeQueue()) if (this.encoder?.headers.includes(bytes) !== true) this.carry(bytes)
    return close
  }

  private attach (sender: ProgramLink): void {
    this.sender = sender
    this.status.state = 'live'
    this.status.error = undefined
    this.status.relay = sender.relay.toString()
    this.status.listenUrl = sender.listenUrl
    this.status.mount = sender.mount
    this.status.renditions = sender.renditions
    // A new stream starts with the stream headers, then whatever waited.
    for (const header of this.encoder?.headers ?? []) sender.send(header)
    for (const bytes of this.carried.splice(0)) sender.send(bytes)
    if (this.nowPlayingStatement !== undefined) sender.nowPlaying(this.nowPlayingStatement)
    log('program going to %p (%s)', sender.relay, sender.listenUrl)
    this.safeDispatchEvent('broadcast:accepted', { detail: { listenUrl: sender.listenUrl, mount: sender.mount, renditions: sender.renditions } })
    this.emit()
  }

  /**
   * The station's signed now-playing statement (signNowPlaying): it goes to
   * the relay now, and to every relay that takes the program after this.
   */
  nowPlaying (statement: Uint8Array): void {
    this.nowPlayingStatement = statement
    if (this.sender?.open === true) this.sender.nowPlaying(statement)
  }

  /** A unit from the encoder. Headers that come while no stream is open wait in `encoder.headers` for the next one. */
  private unit (bytes: Uint8Array, header: boolean): void {
    if (this.sender?.open === true) this.sender.send(bytes)
    else if (!header) this.carry(bytes)
  }

  /** Keeps audio while no stream is open, within the same bound as a stream's queue. */
  private carry (bytes: Uint8Array): void {
    this.carried.push(bytes)
    let total = this.carried.reduce((n, b) => n + b.length, 0)
    while (total > D.maxCarriedBytes && this.carried.length > 1) total -= (this.carried.shift() as Uint8Array).length
  }

  /** Nothing more is tried: the encoder stops, and the status says why. `stop` still ends the broadcast. */
  private fail (error: string): void {
    this.status.state = 'failed'
    this.status.error = error
    this.shutdown.abort()
    void this.encoder?.stop()
    this.emit()
  }

  private emit (): void {
    const now = this.components.now()
    const sent = this.sender?.bytesSent ?? 0
    this.rate.push({ at: now, bytes: this.status.bytesSent + sent })
    while (this.rate.length > 1 && now - (this.rate[0] as { at: number }).at > D.rateWindowMs) this.rate.shift()
    const first = this.rate[0] as { at: number, bytes: number }
    const last = this.rate[this.rate.length - 1] as { at: number, bytes: number }
    const kbps = last.at > first.at ? ((last.bytes - first.bytes) * 8) / (last.at - first.at) : 0
    const queued = (this.sender?.queuedBytes ?? 0) + this.carried.reduce((n, b) => n + b.length, 0)
    this.safeDispatchEvent('status:change', {
      detail: {
        ...this.status,
        bytesSent: last.bytes,
        kbps: Math.round(kbps),
        queuedMs: Math.round((queued * 8) / this.status.bitrate),
        droppedMs: Math.round(this.encoder?.droppedMs ?? 0)
      }
    })
  }
}
