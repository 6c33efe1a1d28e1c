import { describe, expect, it } from 'vitest'
import { MAX_UPLOAD_CHUNK_BYTES, encodeUpload } from '@openstudio/protocol'
import { encodeManifest, type RecordingManifest } from '../src/services/recording/manifest.ts'
import { RecordingLibrary } from '../src/services/recording/library.ts'
import { UPLOAD_LIMITS, UploadReceiver, type PlacedUpload, type UploadReceiverComponents } from '../src/services/recording/uploads.ts'
import { toPcm16, WAV_HEADER_BYTES, wavHeader, wavSamples } from '../src/services/recording/wav.ts'
import { bursts } from './fakes/signals.ts'
import { MemoryRecordingStorage } from './fakes/recording-storage.ts'
import { uploadPair, type MemoryUploadEndpoint } from './fakes/signal-pair.ts'
import { settle, until } from './fakes/wait.ts'

const RATE = 48_000
const STUDIO = 'studio'
const T0 = Date.UTC(2026, 11, 7, 20, 0)
const manifest: RecordingManifest = {
  version: 1, show: 'Evening Talk', startedAt: T0, sampleRate: RATE, format: 'wav',
  tracks: [
    { id: 'program', who: 'Program', file: 'evening-talk-2026-12-07-2000-program.wav', channels: 2 },
    { id: 'ada', who: 'Ada', file: 'evening-talk-2026-12-07-2000-ada.wav', channels: 1 },
    { id: 'bo', who: 'Bo', file: 'evening-talk-2026-12-07-2000-bo.wav', channels: 1 }
  ]
}
const DIR = 'recording-1'

function rig (init: { seconds?: number, manifest?: RecordingManifest, decodeOpus?: UploadReceiverComponents['decodeOpus'] } = {}) {
  const storage = new MemoryRecordingStorage()
  const recording = init.manifest ?? manifest
  const placed: PlacedUpload[] = []
  const refused: string[] = []
  const receiver = new UploadReceiver({
    storage,
    recording: (dir) => dir === DIR ? { manifest: recording, seconds: init.seconds ?? 60 } : undefined,
    delayMs: () => 40,
    decodeOpus: init.decodeOpus
  })
  receiver.addEventListener('upload:place', (e) => { placed.push(e.detail) })
  receiver.addEventListener('upload:refuse', (e) => { refused.push(e.detail.reason) })
  /** Opens an upload from `peer`: its end of the stream, and the studio handling the other. */
  const open = (peer: string): { end: MemoryUploadEndpoint, handled: Promise<void> } => {
    const [end, studioEnd] = uploadPair(peer, STUDIO)
    return { end, handled: receiver.handle(studioEnd) }
  }
  return { storage, receiver, placed, refused, open }
}

const offer = { type: 'offer' as const, recording: DIR, sampleRate: RATE, channels: 1 as const, startMs: T0 + 1000 }
const pcm = (bytes: number, value = 1000): Uint8Array => {
  const out = new Uint8Array(bytes)
  const view = new DataView(out.buffer)
  for (let i = 0; i + 1 < bytes; i += 2) view.setInt16(i, value, true)
  return out
}

