import { describe, expect, it } from 'vitest'
import type { TapBlock } from '../src/audio/program-tap.ts'
import { decodeManifest, MANIFEST_NAME } from '../src/services/recording/manifest.ts'
import { RecordingLibrary } from '../src/services/recording/library.ts'
import { RECORDER_LIMITS, StudioRecorder } from '../src/services/recording/recorder.ts'
import { WAV_HEADER_BYTES } from '../src/services/recording/wav.ts'
import { MemoryRecordingStorage } from './fakes/recording-storage.ts'
import { until } from './fakes/wait.ts'

const RATE = 48_000
const BLOCK = RECORDER_LIMITS.blockFrames
const node = (label: string): AudioNode => ({ label }) as unknown as AudioNode

/** A recorder on memory storage, with taps the test feeds by hand and a clock it moves. */
function rig (toOpus?: ConstructorParameters<typeof StudioRecorder>[0]['toOpus']) {
  const storage = new MemoryRecordingStorage()
  const taps = new Map<AudioNode, { onBlock: (b: TapBlock) => void, channels: number, stopped: boolean }>()
  const clock = { frame: 96_000 }
  const recorder = new StudioRecorder({
    storage,
    sampleRate: RATE,
    frameNow: () => clock.frame,
    now: () => Date.UTC(2026, 11, 7, 20, 0),
    toOpus,
    tap: async (n, init, onBlock) => {
      const tap = { onBlock, channels: init.channels, stopped: false }
      taps.set(n, tap)
      return { stop: () => { tap.stopped = true } }
    }
  })
  /** The tap on `n` hands over one block of `value` starting at `frame`. */
  const feed = (n: AudioNode, frame: number, value: number): void => {
    const tap = taps.get(n)
    if (tap === undefined || tap.stopped) return
    tap.onBlock({ data: new Float32Array(BLOCK * tap.channels).fill(value), frames: BLOCK, channels: tap.channels, frame })
  }
  return { storage, taps, clock, recorder, feed }
}

/** 16-bit samples of a mono WAV file's data. */
const samples = (bytes: Uint8Array): Int16Array => new Int16Array(bytes.slice(WAV_HEADER_BYTES).buffer)

