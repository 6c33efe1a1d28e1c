/**
 * The cart wall's engine without a browser: the store over a Map (as
 * IndexedDB keeps it), the checks on what is loaded, and the deck's state
 * machine on fake audio whose clock the test moves.
 */
import { describe, expect, it } from 'vitest'
import {
  CartDeck, CartStore, MAX_CART_BYTES,
  type CartAudio, type CartDeckEvents, type CartRecord, type CartRecords, type CartSound, type CartVoice, type CartVoiceSettings
} from '../src/services/carts/index.ts'

/** Cart records in a Map: what IndexedDB keeps in the app. */
function memoryCartRecords (): CartRecords & { map: Map<IDBValidKey, unknown> } {
  const map = new Map<IDBValidKey, unknown>()
  return {
    map,
    entries: async () => [...map.entries()],
    set: async (slot, record) => { map.set(slot, record) },
    delete: async (slot) => { map.delete(slot) }
  }
}

interface FakeVoice extends CartVoice {
  sound: CartSound
  settings: CartVoiceSettings
  stopped: boolean
  /** Ends it by itself, as a source that played out does. */
  end: () => void
}

/**
 * Audio that decodes "files" of the text `AUDIO <seconds>` (anything else is
 * not audio), plays nothing, and keeps a record of what it was asked.
 */
class FakeAudio implements CartAudio<CartSound> {
  time = 100
  readonly voices: FakeVoice[] = []
  readonly ducks: Array<[number, number]> = []
  decoded = 0
  disposed = false

  now = (): number => this.time

  decode = async (bytes: ArrayBuffer): Promise<CartSound> => {
    this.decoded++
    const match = /^AUDIO (\d+(?:\.\d+)?)$/.exec(new TextDecoder().decode(bytes))
    if (match === null) throw new DOMException('Unable to decode audio data', 'EncodingError')
    const duration = Number(match[1])
    return { duration, length: Math.round(duration * 48_000) }
  }

  play = (sound: CartSound, settings: CartVoiceSettings, ended: () => void): CartVoice => {
    const voice: FakeVoice = {
      sound,
      settings,
      stopped: false,
      startedAt: this.time,
      set: (next) => { voice.settings = next },
      stop: () => { voice.stopped = true },
      end: () => { if (!voice.stopped) ended() }
    }
    this.voices.push(voice)
    return voice
  }

  duckVoices = (db: number, seconds: number): void => { this.ducks.push([db, seconds]) }

  dispose = (): void => { this.disposed = true }

  /** The voice started last. */
  last (): FakeVoice {
    const voice = this.voices.at(-1)
    if (voice === undefined) throw new Error('nothing played')
    return voice
  }
}

const audioFile = (name: string, seconds: number): File => new File([`AUDIO ${seconds}`], name, { type: 'audio/wav' })

function deck (records = memoryCartRecords()): { deck: CartDeck<CartSound>, audio: FakeAudio, records: ReturnType<typeof memoryCartRecords>, events: Array<[string, unknown]> } {
  const audio = new FakeAudio()
  const d = new CartDeck({ audio, store: new CartStore(records) })
  const events: Array<[string, unknown]> = []
  for (const type of ['cart:change', 'cart:play', 'cart:stop', 'restore:fail'] as Array<keyof CartDeckEvents>) {
    d.addEventListener(type, (e) => { events.push([type, e.detail]) })
  }
  return { deck: d, audio, records, events }
}

const record = (change: Partial<CartRecord> = {}): CartRecord => ({
  slot: 0, name: 'jingle.wav', type: 'audio/wav', data: new Blob(['AUDIO 3']), loop: false, mode: 'over', gainDb: 0, ...change
})

