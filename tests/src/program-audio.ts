/**
 * Program audio for tests through real Icecast: a "counter signal" (a tone
 * whose frequency steps up every `stepMs`, so each moment of the show is
 * recognisable), encoded by ffmpeg as Ogg Opus with 10 ms pages; pacing its
 * pages in real time; and listeners that decode a mount with ffmpeg and tell
 * which steps they heard.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { concatBytes, isOpusHeaderPage, NO_GRANULE, readOggPage, type OggPage } from '@openstudio/protocol'
import { toneShare } from './signal.ts'

export const SAMPLE_RATE = 48_000

export interface StepSignal {
  /** Frequency of step 0, in Hz. @default 400 */
  baseHz?: number
  /** Frequency added per step. @default 50 */
  stepHz?: number
  /** @default 500 */
  stepMs?: number
  steps: number
}

const defaults = (s: StepSignal): Required<StepSignal> => ({ baseHz: 400, stepHz: 50, stepMs: 500, ...s })

/** The frequency of step `i`. */
export function stepFrequency (signal: StepSignal, i: number): number {
  const s = defaults(signal)
  return s.baseHz + s.stepHz * i
}

/** Writes the step signal as Ogg Opus (10 ms frames, one page per 10 ms) and returns its pages. */
export async function encodeStepSignal (file: string, signal: StepSignal, bitrateKbps = 64): Promise<OggPage[]> {
  const s = defaults(signal)
  const seconds = (s.steps * s.stepMs) / 1000
  const expr = `0.4*sin(2*PI*(${s.baseHz}+${s.stepHz}*floor(t*1000/${s.stepMs}))*t)`
  await promisify(execFile)('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-y', '-f', 'lavfi', '-i', `aevalsrc=${expr}:s=${SAMPLE_RATE}:d=${seconds}`,
    '-ac', '2', '-c:a', 'libopus', '-b:a', `${bitrateKbps}k`, '-frame_duration', '10', '-application', 'audio', '-page_duration', '10000', '-f', 'ogg', file])
  return splitOggPages(await readFile(file))
}

/** The pages of an Ogg file, each checked. */
export function splitOggPages (bytes: Uint8Array): OggPage[] {
  const { pages, rest } = takeOggPages(bytes)
  if (rest.length > 0) throw new Error(`${rest.length} bytes after the last whole Ogg page`)
  return pages
}

/** The whole pages at the start of `bytes`, and the bytes after them (a page not yet complete). */
export function takeOggPages (bytes: Uint8Array): { pages: OggPage[], rest: Uint8Array } {
  const pages: OggPage[] = []
  let offset = 0
  while (offset + 27 <= bytes.length) {
    const segments = bytes[offset + 26] as number
    if (offset + 27 + segments > bytes.length) break
    const length = 27 + segments + bytes.subarray(offset + 27, offset + 27 + segments).reduce((n, l) => n + l, 0)
    if (offset + length > bytes.length) break
    pages.push(readOggPage(bytes.subarray(offset, offset + length)))
    offset += length
  }
  return { pages, rest: bytes.subarray(offset) }
}

/** The Ogg pages of a mount, read raw over HTTP until `audioMs` of audio came. */
export async function readMount (url: string, audioMs: number): Promise<OggPage[]> {
  const reader = (await fetch(url)).body!.getReader()
  const pages: OggPage[] = []
  let rest: Uint8Array = new Uint8Array(0)
  let firstAudio: OggPage | undefined
  try {
    for (;;) {
      const { value, done } = await reader.read()
      if (done) return pages
      const taken = takeOggPages(concatBytes([rest, value]))
      rest = taken.rest
      for (const page of taken.pages) {
        pages.push(page)
        if (isOpusHeaderPage(page)) continue
        firstAudio ??= page
        if (Number(page.granule - firstAudio.granule) / 48 >= audioMs) return pages
      }
    }
  } finally {
    await reader.cancel()
  }
}

/** The header pages (OpusHead, OpusTags) and the audio pages after them. */
export function headersAndAudio (pages: OggPage[]): { headers: OggPage[], audio: OggPage[] } {
  return { headers: pages.slice(0, 2), audio: pages.slice(2) }
}

/**
 * Sends audio pages at the pace their granule positions give, as an encoder
 * would, until they run out or `signal` aborts. `onPage` sees each page's index.
 */
