/**
 * The program benchmark's baseline source: PCM made in this process at the
 * pace of the clock, with clicks on demand, piped into ffmpeg, which encodes
 * Opus in 10 ms frames, one Ogg page per frame, and pushes it to an Icecast
 * mount with `icecast://`. No browser, no libp2p, no relay.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { SAMPLE_RATE } from '../src/program-audio.ts'

export interface BareSourceInit {
  /** Icecast's base URL, such as `http://127.0.0.1:8000`. */
  url: string
  password: string
  mount: string
  /** kb/s. */
  bitrate: number
  /** The click: a tone burst. */
  click: { burstMs: number, frequency: number, amplitude: number }
  /**
   * ffmpeg's output arguments in place of Opus in Ogg to `mount`: given the
   * mount's `icecast://` URL (an MP3 push, say), or a directory of its own (HLS).
   * @default Opus, 10 ms frames, one Ogg page each, to the mount
   */
  output?: (icecastTarget: string) => string[]
}

const CHANNELS = 2
/** The pacing timer's period: each tick writes the samples due by then. */
const TICK_MS = 1
/**
 * ffmpeg reads WAV in packets of at most this many bytes (its smallest):
 * 128 stereo float frames, one Web Audio render quantum. Raw PCM would come
 * in packets of 4096 frames (85 ms), which the encoder would wait for.
 */
const WAV_PACKET_BYTES = 1024

/** A WAV header for an endless stream of 32-bit float stereo at 48 kHz (ffmpeg is told to ignore the lengths). */
function wavHeader (): Buffer {
  const h = Buffer.alloc(44)
  const frameBytes = 4 * CHANNELS
  h.write('RIFF', 0)
  h.writeUInt32LE(0xffffffff, 4)
  h.write('WAVEfmt ', 8)
  h.writeUInt32LE(16, 16)
  h.writeUInt16LE(3, 20) // IEEE float
  h.writeUInt16LE(CHANNELS, 22)
  h.writeUInt32LE(SAMPLE_RATE, 24)
  h.writeUInt32LE(SAMPLE_RATE * frameBytes, 28)
  h.writeUInt16LE(frameBytes, 32)
  h.writeUInt16LE(32, 34)
  h.write('data', 36)
  h.writeUInt32LE(0xffffffff, 40)
  return h
}

export class BareSource {
  readonly process: ChildProcess
  readonly exited: Promise<number | null>
  private readonly timer: ReturnType<typeof setInterval>
  private readonly started = performance.now()
  private written = 0
  /** Frames of the current click still to write, and how far into it we are. */
  private burst = { left: 0, at: 0 }
  private pending?: (at: number) => void
  private stderr = ''

  constructor (private readonly init: BareSourceInit) {
    const target = new URL(init.mount, init.url.replace(/^http:/, 'icecast:'))
    target.username = 'source'
    target.password = init.password
    this.process = spawn('ffmpeg', [
      '-hide_banner', '-loglevel', 'error', '-fflags', 'nobuffer', '-probesize', '32', '-analyzeduration', '0',
      '-f', 'wav', '-ignore_length', '1', '-max_size', String(WAV_PACKET_BYTES), '-i', 'pipe:0',
      ...(init.output?.(target.toString()) ?? ['-c:a', 'libopus', '-b:a', `${init.bitrate}k`, '-frame_duration', '10', '-application', 'audio', '-compression_level', '8',
        '-page_duration', '10000', '-flush_packets', '1', '-content_type', 'audio/ogg', '-f', 'ogg', target.toString()])
    ], { stdio: ['pipe', 'ignore', 'pipe'] })
    this.process.stderr?.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-2000) })
    this.process.stdin?.on('error', () => { /* ffmpeg exited: `exited` tells */ })
    this.exited = new Promise((resolve) => this.process.once('exit', (code) => { resolve(code) }))
    this.process.stdin?.write(wavHeader())
    this.timer = setInterval(() => { this.tick() }, TICK_MS)
  }

  /** What ffmpeg said last, for errors. */
  get said (): string {
    return this.stderr.trim()
  }

  /** Starts a click at the first sample of the next write; resolves with the `Date.now()` of that write. */
  async click (): Promise<number> {
    return new Promise((resolve) => { this.pending = resolve })
  }

  async stop (): Promise<void> {
    clearInterval(this.timer)
    if (this.process.exitCode !== null || this.process.signalCode !== null) return
    this.process.kill('SIGKILL')
    await this.exited
  }

  /** Writes the frames due by now: silence, and the click where one was asked for. */
  private tick (): void {
    const due = Math.floor(((performance.now() - this.started) * SAMPLE_RATE) / 1000)
    const frames = due - this.written
    if (frames <= 0) return
    const pcm = new Float32Array(frames * CHANNELS)
    const clicked = this.pending
    this.pending = undefined
    if (clicked !== undefined) this.burst = { left: Math.round((this.init.click.burstMs * SAMPLE_RATE) / 1000), at: 0 }
    const { frequency, amplitude } = this.init.click
    for (let i = 0; i < frames && this.burst.left > 0; i++, this.burst.left--, this.burst.at++) {
      const x = amplitude * Math.sin((2 * Math.PI * frequency * this.burst.at) / SAMPLE_RATE)
      for (let c = 0; c < CHANNELS; c++) pcm[i * CHANNELS + c] = x
    }
    const at = Date.now()
    this.process.stdin?.write(Buffer.from(pcm.buffer))
    this.written = due
    clicked?.(at)
  }
}