describe('cart store', () => {
  it('keeps a cart with its file and settings across a reload (a new store on the same records)', async () => {
    const records = memoryCartRecords()
    await new CartStore(records).save(record({ slot: 4, loop: true, mode: 'under-voices', gainDb: -6 }))
    const { carts, rejected } = await new CartStore(records).load()
    expect(rejected).toBe(0)
    expect(carts).toHaveLength(1)
    expect(carts[0]).toMatchObject({ slot: 4, name: 'jingle.wav', loop: true, mode: 'under-voices', gainDb: -6 })
    expect(await (carts[0]!.data as Blob).text()).toBe('AUDIO 3')
    await new CartStore(records).remove(4)
    expect((await new CartStore(records).load()).carts).toEqual([])
  })

  it('leaves out records that are not carts, whatever IndexedDB hands back', async () => {
    const records = memoryCartRecords()
    const bad: Array<[IDBValidKey, unknown]> = [
      [1, record({ slot: 2 })], // under another slot's key
      [12, record({ slot: 12 })], // off the wall
      [0, { ...record(), mode: 'loud' }],
      [3, { ...record({ slot: 3 }), name: '' }],
      [4, { ...record({ slot: 4 }), gainDb: 100 }],
      [5, { ...record({ slot: 5 }), data: 'AUDIO 3' }],
      [6, { ...record({ slot: 6 }), data: new ArrayBuffer(0) }],
      [7, { ...record({ slot: 7 }), data: new ArrayBuffer(MAX_CART_BYTES + 1) }],
      [8, { ...record({ slot: 8 }), script: 'alert(1)' }],
      [9, null],
      ['x', 'AUDIO 3']
    ]
    for (const [key, value] of bad) records.map.set(key, value)
    records.map.set(10, record({ slot: 10, data: new TextEncoder().encode('AUDIO 1').buffer }))
    const { carts, rejected } = await new CartStore(records).load()
    expect(rejected).toBe(bad.length)
    expect(carts.map((c) => c.slot)).toEqual([10])
  })

  it('writes no malformed record', async () => {
    const records = memoryCartRecords()
    await expect(new CartStore(records).save({ ...record(), gainDb: Number.NaN })).rejects.toMatchObject({ name: 'ZodError' })
    expect(records.map.size).toBe(0)
  })
})

describe('loading a cart', () => {
  it('refuses a file over 25 MiB before reading it, naming the file and the limit', async () => {
    const { deck: d, audio, records } = deck()
    const big = new File([new Uint8Array(MAX_CART_BYTES + 1)], 'huge-bed.wav', { type: 'audio/wav' })
    const err = await d.load(0, big).then(() => new Error('loaded'), (e: unknown) => e as Error)
    expect(err).toMatchObject({ name: 'CartTooLargeError', file: 'huge-bed.wav', limit: MAX_CART_BYTES })
    expect(err.message).toContain('huge-bed.wav')
    expect(err.message).toContain('25.0 MiB')
    expect(audio.decoded).toBe(0)
    expect(d.cart(0)).toBeUndefined()
    expect(records.map.size).toBe(0)
  })

  it('refuses what does not decode, or decodes to nothing, and leaves the slot as it was', async () => {
    const { deck: d, records } = deck()
    await d.load(0, audioFile('sting.wav', 2))
    const notAudio = d.load(0, new File(['just some notes'], 'notes.wav', { type: 'audio/wav' }))
    await expect(notAudio).rejects.toMatchObject({ name: 'CartNotAudioError', file: 'notes.wav' })
    await expect(notAudio).rejects.toHaveProperty('cause.name', 'EncodingError')
    await expect(d.load(0, audioFile('empty.wav', 0))).rejects.toMatchObject({ name: 'CartNotAudioError', file: 'empty.wav' })
    expect(d.cart(0)).toMatchObject({ name: 'sting.wav', duration: 2 })
    expect((records.map.get(0) as CartRecord).name).toBe('sting.wav')
  })

  it('refuses audio longer than 10 minutes', async () => {
    const { deck: d } = deck()
    const err = await d.load(1, audioFile('whole-album.mp3', 601)).then(() => new Error('loaded'), (e: unknown) => e as Error)
    expect(err).toMatchObject({ name: 'CartTooLongError', seconds: 601, limit: 600 })
    expect(err.message).toContain('whole-album.mp3')
    expect(err.message).toContain('10:00')
    expect(d.cart(1)).toBeUndefined()
  })

  it('refuses slots off the wall', async () => {
    const { deck: d } = deck()
    await expect(d.load(12, audioFile('x.wav', 1))).rejects.toMatchObject({ name: 'CartSlotError' })
    expect(() => d.press(-1)).toThrow(expect.objectContaining({ name: 'CartSlotError' }))
    expect(() => d.play(1.5)).toThrow(expect.objectContaining({ name: 'CartSlotError' }))
  })

  it('keeps one line of the file name, and the later of two loads into one slot', async () => {
    const { deck: d } = deck()
    const first = d.load(2, audioFile('first\n.wav', 1))
    const second = d.load(2, audioFile('second.wav', 2))
    await Promise.all([first, second])
    expect(d.cart(2)).toMatchObject({ name: 'second.wav', duration: 2 })
    const cleared = d.load(3, audioFile('gone.wav', 1))
    await d.clear(3)
    await cleared
    expect(d.cart(3)).toBeUndefined()
    await d.load(3, audioFile('a\u0007b.wav', 1))
    expect(d.cart(3)?.name).toBe('a b.wav')
  })
})