export async function pacePages (pages: OggPage[], send: (page: OggPage, index: number) => void, signal: AbortSignal): Promise<void> {
  const started = performance.now()
  const first = pages.find((p) => p.granule !== NO_GRANULE)?.granule ?? 0n
  for (const [i, page] of pages.entries()) {
    if (signal.aborted) return
    const dueMs = page.granule === NO_GRANULE ? 0 : Number(page.granule - first) / 48
    const wait = started + dueMs - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
    send(page, i)
  }
}

export interface ListenerInit {
  /**
   * Decode with ffmpeg's low-delay settings (no probing, no input buffering,
   * every decoded frame flushed at once), for latency measurements.
   * @default false
   */
  lowDelay?: boolean
  /** Keep the decoded audio for `samples()`; off for long runs. @default true */
  keep?: boolean
  /** Called with each piece of decoded PCM as it arrives, and the `Date.now()` it arrived at. */
  onPcm?: (pcm: Int16Array, at: number) => void
}

/** ffmpeg's input flags for the low-delay listener. */
const LOW_DELAY_INPUT = ['-fflags', 'nobuffer', '-flags', 'low_delay', '-probesize', '32', '-analyzeduration', '0']

/** An ffmpeg process decoding a stream URL to 48 kHz mono PCM. */
export class Listener {
  private readonly chunks: Buffer[] = []
  private bytes = 0
  /** A byte left over from a chunk that ended mid-sample. */
  private odd?: Buffer
  private stderr = ''
  readonly process: ChildProcess
  readonly exited: Promise<number | null>

  constructor (url: string, init: ListenerInit = {}) {
    const input = init.lowDelay === true ? LOW_DELAY_INPUT : ['-fflags', 'nobuffer']
    const output = init.lowDelay === true ? ['-flush_packets', '1'] : []
    this.process = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', ...input, '-i', url, '-ac', '1', '-ar', String(SAMPLE_RATE), ...output, '-f', 's16le', 'pipe:1'],
      { stdio: ['ignore', 'pipe', 'pipe'] })
    this.process.stdout?.on('data', (chunk: Buffer) => {
      const at = Date.now()
      this.bytes += chunk.length
      if (init.keep !== false) this.chunks.push(chunk)
      if (init.onPcm !== undefined) init.onPcm(this.pcm(chunk), at)
    })
    this.process.stderr?.on('data', (d: Buffer) => { this.stderr = (this.stderr + d.toString()).slice(-1000) })
    this.exited = new Promise((resolve) => this.process.once('exit', (code) => { resolve(code) }))
  }

  /** What ffmpeg said last, for errors. */
  get said (): string {
    return this.stderr.trim()
  }

  /** Whole samples of `chunk`, after any byte the last chunk left. */
  private pcm (chunk: Buffer): Int16Array {
    const bytes = this.odd === undefined ? chunk : Buffer.concat([this.odd, chunk])
    const whole = bytes.length - (bytes.length % 2)
    this.odd = whole < bytes.length ? bytes.subarray(whole) : undefined
    // A copy: the chunk's offset in its pool may be odd.
    return new Int16Array(new Uint8Array(bytes.subarray(0, whole)).buffer)
  }

  /** Seconds of audio decoded so far. */
  get seconds (): number {
    return this.bytes / 2 / SAMPLE_RATE
  }

  samples (): Float32Array {
    const all = Buffer.concat(this.chunks)
    const out = new Float32Array(Math.floor(all.length / 2))
    for (let i = 0; i < out.length; i++) out[i] = all.readInt16LE(i * 2) / 32768
    return out
  }

  async stop (): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return
    this.process.kill('SIGKILL')
    await this.exited
  }
}

/**
 * The step heard in each window of `samples` (`undefined` where no step tone
 * dominates: silence, or a window across a step change).
 */
export function heardSteps (samples: Float32Array, signal: StepSignal, windowMs = 100): Array<number | undefined> {
  const s = defaults(signal)
  const n = Math.round((SAMPLE_RATE * windowMs) / 1000)
  const heard: Array<number | undefined> = []
  for (let from = 0; from + n <= samples.length; from += n) {
    const window = samples.subarray(from, from + n)
    let best: number | undefined
    let bestShare = 0.5
    for (let i = 0; i < s.steps; i++) {
      const share = toneShare(window, SAMPLE_RATE, stepFrequency(s, i))
      if (share > bestShare) {
        bestShare = share
        best = i
      }
    }
    heard.push(best)
  }
  return heard
}

/** The distinct steps heard, in order of first hearing. */
export function distinctSteps (heard: Array<number | undefined>): number[] {
  const out: number[] = []
  for (const step of heard) if (step !== undefined && out[out.length - 1] !== step) out.push(step)
  return out
}
