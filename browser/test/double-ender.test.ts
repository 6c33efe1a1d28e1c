import { describe, expect, it } from 'vitest'
import type { TapBlock } from '../src/audio/program-tap.ts'
import { DoubleEnder, earlierTakes, type DoubleEnderComponents } from '../src/services/call/double-ender.ts'
import type { RecordingManifest } from '../src/services/recording/manifest.ts'
import { UploadReceiver, type PlacedUpload } from '../src/services/recording/uploads.ts'
import { WAV_HEADER_BYTES } from '../src/services/recording/wav.ts'
import { MemoryRecordingStorage } from './fakes/recording-storage.ts'
import { uploadPair } from './fakes/signal-pair.ts'
import { until } from './fakes/wait.ts'

const RATE = 48_000
const STATION = '12D3KooWStation'
const T0 = Date.UTC(2026, 11, 8, 20, 0)
const RECORDING = 'recording-1'
const manifest: RecordingManifest = {
  version: 1, show: 'Evening Talk', startedAt: T0, sampleRate: RATE, format: 'wav',
  tracks: [
    { id: 'program', who: 'Program', file: 'evening-talk-2026-12-08-2000-program.wav', channels: 2 },
    { id: 'ada', who: 'Ada', file: 'evening-talk-2026-12-08-2000-ada.wav', channels: 1 }
  ]
}
const BLOCK = 4800

/**
 * A studio that takes uploads from 'ada', and her browser's storage, which
 * outlives her pages. Each page is a DoubleEnder on a fake tap whose
 * blocks the test pushes; `held` pages keep to the show's pace with a
 * pause that never ends (one chunk goes out), others send at once.
 */
function rig () {
  const studio = new MemoryRecordingStorage()
  const browser = new MemoryRecordingStorage()
  const receiver = new UploadReceiver({
    storage: studio,
    recording: (dir) => dir === RECORDING ? { manifest, seconds: 600 } : undefined,
    delayMs: () => 0
  })
  const placed: PlacedUpload[] = []
  receiver.addEventListener('upload:place', (e) => { placed.push(e.detail) })
  const offers: number[] = []
  const components = (held: boolean): Omit<DoubleEnderComponents, 'tap' | 'wallMsOfFrame' | 'sampleRate'> => ({
    storage: browser,
    openUpload: async () => {
      const [end, studioEnd] = uploadPair('ada', 'studio')
      void receiver.handle(studioEnd)
      const send = end.send.bind(end)
      end.send = async (message, options) => {
        if (message.type === 'offer') offers.push(message.startMs)
        await send(message, options)
      }
      return end
    },
    showRunning: () => held,
    clock: () => 0,
    pause: held ? async (_ms, { signal }) => new Promise((_resolve, reject) => { signal?.addEventListener('abort', () => { reject(signal.reason) }) }) : async () => {}
  })
  /** A page recording a new take, first sample at `startMs` on the studio's clock. */
  const page = (startMs: number, take: string, init: { held: boolean, after?: Promise<unknown> }): { ender: DoubleEnder, push: (value: number) => void } => {
    let onBlock: ((block: TapBlock) => void) | undefined
    let frame = 0
    const ender = new DoubleEnder({
      ...components(init.held),
      sampleRate: RATE,
      tap: async (_init, on) => { onBlock = on; return { stop: () => { onBlock = undefined } } },
      wallMsOfFrame: (at) => startMs + (at / RATE) * 1000
    }, { recording: RECORDING, station: STATION, clockOffsetMs: 0, take, after: init.after })
    const push = (value: number): void => {
      onBlock?.({ data: new Float32Array(BLOCK).fill(value), frames: BLOCK, channels: 1, frame })
      frame += BLOCK
    }
    return { ender, push }
  }
  const sampleAt = (file: string, byte: number): number => new DataView(studio.bytes(RECORDING, file).buffer).getInt16(WAV_HEADER_BYTES + byte, true)
  return { studio, browser, receiver, placed, offers, components, page, sampleAt }
}

