import { EventEmitter } from 'node:events'
import { PassThrough, Writable } from 'node:stream'
import type { ChildProcess } from 'node:child_process'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { Transcoder } from '../src/ffmpeg/transcoder.ts'
import { icecastTitleUrl } from '../src/icecast/metadata.ts'

/** A child process whose stdin takes bytes but never drains them: an ffmpeg that fell behind. */
class StuckFfmpeg extends EventEmitter {
  readonly pid = 4242
  exitCode: number | null = null
  signalCode: NodeJS.Signals | null = null
  readonly stdout = new PassThrough()
  readonly stderr = new PassThrough()
  readonly written: Buffer[] = []
  readonly stdin = new Writable({
    highWaterMark: 1,
    write: (chunk: Buffer, _enc, _done) => { this.written.push(chunk) }
  })

  kill (): boolean {
    this.exit(null, 'SIGKILL')
    return true
  }

  exit (code: number | null, signal: NodeJS.Signals | null = null): void {
    this.exitCode = code
    this.signalCode = signal
    this.emit('exit', code, signal)
  }
}

describe('Transcoder', () => {
  afterEach(() => { vi.useRealTimers() })

  it('starts ffmpeg with the header pages first, drops pages past the backlog bound, and counts them', async () => {
    const children: StuckFfmpeg[] = []
    const transcoder = new Transcoder({
      inputFormat: 'ogg',
      output: ['-f', 'mp3', 'pipe:1'],
      maxBacklogBytes: 1000,
      spawn: (_cmd, args) => {
        expect(args.slice(-3)).toEqual(['-f', 'mp3', 'pipe:1'])
        const child = new StuckFfmpeg()
        children.push(child)
        return child as unknown as ChildProcess
      }
    })
    transcoder.setStreamHeaders([Uint8Array.of(1), Uint8Array.of(2)])
    transcoder.start()
    for (let i = 0; i < 20; i++) transcoder.push(new Uint8Array(100))
    const status = transcoder.status
    // Past the first write, stdin holds everything: ~1000 bytes wait, the rest is dropped.
    expect(status.bytesIn).toBeLessThanOrEqual(1102)
    expect(status.bytesIn + status.bytesDropped).toBe(2 + 2000)
    expect(status.bytesDropped).toBeGreaterThanOrEqual(900)
    expect(status.state).toBe('running')
    const stop = transcoder.stop()
    children[0]?.exit(0)
    await stop
    expect(transcoder.status.state).toBe('stopped')
  })

  it('starts a new ffmpeg after one dies, with a doubling backoff, and keeps its last words', async () => {
    vi.useFakeTimers()
    const children: StuckFfmpeg[] = []
    const transcoder = new Transcoder({
      inputFormat: 'ogg',
      output: ['pipe:1'],
      backoffInitialMs: 500,
      spawn: () => {
        const child = new StuckFfmpeg()
        children.push(child)
        return child as unknown as ChildProcess
      }
    })
    transcoder.setStreamHeaders([Uint8Array.of(7)])
    transcoder.start()
    children[0]?.stderr.write('Invalid data found when processing input\n')
    await vi.advanceTimersByTimeAsync(0)
    children[0]?.exit(1)
    expect(transcoder.status).toMatchObject({ state: 'restarting', error: expect.stringContaining('Invalid data found') })
    await vi.advanceTimersByTimeAsync(499)
    expect(children).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1)
    expect(children).toHaveLength(2)
    expect(children[1]?.written[0]).toEqual(Buffer.from([7]))
    children[1]?.exit(1)
    await vi.advanceTimersByTimeAsync(999)
    expect(children).toHaveLength(2)
    await vi.advanceTimersByTimeAsync(1)
    expect(children).toHaveLength(3)
    expect(transcoder.status.restarts).toBe(2)
    const stop = transcoder.stop()
    children[2]?.exit(0)
    await stop
  })
})

describe('icecastTitleUrl', () => {
  it('sends one sanitized line, its apostrophes typographic, URL-encoded', () => {
    const url = icecastTitleUrl('http://127.0.0.1:8000', '/live.mp3', "Rock'n'roll\r\nX-Injected: 1\u0000';StreamUrl='http://evil/")
    expect(url.pathname).toBe('/admin/metadata')
    expect(url.searchParams.get('mount')).toBe('/live.mp3')
    expect(url.searchParams.get('song')).toBe('Rock\u2019n\u2019roll X-Injected: 1 \u2019;StreamUrl=\u2019http://evil/')
    expect(url.toString()).not.toMatch(/[\r\n\s']/)
  })
})
