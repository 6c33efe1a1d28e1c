/**
 * The source of a fallback mount: Ogg Opus silence, paced in real time.
 *
 * Icecast 2.4 moves a mount's listeners to its `fallback-mount` when the
 * source leaves (the studio ends the show, or the relay loses Icecast), and,
 * with `fallback-override`, back to the mount when a source returns. Only a
 * live fallback mount does this well: Icecast 2.4.4 also takes a file in its
 * web root as a fallback, but sends it untimed (measured: about five times
 * real time), so a listener's player fills with minutes of fallback audio and
 * hears the show again only after all of it. This source keeps the fallback
 * mount live with silence, reconnecting after Icecast restarts. The silent
 * frames are padded to a program-like bitrate: Chromium's `<audio>` stalls on
 * a 4 kb/s stream until it has buffered enough bytes, and a listener's clock
 * stops; at 64 kb/s it plays on through the fallback (measured).
 */
import { randomInt } from 'node:crypto'
import { TypedEventEmitter } from 'main-event'
import { OGG_FLAG, opusHead, opusTags, writeOggPage } from '@openstudio/protocol'
import { FALLBACK_SOURCE_DEFAULTS as D } from './constants.ts'
import { IcecastSource, type IcecastSourceEvents, type SourceStatus } from './source.ts'

export interface FallbackSourceInit {
  /** Icecast's base URL, such as `http://127.0.0.1:8000`. */
  url: string
  password: string
  /** @default FALLBACK_SOURCE_DEFAULTS.mount ('/fallback.ogg') */
  mount?: string
  /** Match the live mount's, so players need not change layout. @default 2 */
  channels?: 1 | 2
  /** Silence padded to this bitrate, so players keep playing it. @default FALLBACK_SOURCE_DEFAULTS.bitrateKbps (64) */
  bitrateKbps?: number
  /** Ice-Name. @default FALLBACK_SOURCE_DEFAULTS.name */
  name?: string
}

/** Samples (48 kHz) per Opus frame. */
const FRAME_SAMPLES = D.frameMs * 48

/** The two bytes of CELT range coder output that set the silence flag (RFC 6716 §4.3). */
const SILENCE = [0xff, 0xfe] as const

/**
 * One 20 ms silent Opus packet of `bytes` bytes (at least 5): the TOC byte
 * (config 31, CELT fullband, mono or stereo, code 3), a frame count of 1 with
 * the padding flag, the padding length (RFC 6716 §3.2.5: each 255 adds 254
 * and another length byte follows), the silent frame, then zero padding.
 */
export function silentPacket (channels: 1 | 2, bytes: number): Uint8Array {
  const fixed = 3 + SILENCE.length
  let runs = 0
  while (bytes - fixed - runs - 254 * runs > 254) runs++
  const padding = Math.max(0, bytes - fixed - runs)
  const packet = new Uint8Array(fixed + runs + padding)
  packet.set([(channels === 2 ? 0xfc : 0xf8) | 3, 0x41])
  packet.fill(255, 2, 2 + runs)
  packet[2 + runs] = padding - 254 * runs
  packet.set(SILENCE, 3 + runs)
  return packet
}

/**
 * @example
 * ```ts
 * const fallback = new FallbackSource({ url: 'http://127.0.0.1:8000', password })
 * fallback.start()
 * // icecast.xml: <fallback-mount>/fallback.ogg</fallback-mount> on the live mount
 * await fallback.stop()
 * ```
 */
export class FallbackSource extends TypedEventEmitter<IcecastSourceEvents> {
  private readonly source: IcecastSource
  private readonly serial = randomInt(2 ** 31)
  private readonly page: Uint8Array[]
  private sequence = 2
  private granule = 0n
  /** Audio queued since `start`, in ms. */
  private queuedMs = 0
  private startedAt = 0
  private timer?: ReturnType<typeof setInterval>

  constructor (init: FallbackSourceInit) {
    super()
    const channels = init.channels ?? 2
    const frameBytes = Math.round(((init.bitrateKbps ?? D.bitrateKbps) * D.frameMs) / 8)
    this.page = Array.from({ length: D.pageMs / D.frameMs }, () => silentPacket(channels, frameBytes))
    this.source = new IcecastSource({
      url: init.url,
      mount: init.mount ?? D.mount,
      password: init.password,
      contentType: 'audio/ogg',
      headers: { name: init.name ?? D.name, public: false },
      bufferMs: D.bufferMs
    })
    this.source.setStreamHeaders([
      writeOggPage({ flags: OGG_FLAG.bos, granule: 0n, serial: this.serial, sequence: 0, packets: [opusHead({ channels, preSkip: 0 })] }),
      writeOggPage({ granule: 0n, serial: this.serial, sequence: 1, packets: [opusTags('OpenStudio fallback')] })
    ])
    this.source.addEventListener('status:change', (e) => { this.safeDispatchEvent('status:change', { detail: e.detail }) })
  }

  get status (): SourceStatus {
    return this.source.status
  }

  /** Silence made since `start`, in ms: it keeps pace with the clock. */
  get producedMs (): number {
    return this.queuedMs
  }

  /** Connects, and keeps the mount fed (reconnecting as needed) until `stop`. Idempotent. */
  start (): void {
    if (this.timer !== undefined) return
    this.startedAt = performance.now()
    this.queuedMs = 0
    this.source.start()
    this.pace()
    this.timer = setInterval(() => { this.pace() }, D.pageMs)
  }

  /** Idempotent. */
  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.source.stop()
  }

  /** Queues the pages due by now, so the stream keeps real time whatever the timer's drift. */
  private pace (): void {
    const elapsed = performance.now() - this.startedAt
    while (this.queuedMs <= elapsed) {
      this.granule += BigInt(this.page.length * FRAME_SAMPLES)
      this.source.push(writeOggPage({ granule: this.granule, serial: this.serial, sequence: this.sequence++, packets: this.page }), D.pageMs)
      this.queuedMs += D.pageMs
    }
  }
}