describe('cart deck', () => {
  it('plays a cart from the start on a press, stops it on the next, and counts down', async () => {
    const { deck: d, audio, events } = deck()
    await d.load(0, audioFile('jingle.wav', 3))
    expect(d.press(0)).toBe(true)
    const voice = audio.last()
    expect(voice.settings).toEqual({ loop: false, mode: 'over', gainDb: 0 })
    expect(d.cart(0)?.playing).toBe(true)
    audio.time += 1.25
    expect(d.remaining(0)).toBeCloseTo(1.75, 9)
    expect(d.press(0)).toBe(false)
    expect(voice.stopped).toBe(true)
    expect(d.remaining(0)).toBeUndefined()
    expect(events.filter(([type]) => type === 'cart:stop')).toEqual([['cart:stop', { slot: 0, ended: false }]])
    // Pressed again: from the start.
    d.press(0)
    expect(audio.voices).toHaveLength(2)
    expect(d.remaining(0)).toBe(3)
  })

  it('a cart that plays out stops by itself', async () => {
    const { deck: d, audio, events } = deck()
    await d.load(0, audioFile('sting.wav', 1))
    d.press(0)
    audio.time += 1
    expect(d.remaining(0)).toBe(0)
    audio.last().end()
    expect(d.cart(0)?.playing).toBe(false)
    expect(events.at(-2)).toEqual(['cart:stop', { slot: 0, ended: true }])
    expect(events.at(-1)).toEqual(['cart:change', { slot: 0, cart: expect.objectContaining({ playing: false }) }])
  })

  it('play restarts a playing cart; a stale end of the old one changes nothing', async () => {
    const { deck: d, audio } = deck()
    await d.load(0, audioFile('sting.wav', 2))
    d.play(0)
    const old = audio.last()
    d.play(0)
    expect(old.stopped).toBe(true)
    old.end()
    expect(d.cart(0)?.playing).toBe(true)
    expect(d.play(5)).toBe(false)
  })

  it('a looping cart wraps its remaining time each pass; turned off, it counts down its last pass', async () => {
    const { deck: d, audio } = deck()
    await d.load(1, audioFile('bed.wav', 0.5))
    await d.setLoop(1, true)
    d.press(1)
    expect(audio.last().settings.loop).toBe(true)
    audio.time += 1.6 // 3 passes and 0.1 s
    expect(d.remaining(1)).toBeCloseTo(0.4, 9)
    expect(d.cart(1)?.playing).toBe(true)
    audio.time += 0.2
    expect(d.remaining(1)).toBeCloseTo(0.2, 9)
    await d.setLoop(1, false)
    expect(audio.last().settings.loop).toBe(false)
    expect(d.remaining(1)).toBeCloseTo(0.2, 9)
    audio.time += 0.3
    expect(d.remaining(1)).toBe(0)
  })

  it('a cart that ducks the voices takes them 12 dB down while any such cart plays, and back up after', async () => {
    const { deck: d, audio } = deck()
    await d.load(0, audioFile('sting.wav', 2))
    await d.load(1, audioFile('laugh.wav', 2))
    await d.load(2, audioFile('jingle.wav', 2))
    await d.setMode(0, 'duck-voices')
    await d.setMode(1, 'duck-voices')
    d.press(2)
    expect(audio.ducks).toEqual([])
    d.press(0)
    d.press(1)
    expect(audio.ducks).toEqual([[-12, 0.05]])
    d.stop(0)
    expect(audio.ducks).toHaveLength(1)
    audio.voices[2]!.end()
    expect(audio.ducks).toEqual([[-12, 0.05], [0, 0.3]])
    // Changing the mode while it plays ducks or releases at once.
    d.press(0)
    await d.setMode(0, 'over')
    expect(audio.ducks.at(-2)).toEqual([-12, 0.05])
    expect(audio.ducks.at(-1)).toEqual([0, 0.3])
    expect(audio.last().settings.mode).toBe('over')
  })

  it('a bed under the voices plays through the ducker; settings persist', async () => {
    const records = memoryCartRecords()
    const { deck: d, audio } = deck(records)
    await d.load(3, audioFile('bed.wav', 30))
    await d.setMode(3, 'under-voices')
    await d.setGain(3, -6)
    d.press(3)
    expect(audio.last().settings).toEqual({ loop: false, mode: 'under-voices', gainDb: -6 })
    expect(records.map.get(3)).toMatchObject({ mode: 'under-voices', gainDb: -6 })
    await expect(d.setGain(3, 20)).rejects.toMatchObject({ name: 'RangeError' })
  })

  it('stopAll stops every cart; clear empties a slot here and in the store', async () => {
    const { deck: d, audio, records } = deck()
    await d.load(0, audioFile('a.wav', 5))
    await d.load(1, audioFile('b.wav', 5))
    d.press(0)
    d.press(1)
    d.stopAll()
    expect(audio.voices.every((v) => v.stopped)).toBe(true)
    expect(d.carts.filter((c) => c?.playing === true)).toEqual([])
    d.press(1)
    await d.clear(1)
    expect(audio.last().stopped).toBe(true)
    expect(d.cart(1)).toBeUndefined()
    expect(records.map.has(1)).toBe(false)
  })

  it('restores the stored carts on start, and says which could not be', async () => {
    const records = memoryCartRecords()
    records.map.set(0, record({ slot: 0, loop: true }))
    records.map.set(5, record({ slot: 5, name: 'broken.wav', data: new Blob(['garbage']) }))
    records.map.set(6, { nonsense: true })
    const { deck: d, events } = deck(records)
    await d.start()
    expect(d.cart(0)).toMatchObject({ name: 'jingle.wav', loop: true, duration: 3, playing: false })
    expect(d.cart(5)).toBeUndefined()
    const failures = events.filter(([type]) => type === 'restore:fail').map(([, detail]) => detail as { slot?: number, error: Error })
    expect(failures).toHaveLength(2)
    expect(failures.find((f) => f.slot === 5)?.error.name).toBe('CartNotAudioError')
    expect(failures.find((f) => f.slot === undefined)?.error).toMatchObject({ name: 'CartStoreError', rejected: 1 })
    // Left alone in the store: nothing is deleted behind the producer's back.
    expect(records.map.size).toBe(3)
  })

  it('an aborted start leaves nothing running', async () => {
    const { deck: d, audio } = deck()
    const abort = new AbortController()
    abort.abort(new Error('closed'))
    await expect(d.start({ signal: abort.signal })).rejects.toThrow('closed')
    expect(audio.disposed).toBe(true)
  })

  it('dispose stops every cart, lets the voices back up, and is idempotent', async () => {
    const { deck: d, audio } = deck()
    await d.load(0, audioFile('sting.wav', 5))
    await d.setMode(0, 'duck-voices')
    d.press(0)
    d.dispose()
    d.dispose()
    expect(audio.last().stopped).toBe(true)
    expect(audio.ducks.at(-1)).toEqual([0, 0.3])
    expect(audio.disposed).toBe(true)
    expect(() => d.press(0)).toThrow(expect.objectContaining({ name: 'CartDeckStoppedError' }))
  })
})