describe('UploadReceiver (the double-ender, the studio side)', () => {
  it('takes a caller\'s recording in chunks, resumes after a break, and places it as its own named track', async () => {
    const r = rig()
    const first = r.open('ada')
    await first.end.send(offer)
    expect(await first.end.read()).toEqual({ type: 'accept', have: 0 })
    await first.end.send({ type: 'chunk', at: 0, bytes: pcm(MAX_UPLOAD_CHUNK_BYTES) })
    // The connection breaks; a new stream starts where the studio is.
    first.end.drop()
    await first.handled
    const second = r.open('ada')
    await second.end.send(offer)
    expect(await second.end.read()).toEqual({ type: 'accept', have: MAX_UPLOAD_CHUNK_BYTES })
    await second.end.send({ type: 'chunk', at: MAX_UPLOAD_CHUNK_BYTES, bytes: pcm(1000) })
    await second.end.send({ type: 'done', bytes: MAX_UPLOAD_CHUNK_BYTES + 1000 })
    expect(await second.end.read()).toEqual({ type: 'complete', have: MAX_UPLOAD_CHUNK_BYTES + 1000 })
    await second.handled
    // Placed where the timestamps say (1 s in, plus the 40 ms delay): the studio track is absent here, so nothing moves it.
    expect(r.placed).toEqual([{ peer: 'ada', dir: DIR, file: 'evening-talk-2026-12-07-2000-ada-local.wav', offsetFrames: 1.04 * RATE, coarseFrames: 1.04 * RATE, confidence: 0 }])
    const file = r.storage.bytes(DIR, 'evening-talk-2026-12-07-2000-ada-local.wav')
    expect(file.length).toBe(WAV_HEADER_BYTES + 1.04 * RATE * 2 + MAX_UPLOAD_CHUNK_BYTES + 1000)
    expect(new DataView(file.buffer).getInt16(WAV_HEADER_BYTES + 1.04 * RATE * 2, true)).toBe(1000)
    // The part file is gone; a marker says the take is placed, and the library lists only the track.
    expect((await r.storage.files(DIR)).map((f) => f.name)).toEqual(['evening-talk-2026-12-07-2000-ada-local.wav', `upload-ada-${offer.startMs}.placed`])
    await r.storage.put(DIR, 'recording.json', encodeManifest(manifest))
    const [listed] = await new RecordingLibrary(r.storage).list()
    expect(listed?.files.map((f) => f.name)).toEqual(['evening-talk-2026-12-07-2000-ada-local.wav'])
  })

  it('answers an offer of a take placed already "complete", also after the studio\'s page reloaded, and writes nothing', async () => {
    const r = rig()
    const first = r.open('ada')
    await first.end.send(offer)
    await first.end.read()
    await first.end.send({ type: 'chunk', at: 0, bytes: pcm(1000) })
    await first.end.send({ type: 'done', bytes: 1000 })
    expect(await first.end.read()).toEqual({ type: 'complete', have: 1000 })
    await first.handled
    const files = [...r.storage.data.keys()].sort()
    // A new studio page on the same storage: the marker is all it knows of the take.
    const reloaded = new UploadReceiver({ storage: r.storage, recording: () => ({ manifest, seconds: 60 }), delayMs: () => 40 })
    const [again, studioEnd] = uploadPair('ada', STUDIO)
    const handled = reloaded.handle(studioEnd)
    await again.send(offer)
    expect(await again.read()).toEqual({ type: 'complete', have: 1000 })
    await handled
    expect(reloaded.placed).toEqual([])
    expect([...r.storage.data.keys()].sort()).toEqual(files)
    // A marker that is not a count still means placed.
    await r.storage.put(DIR, `upload-ada-${offer.startMs}.placed`, new TextEncoder().encode('x'.repeat(100)))
    const [garbled, garbledEnd] = uploadPair('ada', STUDIO)
    const garbledHandled = reloaded.handle(garbledEnd)
    await garbled.send(offer)
    expect(await garbled.read()).toEqual({ type: 'complete', have: 0 })
    await garbledHandled
  })

  it('refuses strangers, unknown recordings, a second upload at once, out-of-order and oversized chunks: nothing is written', async () => {
    const r = rig({ seconds: 1 })
    const answer = async (peer: string, first: Parameters<MemoryUploadEndpoint['send']>[0], then?: Parameters<MemoryUploadEndpoint['send']>[0]): Promise<unknown> => {
      const { end, handled } = r.open(peer)
      await end.send(first)
      let reply = await end.read()
      if (then !== undefined && reply?.type === 'accept') {
        await end.send(then)
        reply = await end.read()
      }
      await handled
      return reply
    }
    // Someone the studio never recorded in this show, and the program's own id.
    expect(await answer('mallory', offer)).toEqual({ type: 'refuse', reason: 'not-in-show' })
    expect(await answer('program', offer)).toEqual({ type: 'refuse', reason: 'not-in-show' })
    expect(await answer('ada', { ...offer, recording: 'recording-999' })).toEqual({ type: 'refuse', reason: 'no-recording' })
    expect(await answer('ada', { ...offer, sampleRate: 44_100 })).toEqual({ type: 'refuse', reason: 'no-recording' })
    // Writing anywhere but the end of what the studio has: over another track, or this one's past.
    expect(await answer('ada', offer, { type: 'chunk', at: 4, bytes: pcm(10) })).toEqual({ type: 'refuse', reason: 'out-of-order' })
    // Longer than the show (1 s) allows, with its slack (120 s): 121 s of 16-bit mono.
    const { end, handled } = r.open('bo')
    await end.send(offer)
    await end.read()
    let at = 0
    for (;;) {
      try {
        await end.send({ type: 'chunk', at, bytes: pcm(MAX_UPLOAD_CHUNK_BYTES) })
      } catch (err) {
        // The studio refused and closed the stream.
        expect((err as Error).name).toBe('StreamClosedError')
        break
      }
      at += MAX_UPLOAD_CHUNK_BYTES
      await settle()
    }
    expect(end.other.sent.at(-1)).toEqual({ type: 'refuse', reason: 'too-large' })
    await handled
    // What the studio kept stops short of the bound: the chunk that would cross it was not written.
    const kept = r.storage.bytes(DIR, `upload-bo-${offer.startMs}.part`).length
    expect(kept).toBeGreaterThan(121 * RATE * 2 - MAX_UPLOAD_CHUNK_BYTES)
    expect(kept).toBeLessThanOrEqual(121 * RATE * 2)
    expect(r.refused).toEqual(['not-in-show', 'not-in-show', 'no-recording', 'no-recording', 'out-of-order', 'too-large'])
    expect(r.placed).toEqual([])
    // Garbage instead of an offer: the stream is dropped.
    const garbage = r.open('ada')
    await garbage.end.send({ type: 'done', bytes: 0 })
    await garbage.handled
    expect(await garbage.end.read()).toBeUndefined()
  })

  it('never takes another track\'s name: an Opus recording\'s caller track stays as it was', async () => {
    const r = rig()
    manifest.tracks[1] = { id: 'ada', who: 'Ada', file: 'evening-talk-2026-12-07-2000-ada.opus', channels: 1 }
    manifest.tracks.push({ id: 'ghost', who: 'Ghost', file: 'evening-talk-2026-12-07-2000-ada-local.wav', channels: 1 })
    try {
      const opus = await r.storage.open(DIR, 'evening-talk-2026-12-07-2000-ada.opus')
      await opus.write(0, new TextEncoder().encode('OggS'))
      const { end, handled } = r.open('ada')
      await end.send(offer)
      await end.read()
      await end.send({ type: 'chunk', at: 0, bytes: pcm(100) })
      await end.send({ type: 'done', bytes: 100 })
      expect(await end.read()).toEqual({ type: 'complete', have: 100 })
      await handled
      expect(r.placed[0]?.file).toBe('evening-talk-2026-12-07-2000-ada-local-2.wav')
      expect(new TextDecoder().decode(r.storage.bytes(DIR, 'evening-talk-2026-12-07-2000-ada.opus'))).toBe('OggS')
    } finally {
      manifest.tracks.splice(1, manifest.tracks.length - 1, { id: 'ada', who: 'Ada', file: 'evening-talk-2026-12-07-2000-ada.wav', channels: 1 }, { id: 'bo', who: 'Bo', file: 'evening-talk-2026-12-07-2000-bo.wav', channels: 1 })
    }
  })

  describe('places the upload by its sound where the timestamps are 15 ms off', () => {
    // The studio heard Ada's voice 700 frames (14.6 ms) later than the timestamps say: 1.04 s in.
    const coarse = 1.04 * RATE
    const late = 700
    const voice = bursts(10)
    const heard = new Float32Array(12 * RATE)
    heard.set(voice, coarse + late)
    /** Sends Ada's own recording (the voice) as one upload, whole. */
    const upload = async (r: ReturnType<typeof rig>): Promise<void> => {
      const { end, handled } = r.open('ada')
      await end.send(offer)
      await end.read()
      const bytes = toPcm16(voice, voice.length, 1)
      for (let at = 0; at < bytes.length; at += MAX_UPLOAD_CHUNK_BYTES) await end.send({ type: 'chunk', at, bytes: bytes.subarray(at, at + MAX_UPLOAD_CHUNK_BYTES) })
      await end.send({ type: 'done', bytes: bytes.length })
      await end.read()
      await handled
    }

    it('against a WAV track', async () => {
      const r = rig()
      await r.storage.put(DIR, 'evening-talk-2026-12-07-2000-ada.wav', new Uint8Array([...wavHeader({ sampleRate: RATE, channels: 1 }, heard.length * 2), ...toPcm16(heard, heard.length, 1)]))
      await upload(r)
      expect(r.placed[0]).toMatchObject({ offsetFrames: coarse + late, coarseFrames: coarse })
      expect(r.placed[0]?.confidence).toBeGreaterThan(0)
      // The placed track holds the voice where the studio heard it.
      const placed = await wavSamples(await r.storage.read(DIR, 'evening-talk-2026-12-07-2000-ada-local.wav'), coarse + late, 100, WAV_HEADER_BYTES)
      expect(Math.max(...placed.map((x, i) => Math.abs(x - (voice[i] as number))))).toBeLessThan(1 / 16384)
      expect(Math.max(...placed.map(Math.abs))).toBeGreaterThan(0.1)
    })

    it('against an Opus track, read through the decoder; without one, the timestamps stand', async () => {
      const opusManifest: RecordingManifest = { ...manifest, format: 'opus', tracks: manifest.tracks.map((t) => ({ ...t, file: t.file.replace(/\.wav$/, '.opus') })) }
      const asked: Array<[number, number]> = []
      // A stand-in for the WebCodecs decoder (decodeOggOpus), which the Opus e2e test checks against FFmpeg.
      const decodeOpus = async (file: Blob, from: number, frames: number): Promise<Float32Array> => {
        expect(new TextDecoder().decode(await file.arrayBuffer())).toBe('OggS')
        asked.push([from, frames])
        return Float32Array.from({ length: frames }, (_, i) => heard[from + i] ?? 0)
      }
      const r = rig({ manifest: opusManifest, decodeOpus })
      await r.storage.put(DIR, 'evening-talk-2026-12-07-2000-ada.opus', new TextEncoder().encode('OggS'))
      await upload(r)
      expect(r.placed[0]).toMatchObject({ file: 'evening-talk-2026-12-07-2000-ada-local.wav', offsetFrames: coarse + late })
      // Stretches of the studio's track spread over the upload, each 4 s and the search radius either side.
      expect(asked).toHaveLength(UPLOAD_LIMITS.alignStretches)

      const without = rig({ manifest: opusManifest })
      await without.storage.put(DIR, 'evening-talk-2026-12-07-2000-ada.opus', new TextEncoder().encode('OggS'))
      await upload(without)
      expect(without.placed[0]).toMatchObject({ offsetFrames: coarse, confidence: 0 })
    })
  })

  it('keeps each take of a caller whose page reloaded: the first as far as it came, the second whole, each its own file', async () => {
    const r = rig()
    const first = r.open('ada')
    await first.end.send(offer)
    await first.end.read()
    await first.end.send({ type: 'chunk', at: 0, bytes: pcm(4000, 1111) })
    // The page reloads: the rest of the first take is lost with it; the new page records anew, from a later start.
    first.end.drop()
    await first.handled
    const second = r.open('ada')
    await second.end.send({ ...offer, startMs: offer.startMs + 30_000 })
    // A new take starts from nothing: the first take's bytes are not this one's.
    expect(await second.end.read()).toEqual({ type: 'accept', have: 0 })
    await second.end.send({ type: 'chunk', at: 0, bytes: pcm(600, 2222) })
    await second.end.send({ type: 'done', bytes: 600 })
    expect(await second.end.read()).toEqual({ type: 'complete', have: 600 })
    await second.handled
    // The first take is placed when the second begins, at its own start; the second after it, at its own.
    expect(r.placed.map((p) => [p.file, p.offsetFrames])).toEqual([
      ['evening-talk-2026-12-07-2000-ada-local.wav', 1.04 * RATE],
      ['evening-talk-2026-12-07-2000-ada-local-2.wav', 31.04 * RATE]
    ])
    const sample = (file: string, frame: number): number => new DataView(r.storage.bytes(DIR, file).buffer).getInt16(WAV_HEADER_BYTES + frame * 2, true)
    expect(sample('evening-talk-2026-12-07-2000-ada-local.wav', 1.04 * RATE)).toBe(1111)
    expect(r.storage.bytes(DIR, 'evening-talk-2026-12-07-2000-ada-local.wav').length).toBe(WAV_HEADER_BYTES + 1.04 * RATE * 2 + 4000)
    expect(sample('evening-talk-2026-12-07-2000-ada-local-2.wav', 31.04 * RATE)).toBe(2222)
    expect((await r.storage.files(DIR)).filter((f) => f.name.endsWith('.part'))).toEqual([])

    // A take that never sent a byte before the next one began leaves no file.
    const empty = r.open('ada')
    await empty.end.send({ ...offer, startMs: offer.startMs + 40_000 })
    await empty.end.read()
    empty.end.drop()
    await empty.handled
    const last = r.open('ada')
    await last.end.send({ ...offer, startMs: offer.startMs + 50_000 })
    await last.end.read()
    await last.end.send({ type: 'done', bytes: 0 })
    await last.end.read()
    await last.handled
    expect(r.placed.map((p) => p.file)).toEqual(['evening-talk-2026-12-07-2000-ada-local.wav', 'evening-talk-2026-12-07-2000-ada-local-2.wav', 'evening-talk-2026-12-07-2000-ada-local-3.wav'])
    expect(r.placed[2]?.offsetFrames).toBe(51.04 * RATE)
  })

  it('lets one upload per caller run at a time', async () => {
    const r = rig()
    const first = r.open('ada')
    await first.end.send(offer)
    await first.end.read()
    const second = r.open('ada')
    await second.end.send(offer)
    expect(await second.end.read()).toEqual({ type: 'refuse', reason: 'busy' })
    await until('the refusal counted', () => r.refused.includes('busy'))
    first.end.drop()
    await first.handled
  })

  it('cannot be sent a chunk larger than the protocol allows', () => {
    expect(() => encodeUpload({ type: 'chunk', at: 0, bytes: new Uint8Array(MAX_UPLOAD_CHUNK_BYTES + 1) })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
  })
})
