/**
 * Going live: the program is encoded in the page and streamed to the first of
 * the station's relays that takes it, over `/openstudio/program/1`. The
 * encoder never waits for the network: its pages queue in the stream, and
 * when the link breaks, the queue and the stream headers go out again on a
 * new stream (the relay then carries on the same Icecast connection). The
 * producer sees bytes sent, the bitrate, how much audio waits here and at the
 * relay, and the relay's Icecast state and listeners.
 */
import { logger } from '@libp2p/logger'
import { ProgramSender, type ProgramStatusReport } from '@openstudio/network'
import type { Libp2p, PeerId } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { BROADCAST_DEFAULTS as D } from './constants.ts'
import { createProgramEncoder, type ProgramEncoder } from './encoder.ts'

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
  'status:change': CustomEvent<BroadcastStatus>
  /** The relay took the program: `listenUrl` is where listeners play it. */
  'broadcast:accepted': CustomEvent<{ listenUrl: string, mount: string }>
}

export interface BroadcastInit {
  node: Pick<Libp2p, 'dialProtocol'>
  /** The relays to try, in order (the station's manifest relays). */
  relays: () => PeerId[]
  /** The station's current signed manifest record. */
  record: () => Uint8Array
  /** The program bus. */
  input: AudioNode
  /** kb/s. @default 96 */
  bitrate?: number
  /** @default 2 */
  channels?: 1 | 2
}

export class Broadcast extends TypedEventEmitter<BroadcastEvents> {
  private encoder?: ProgramEncoder
  private sender?: ProgramSender
  private carried: Uint8Array[] = []
  private readonly status: BroadcastStatus
  private attempt = 0
  private retryTimer?: ReturnType<typeof setTimeout>
  private statusTimer?: ReturnType<typeof setInterval>
  private readonly rate: Array<{ at: number, bytes: number }> = []
  private stopped = false

  private constructor (private readonly init: BroadcastInit) {
    super()
    this.status = { state: 'connecting', encoder: '', bitrate: init.bitrate ?? D.bitrate, channels: init.channels ?? D.channels, bytesSent: 0, kbps: 0, queuedMs: 0, droppedMs: 0 }
  }

  /** Starts the encoder and connects to a relay; the status tells how it goes. */
  static async start (init: BroadcastInit): Promise<Broadcast> {
    const broadcast = new Broadcast(init)
    broadcast.encoder = await createProgramEncoder(init.input, { bitrate: broadcast.status.bitrate, channels: broadcast.status.channels }, (bytes, _ms, header) => { broadcast.unit(bytes, header) })
    broadcast.status.encoder = broadcast.encoder.description
    broadcast.statusTimer = setInterval(() => { broadcast.emit() }, D.statusIntervalMs)
    void broadcast.connect()
    return broadcast
  }

  get current (): BroadcastStatus {
    return { ...this.status }
  }

  /** Ends the show: the relay ends its Icecast source. Idempotent. */
  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    clearTimeout(this.retryTimer)
    clearInterval(this.statusTimer)
    await this.encoder?.stop()
    await this.sender?.end()
    this.status.state = 'stopped'
    this.emit()
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

  private async connect (): Promise<void> {
    if (this.stopped) return
    this.attempt++
    const relays = this.init.relays()
    const refusals: string[] = []
    let record: Uint8Array
    try {
      record = this.init.record()
    } catch (err) {
      this.fail((err as Error).message)
      return
    }
    for (const relay of relays) {
      if (this.stopped) return
      try {
        const sender = await ProgramSender.open(this.init.node, relay, {
          type: 'start', record, format: this.encoder?.format ?? 'ogg-opus', bitrate: this.status.bitrate, channels: this.status.channels, sampleRate: 48_000
        })
        this.attach(sender)
        return
      } catch (err) {
        log('relay %p did not take the program: %s', relay, (err as Error).message)
        refusals.push(refusalText(err as Error))
      }
    }
    if (relays.length === 0) {
      this.fail('This station lists no relay. Publish it from My station first.')
      return
    }
    // Refusals are final until the relay is reconfigured; broken links are worth another try.
    if (refusals.every((r) => r.startsWith('not-station'))) {
      this.fail(`None of the station's ${refusals.length} relays takes its program: the station's relay needs --station with this station's id, --icecast and --icecast-password-file.`)
      return
    }
    this.status.error = refusals.join('; ')
    this.retry()
  }

  private attach (sender: ProgramSender): void {
    this.sender = sender
    this.attempt = 0
    this.status.state = 'live'
    this.status.error = undefined
    this.status.relay = sender.relay.toString()
    this.status.listenUrl = sender.listenUrl
    this.status.mount = sender.mount
    // A new stream starts with the stream headers, then whatever waited.
    for (const header of this.encoder?.headers ?? []) sender.send(header)
    for (const bytes of this.carried.splice(0)) sender.send(bytes)
    sender.addEventListener('program:status', (e) => { this.status.icecast = e.detail; this.emit() })
    sender.addEventListener('program:close', (e) => {
      if (this.sender !== sender || this.stopped) return
      this.sender = undefined
      this.status.bytesSent += sender.bytesSent
      this.carried.push(...sender.takeQueue().filter((b) => this.encoder?.headers.includes(b) !== true))
      if (e.detail.refused === 'replaced') {
        this.fail('Another studio of this station took over the program.')
        return
      }
      this.status.error = e.detail.refused ?? e.detail.error?.message
      this.retry()
    })
    log('program going to %p (%s)', sender.relay, sender.listenUrl)
    this.safeDispatchEvent('broadcast:accepted', { detail: { listenUrl: sender.listenUrl, mount: sender.mount } })
    this.emit()
  }

  private retry (): void {
    if (this.stopped) return
    this.status.state = 'reconnecting'
    this.emit()
    const delay = Math.min(D.backoffMaxMs, D.backoffInitialMs * 2 ** Math.max(0, this.attempt - 1))
    this.retryTimer = setTimeout(() => { void this.connect() }, delay)
  }

  private fail (error: string): void {
    this.status.state = 'failed'
    this.status.error = error
    void this.encoder?.stop()
    clearInterval(this.statusTimer)
    this.emit()
  }

  private emit (): void {
    const now = performance.now()
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

function refusalText (err: Error): string {
  if (err.name === 'ProgramRefusedError') return `${(err as Error & { reason: string }).reason}`
  if (err.name === 'UnsupportedProtocolError') return 'not-station (the relay takes no program)'
  return err.message
}