describe('DoubleEnder (the double-ender, the caller side)', () => {
  it('a page that reloads mid-take: the next page sends the rest of the earlier take first, then its own; each arrives whole', async () => {
    const r = rig()
    // The first page records 2 s (192,000 bytes) and keeps to the show's pace: one 32 KiB chunk goes out.
    const first = r.page(T0 + 1000, '1', { held: true })
    await first.ender.start()
    for (let i = 0; i < 20; i++) first.push(0.25)
    await until('the first chunk with the studio', () => first.ender.status.sent > 0)
    const recorded = first.ender.status.recorded
    expect(recorded).toBe(20 * BLOCK * 2)
    // The page reloads: nothing more is sent from it.
    first.ender.dispose()

    // The new page finds the take, with its start, and all that was recorded of it.
    const takes = await earlierTakes(r.browser, STATION)
    expect(takes).toEqual([{ recording: RECORDING, take: '1', sampleRate: RATE, startMs: T0 + 1000, bytes: recorded }])
    expect(await earlierTakes(r.browser, '12D3KooWOtherStation')).toEqual([])
    const resumed = DoubleEnder.resume(r.components(false), takes[0]!, { station: STATION })
    // The new page's own take waits for the earlier one: the studio must not take it for the earlier one's end.
    const second = r.page(T0 + 30_000, '2', { held: false, after: resumed.ended })
    await second.ender.start()
    for (let i = 0; i < 5; i++) second.push(-0.5)
    second.ender.stopRecording()
    await resumed.start()
    await until('both takes with the studio', () => r.placed.length === 2 ? true : undefined)
    await second.ender.ended
    expect(resumed.status).toMatchObject({ state: 'uploaded', sent: recorded, recorded })
    expect(second.ender.status.state).toBe('uploaded')
    expect(r.offers.filter((at) => at === T0 + 30_000)).toHaveLength(1)
    expect(r.offers.indexOf(T0 + 30_000)).toBe(r.offers.length - 1)

    // The earlier take whole at its start, the new one at its own, each a file of its own.
    expect(r.placed.map((p) => [p.file, p.offsetFrames])).toEqual([
      ['evening-talk-2026-12-08-2000-ada-local.wav', RATE],
      ['evening-talk-2026-12-08-2000-ada-local-2.wav', 30 * RATE]
    ])
    expect(r.studio.bytes(RECORDING, 'evening-talk-2026-12-08-2000-ada-local.wav').length).toBe(WAV_HEADER_BYTES + RATE * 2 + recorded)
    expect(r.sampleAt('evening-talk-2026-12-08-2000-ada-local.wav', RATE * 2 + recorded - 2)).toBe(Math.round(0.25 * 32767))
    expect(r.sampleAt('evening-talk-2026-12-08-2000-ada-local-2.wav', 30 * RATE * 2)).toBe(Math.round(-0.5 * 32768))
    // The studio has both whole: nothing is kept in the caller's browser, and no later page offers them again.
    expect(r.browser.data.size).toBe(0)
    expect(await earlierTakes(r.browser, STATION)).toEqual([])
  })

  it('a take the studio placed already is complete at once when offered again, and is not sent twice', async () => {
    const r = rig()
    const first = r.page(T0 + 1000, '1', { held: false })
    await first.ender.start()
    for (let i = 0; i < 3; i++) first.push(0.25)
    // Its note survives the page (as if the page went before it could forget the take).
    const note = r.browser.bytes(`local-${RECORDING}`, 'take-1.json').slice()
    const pcm = r.browser.bytes(`local-${RECORDING}`, 'take-1.pcm').slice()
    first.ender.stopRecording()
    await first.ender.ended
    expect(r.placed).toHaveLength(1)
    r.browser.data.set(`local-${RECORDING}/take-1.json`, note)
    r.browser.data.set(`local-${RECORDING}/take-1.pcm`, pcm)

    const [take] = await earlierTakes(r.browser, STATION)
    const again = DoubleEnder.resume(r.components(false), take!, { station: STATION })
    await again.start()
    await again.ended
    expect(again.status.state).toBe('uploaded')
    expect(r.placed).toHaveLength(1)
    expect((await r.studio.files(RECORDING)).map((f) => f.name)).toEqual(['evening-talk-2026-12-08-2000-ada-local.wav', `upload-ada-${T0 + 1000}.placed`])
  })

  it('skips notes that are not a take of this station: garbage, oversized, another recording\'s, without samples', async () => {
    const r = rig()
    const put = (dir: string, name: string, text: string): void => { r.browser.data.set(`${dir}/${name}`, new TextEncoder().encode(text)) }
    const good = { version: 1, station: STATION, recording: RECORDING, sampleRate: RATE, startMs: T0 }
    put(`local-${RECORDING}`, 'take-1.json', 'not json')
    put(`local-${RECORDING}`, 'take-1.pcm', 'xx')
    put(`local-${RECORDING}`, 'take-2.json', JSON.stringify({ ...good, padding: 'x'.repeat(2000) }))
    put(`local-${RECORDING}`, 'take-2.pcm', 'xx')
    put(`local-${RECORDING}`, 'take-3.json', JSON.stringify({ ...good, extra: true }))
    put(`local-${RECORDING}`, 'take-3.pcm', 'xx')
    put(`local-${RECORDING}`, 'take-4.json', JSON.stringify(good))
    put('local-recording-2', 'take-5.json', JSON.stringify(good))
    put('local-recording-2', 'take-5.pcm', 'xx')
    put(`local-${RECORDING}`, 'take-6.json', JSON.stringify({ ...good, startMs: T0 + 5 }))
    put(`local-${RECORDING}`, 'take-6.pcm', 'xxx')
    put(`local-${RECORDING}`, 'take-7.json', JSON.stringify(good))
    put(`local-${RECORDING}`, 'take-7.pcm', 'xxxx')
    // Only whole samples are offered; oldest first.
    expect(await earlierTakes(r.browser, STATION)).toEqual([
      { recording: RECORDING, take: '7', sampleRate: RATE, startMs: T0, bytes: 4 },
      { recording: RECORDING, take: '6', sampleRate: RATE, startMs: T0 + 5, bytes: 2 }
    ])
  })

  it('waits while the studio still ends the last upload ("busy"), then sends', async () => {
    const r = rig()
    // A stream from the page before is still open at the studio.
    const [stale, studioEnd] = uploadPair('ada', 'studio')
    const handled = r.receiver.handle(studioEnd)
    await stale.send({ type: 'offer', recording: RECORDING, sampleRate: RATE, channels: 1, startMs: T0 })
    await stale.read()
    let pauses = 0
    const page = new DoubleEnder({
      ...r.components(false),
      pause: async () => { pauses++; if (pauses === 1) stale.drop() },
      sampleRate: RATE,
      tap: async (_init, on) => { on({ data: new Float32Array(BLOCK), frames: BLOCK, channels: 1, frame: 0 }); return { stop: () => {} } },
      wallMsOfFrame: () => T0 + 60_000
    }, { recording: RECORDING, station: STATION, clockOffsetMs: 0, take: '9' })
    await page.start()
    page.stopRecording()
    await page.ended
    await handled
    expect(page.status.state).toBe('uploaded')
    expect(pauses).toBeGreaterThan(0)
  })
})