describe('StudioRecorder', () => {
  it('keeps one timeline: a late caller starts with silence, a dropped one keeps its track with silence for the gap', async () => {
    const r = rig()
    const program = node('program')
    const host = node('host')
    const late = node('late')
    await r.recorder.start({ show: 'Evening Talk' }, program)
    await r.recorder.attach('host-id', 'Host', host)
    const start = 96_000
    for (let b = 0; b < 10; b++) {
      r.feed(program, start + b * BLOCK, 0.1)
      r.feed(host, start + b * BLOCK, 0.2)
    }
    // The caller joins 4 blocks in, and drops for blocks 6 and 7.
    await r.recorder.attach('ada', 'Ada Lovelace', late)
    for (const b of [4, 5, 8, 9]) {
      if (b === 8) await r.recorder.attach('ada', 'Ada Lovelace', late)
      r.feed(late, start + b * BLOCK, 0.5)
      if (b === 5) r.recorder.detach('ada')
    }
    const manifest = await r.recorder.stop()
    expect(manifest?.tracks.map((t) => t.file)).toEqual([
      'evening-talk-2026-12-07-2000-program.wav', 'evening-talk-2026-12-07-2000-host.wav', 'evening-talk-2026-12-07-2000-ada-lovelace.wav'
    ])
    const dir = `recording-${Date.UTC(2026, 11, 7, 20, 0)}`
    const ada = samples(r.storage.bytes(dir, 'evening-talk-2026-12-07-2000-ada-lovelace.wav'))
    const hostTrack = samples(r.storage.bytes(dir, 'evening-talk-2026-12-07-2000-host.wav'))
    // Every voice track as long as the show: 10 blocks.
    expect(ada.length).toBe(10 * BLOCK)
    expect(hostTrack.length).toBe(10 * BLOCK)
    const blockValue = (track: Int16Array, b: number): number => track[b * BLOCK + BLOCK / 2] as number
    expect([0, 1, 2, 3, 4, 5, 6, 7, 8, 9].map((b) => blockValue(ada, b))).toEqual([0, 0, 0, 0, 16384, 16384, 0, 0, 16384, 16384])
    // The program is stereo, as long as the rest.
    expect(r.storage.bytes(dir, 'evening-talk-2026-12-07-2000-program.wav').length).toBe(WAV_HEADER_BYTES + 10 * BLOCK * 4)
    // The header says how long; the manifest says it finished.
    const header = new DataView(r.storage.bytes(dir, 'evening-talk-2026-12-07-2000-ada-lovelace.wav').buffer)
    expect(header.getUint32(40, true)).toBe(10 * BLOCK * 2)
    expect(decodeManifest(r.storage.bytes(dir, MANIFEST_NAME))?.finishedAt).toBeDefined()
  })

  it('trims what came before the start, names two callers of one name apart, and refuses a second start', async () => {
    const r = rig()
    const program = node('program')
    await r.recorder.start({ show: 'Ünïcode Show!' }, program)
    r.feed(program, 96_000 - BLOCK / 2, 0.1)
    await r.recorder.attach('a', 'Sam', node('a'))
    await r.recorder.attach('b', 'Sam', node('b'))
    await expect(r.recorder.start({ show: 'again' }, program)).rejects.toMatchObject({ name: 'RecorderStateError' })
    const manifest = await r.recorder.stop()
    expect(manifest?.tracks.map((t) => t.file.replace(/^unicode-show-[0-9-]+-/, ''))).toEqual(['program.wav', 'sam.wav', 'sam-2.wav'])
    expect(r.storage.bytes(`recording-${manifest?.startedAt}`, manifest?.tracks[0]?.file ?? '').length).toBe(WAV_HEADER_BYTES + (BLOCK / 2) * 4)
  })

  it('counts audio it could not write, says why, and records on', async () => {
    const r = rig()
    const program = node('program')
    await r.recorder.start({ show: 'Full disk' }, program)
    r.storage.failWrites = 'QuotaExceededError'
    r.feed(program, 96_000, 0.1)
    await until('the loss to show', () => r.recorder.status.lostSeconds > 0)
    expect(r.recorder.status).toMatchObject({ recording: true, lostSeconds: BLOCK / RATE })
    expect(r.recorder.status.error).toMatch(/disk is full/)
    // Space again: it goes on writing.
    r.storage.failWrites = undefined
    r.feed(program, 96_000 + BLOCK, 0.1)
    await until('the next block written', () => r.recorder.status.bytes > 0)
    await r.recorder.stop()
  })

  it('warns when the space left holds under 15 minutes of recording', async () => {
    const r = rig()
    r.storage.quota = 60 * RATE * 4 * 10
    await r.recorder.start({ show: 'Tight' }, node('program'))
    await until('the estimate', () => r.recorder.status.freeBytes !== undefined)
    expect(r.recorder.status.lowSpace).toBe(true)
    expect(Math.round(r.recorder.status.secondsLeft ?? 0)).toBe(600)
    await r.recorder.stop()
  })

  it('finds a recording a crash left open, and finishes it: every track as long as the longest, headers set', async () => {
    const r = rig()
    const program = node('program')
    const host = node('host')
    await r.recorder.start({ show: 'Crash' }, program)
    await r.recorder.attach('host-id', 'Host', host)
    for (let b = 0; b < 6; b++) r.feed(program, 96_000 + b * BLOCK, 0.1)
    for (let b = 0; b < 4; b++) r.feed(host, 96_000 + b * BLOCK, 0.1)
    await until('the blocks written', () => r.recorder.status.bytes === 6 * BLOCK * 4 + 4 * BLOCK * 2)
    // The page dies here: no stop. A new page lists what is stored.
    const library = new RecordingLibrary(r.storage)
    const [found] = await library.list()
    expect(found).toMatchObject({ unfinished: true, seconds: 6 * BLOCK / RATE })
    const finished = await library.finish(found?.dir ?? '')
    expect(finished.unfinished).toBe(false)
    for (const track of finished.manifest?.tracks ?? []) {
      const bytes = r.storage.bytes(finished.dir, track.file)
      expect(bytes.length).toBe(WAV_HEADER_BYTES + 6 * BLOCK * 2 * track.channels)
      expect(new DataView(bytes.buffer).getUint32(40, true)).toBe(6 * BLOCK * 2 * track.channels)
    }
    // The one running now is not listed; garbage in storage is listed as unreadable, never trusted.
    await r.storage.put('recording-1', MANIFEST_NAME, new TextEncoder().encode('{"version":1,"show":"<script>"'))
    expect((await library.list(finished.dir)).map((x) => [x.dir, x.manifest])).toEqual([['recording-1', undefined]])
    await expect(library.finish('recording-1')).rejects.toThrow(/no readable manifest/)
  })

  it('makes Opus files from the WAV tracks when asked, and keeps a track WAV, saying so, when that fails', async () => {
    const shares: number[] = []
    const r = rig(async (dir, wav, opus, channels, onProgress) => {
      if (wav.endsWith('-host.wav')) throw new Error('no encoder')
      const handle = await r.storage.open(dir, opus)
      await handle.write(0, new TextEncoder().encode(`OggS ${channels}`))
      onProgress(0.5)
      onProgress(1)
    })
    r.recorder.addEventListener('status:change', (e) => { if (e.detail.converting !== undefined) shares.push(e.detail.converting) })
    const program = node('program')
    await r.recorder.start({ show: 'Small', format: 'opus' }, program)
    await r.recorder.attach('host-id', 'Host', node('host'))
    r.feed(program, 96_000, 0.1)
    const manifest = await r.recorder.stop()
    expect(manifest?.format).toBe('opus')
    expect(manifest?.tracks.map((t) => t.file.replace(/^small-[0-9-]+-/, ''))).toEqual(['program.opus', 'host.wav'])
    const files = (await r.storage.files(`recording-${manifest?.startedAt}`)).map((f) => f.name.replace(/^small-[0-9-]+-/, '')).sort()
    expect(files).toEqual(['host.wav', 'program.opus', 'recording.json'])
    expect(shares).toEqual([0.25, 0.5])
    expect(r.recorder.status.error).toMatch(/host\.wav stays WAV/)
    expect(r.recorder.status.converting).toBeUndefined()
  })
})
