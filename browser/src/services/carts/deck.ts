/**
 * The cart machine: twelve slots, each an audio file decoded into memory so
 * that it starts at once. It checks what it loads (size, then decoding, then
 * length), keeps it in the store, plays it on a press and stops it on the
 * next (as cart machines do), loops it, and keeps the voices down while a
 * cart that ducks them plays. The audio itself happens behind CartAudio
 * (web-audio.ts in the studio, a fake in unit tests).
 */
import { TypedEventEmitter } from 'main-event'
import {
  CART_GAIN_DB, CART_SLOTS, DUCK_VOICES_DB, DUCK_VOICES_DOWN_S, DUCK_VOICES_UP_S, MAX_CART_BYTES, MAX_CART_NAME, MAX_CART_SECONDS
} from './constants.ts'
import { CartDeckStoppedError, CartNotAudioError, CartSlotError, CartStoreError, CartTooLargeError, CartTooLongError } from './errors.ts'
import type { CartMode, CartRecord, StoredCarts } from './store.ts'

/** Decoded audio, as the deck needs to know it (an AudioBuffer in the studio). */
export interface CartSound {
  /** Seconds. */
  readonly duration: number
  /** Samples per channel. */
  readonly length: number
}

/** How a playing cart sounds; it can change while it plays. */
export interface CartVoiceSettings {
  loop: boolean
  mode: CartMode
  gainDb: number
}

/** One cart playing. */
export interface CartVoice {
  /** When it started, on the audio clock (CartAudio.now). */
  readonly startedAt: number
  /** Changes its loop, routing or gain at once. */
  set: (settings: CartVoiceSettings) => void
  /** Fades it out quickly; its `ended` callback is not called. Idempotent. */
  stop: () => void
}

/** The audio the deck drives: decoding, playing into the program, and the voices' level. */
export interface CartAudio<S extends CartSound> {
  /** The audio clock, in seconds. */
  now: () => number
  /** Decodes a file's bytes (the buffer may be detached). @throws when they are not audio */
  decode: (bytes: ArrayBuffer) => Promise<S>
  /** Starts `sound` now; `ended` is called once if it ends by itself. */
  play: (sound: S, settings: CartVoiceSettings, ended: () => void) => CartVoice
  /** Takes the voices in the program to `db` (0: back up) over `seconds`. */
  duckVoices: (db: number, seconds: number) => void
  /** Stops everything and leaves the graph. */
  dispose: () => void
}

/** A loaded cart as the wall shows it. */
export interface CartView {
  slot: number
  name: string
  type: string
  loop: boolean
  mode: CartMode
  gainDb: number
  /** Seconds. */
  duration: number
  playing: boolean
}

export interface CartDeckEvents {
  /** A slot was loaded, cleared, or its loop, mode or gain changed: its cart now (undefined: empty). */
  'cart:change': CustomEvent<{ slot: number, cart?: CartView }>
  /** A cart started playing. */
  'cart:play': CustomEvent<{ slot: number }>
  /** A cart stopped: `ended` when it played to its end, otherwise it was stopped, cleared or replaced. */
  'cart:stop': CustomEvent<{ slot: number, ended: boolean }>
  /**
   * A stored cart could not be restored at start: its audio no longer
   * decodes or breaks a limit (`slot`), or the store could not be read or
   * held malformed records (no `slot`). The store is left as it is.
   */
  'restore:fail': CustomEvent<{ slot?: number, error: Error }>
}

export interface CartDeckInit {
  /** The largest file a cart takes, bytes. @default MAX_CART_BYTES (25 MiB) */
  maxBytes?: number
  /** The longest a cart may last, seconds. @default MAX_CART_SECONDS (600) */
  maxSeconds?: number
  /** How far a cart that ducks the voices takes them down, dB. @default DUCK_VOICES_DB (-12) */
  duckVoicesDb?: number
  /** How fast the voices go down, seconds. @default DUCK_VOICES_DOWN_S (0.05) */
  duckDownSeconds?: number
  /** How fast the voices come back up, seconds. @default DUCK_VOICES_UP_S (0.3) */
  duckUpSeconds?: number
}

/** Where the deck keeps its carts (CartStore). */
export interface CartDeckStore {
  load: () => Promise<StoredCarts>
  save: (record: CartRecord) => Promise<void>
  remove: (slot: number) => Promise<void>
}

export interface CartDeckComponents<S extends CartSound> {
  audio: CartAudio<S>
  store: CartDeckStore
}

export interface AbortOptions {
  signal?: AbortSignal
}

/** A file as the deck takes it: a File, or any Blob with a name. */
export type CartFile = Blob & { readonly name: string }

interface Playing {
  voice: CartVoice
  /** When the pass now playing began; it moves only when a loop is turned off, so that the last pass counts down. */
  passStart: number
}

interface Loaded<S> {
  record: CartRecord
  sound: S
  playing?: Playing
}

/** The file name a cart keeps: one line, not too long, never empty. */
export function cartName (name: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = name.replace(/[\u0000-\u001f\u007f]/g, ' ').trim().slice(0, MAX_CART_NAME)
  return clean === '' ? 'Untitled' : clean
}

export class CartDeck<S extends CartSound> extends TypedEventEmitter<CartDeckEvents> {
  private readonly slots: Array<Loaded<S> | undefined> = Array.from({ length: CART_SLOTS }, () => undefined)
  /** Bumped by every load and clear of a slot: a load that finds it moved was overtaken, and keeps nothing. */
  private readonly generations: number[] = Array.from({ length: CART_SLOTS }, () => 0)
  private readonly audio: CartAudio<S>
  private readonly store: CartDeckStore
  private readonly maxBytes: number
  private readonly maxSeconds: number
  private readonly duckVoicesDb: number
  private readonly duckDownSeconds: number
  private readonly duckUpSeconds: number
  private ducking = false
  private disposed = false

  constructor (components: CartDeckComponents<S>, init: CartDeckInit = {}) {
    super()
    this.audio = components.audio
    this.store = components.store
    this.maxBytes = init.maxBytes ?? MAX_CART_BYTES
    this.maxSeconds = init.maxSeconds ?? MAX_CART_SECONDS
    this.duckVoicesDb = init.duckVoicesDb ?? DUCK_VOICES_DB
    this.duckDownSeconds = init.duckDownSeconds ?? DUCK_VOICES_DOWN_S
    this.duckUpSeconds = init.duckUpSeconds ?? DUCK_VOICES_UP_S
  }

  /**
   * Restores the stored carts. One that fails is reported (`restore:fail`)
   * and left out; so is the store when it cannot be read.
   * @throws the signal's reason when `signal` aborted it (the deck is disposed then)
   */
  async start (options: AbortOptions = {}): Promise<void> {
    try {
      await this.restore(options.signal)
    } catch (err) {
      this.dispose()
      throw err
    }
  }

  private async restore (signal?: AbortSignal): Promise<void> {
    this.assertStill(signal)
    let stored: StoredCarts
    try {
      stored = await this.store.load()
    } catch (err) {
      this.emit('restore:fail', { error: err as Error })
      return
    }
    this.assertStill(signal)
    if (stored.rejected > 0) this.emit('restore:fail', { error: new CartStoreError(stored.rejected) })
    await Promise.all(stored.carts.map(async (record) => {
      const generation = this.generations[record.slot]
      try {
        const bytes = record.data instanceof Blob ? await record.data.arrayBuffer() : record.data.slice(0)
        const sound = await this.check(record.name, bytes)
        // A cart loaded by hand meanwhile wins.
        if (this.disposed || this.generations[record.slot] !== generation) return
        this.slots[record.slot] = { record, sound }
        this.changed(record.slot)
      } catch (err) {
        this.emit('restore:fail', { slot: record.slot, error: err as Error })
      }
    }))
    this.assertStill(signal)
  }

  /** Stops every cart and leaves the audio graph. Idempotent. */
  dispose (): void {
    if (this.disposed) return
    this.disposed = true
    for (const loaded of this.slots) {
      loaded?.playing?.voice.stop()
      if (loaded !== undefined) loaded.playing = undefined
    }
    if (this.ducking) this.audio.duckVoices(0, this.duckUpSeconds)
    this.ducking = false
    this.audio.dispose()
  }

  /** Every slot: its cart, or undefined when empty. */
  get carts (): Array<CartView | undefined> {
    return this.slots.map((_, slot) => this.cart(slot))
  }

  /** The cart in `slot` (0-based), or undefined when it is empty. */
  cart (slot: number): CartView | undefined {
    const loaded = this.slots[slot]
    if (loaded === undefined) return undefined
    const { name, type, loop, mode, gainDb } = loaded.record
    return { slot, name, type, loop, mode, gainDb, duration: loaded.sound.duration, playing: loaded.playing !== undefined }
  }

  /**
   * Checks `file`, decodes it and keeps it in `slot` (stopping what played
   * there), with the default settings: no loop, over the voices, 0 dB.
   * Nothing changes when it is refused. When another load or a clear of the
   * same slot comes after it, the later one wins.
   * @throws {CartTooLargeError | CartNotAudioError | CartTooLongError} with nothing changed
   * @throws {CartSlotError} for a slot off the wall
   * @throws the signal's reason when `signal` aborted it before it was kept (nothing changed then)
   */
  async load (slot: number, file: CartFile, options: AbortOptions = {}): Promise<CartView | undefined> {
    this.assertSlot(slot)
    const name = cartName(file.name)
    if (file.size > this.maxBytes) throw new CartTooLargeError(name, file.size, this.maxBytes)
    const generation = ++this.generations[slot]!
    const sound = await this.check(name, await file.arrayBuffer())
    this.assertStill(options.signal)
    if (this.generations[slot] !== generation) return this.cart(slot)
    const record: CartRecord = { slot, name, type: file.type.slice(0, 100), data: file.slice(0, file.size, file.type), loop: false, mode: 'over', gainDb: 0 }
    await this.store.save(record)
    // Kept: too late to give up.
    this.assertLive()
    if (this.generations[slot] !== generation) return this.cart(slot)
    this.halt(slot, false)
    this.slots[slot] = { record, sound }
    this.changed(slot)
    return this.cart(slot)
  }

  /** Empties `slot` (stopping it) here and in the store. @throws {CartSlotError} */
  async clear (slot: number): Promise<void> {
    this.assertSlot(slot)
    this.generations[slot]!++
    this.halt(slot, false)
    const had = this.slots[slot] !== undefined
    this.slots[slot] = undefined
    if (had) this.changed(slot)
    await this.store.remove(slot)
  }

  /**
   * What a cart button or key does: plays the cart from the start, or stops
   * it when it is playing.
   * @returns whether it plays now (false for an empty slot)
   * @throws {CartSlotError}
   */
  press (slot: number): boolean {
    this.assertSlot(slot)
    if (this.slots[slot]?.playing !== undefined) {
      this.stop(slot)
      return false
    }
    return this.play(slot)
  }

  /**
   * Plays the cart in `slot` from the start (again from the start when it was playing).
   * @returns whether it plays (false for an empty slot)
   * @throws {CartSlotError}
   */
  play (slot: number): boolean {
    this.assertSlot(slot)
    const loaded = this.slots[slot]
    if (loaded === undefined) return false
    this.halt(slot, false)
    const { loop, mode, gainDb } = loaded.record
    const playing: Playing = {
      voice: this.audio.play(loaded.sound, { loop, mode, gainDb }, () => {
        if (loaded.playing !== playing) return
        loaded.playing = undefined
        this.stopped(slot, true)
      }),
      passStart: 0
    }
    playing.passStart = playing.voice.startedAt
    loaded.playing = playing
    this.reduck()
    this.emit('cart:play', { slot })
    this.changed(slot)
    return true
  }

  /** Stops the cart in `slot`, if it plays. @throws {CartSlotError} */
  stop (slot: number): void {
    this.assertSlot(slot)
    this.halt(slot, true)
  }

  /** Stops every cart. */
  stopAll (): void {
    for (let slot = 0; slot < CART_SLOTS; slot++) this.halt(slot, true)
  }

  /**
   * Seconds left of the cart in `slot`: of this pass when it loops (it wraps
   * to the full length each pass); undefined when it is not playing.
   */
  remaining (slot: number): number | undefined {
    const loaded = this.slots[slot]
    const playing = loaded?.playing
    if (loaded === undefined || playing === undefined) return undefined
    const duration = loaded.sound.duration
    const elapsed = Math.max(0, this.audio.now() - playing.passStart)
    if (loaded.record.loop) return duration - (elapsed % duration)
    return Math.max(0, duration - elapsed)
  }

  /** Loops the cart in `slot` or not, also while it plays (turned off, it plays out this pass). @throws {CartSlotError} */
  async setLoop (slot: number, loop: boolean): Promise<void> {
    await this.update(slot, { loop })
  }

  /** How the cart in `slot` plays against the voices, also while it plays. @throws {CartSlotError} */
  async setMode (slot: number, mode: CartMode): Promise<void> {
    await this.update(slot, { mode })
  }

  /** The cart's gain, dB. @throws {CartSlotError} @throws {RangeError} outside CART_GAIN_DB */
  async setGain (slot: number, gainDb: number): Promise<void> {
    if (!(gainDb >= CART_GAIN_DB.min && gainDb <= CART_GAIN_DB.max)) throw new RangeError(`a cart's gain is ${CART_GAIN_DB.min} to ${CART_GAIN_DB.max} dB, not ${gainDb}`)
    await this.update(slot, { gainDb })
  }

  private async update (slot: number, change: Partial<Pick<CartRecord, 'loop' | 'mode' | 'gainDb'>>): Promise<void> {
    this.assertSlot(slot)
    const loaded = this.slots[slot]
    if (loaded === undefined) return
    const playing = loaded.playing
    if (playing !== undefined && change.loop === false && loaded.record.loop) {
      // The pass under way is the last: it counts down from where it began.
      const duration = loaded.sound.duration
      const elapsed = Math.max(0, this.audio.now() - playing.passStart)
      playing.passStart += Math.floor(elapsed / duration) * duration
    }
    loaded.record = { ...loaded.record, ...change }
    const { loop, mode, gainDb } = loaded.record
    playing?.voice.set({ loop, mode, gainDb })
    this.reduck()
    this.changed(slot)
    await this.store.save(loaded.record)
  }

  /** Decodes and checks a file's bytes. */
  private async check (name: string, bytes: ArrayBuffer): Promise<S> {
    if (bytes.byteLength > this.maxBytes) throw new CartTooLargeError(name, bytes.byteLength, this.maxBytes)
    let sound: S
    try {
      sound = await this.audio.decode(bytes)
    } catch (err) {
      throw new CartNotAudioError(name, { cause: err })
    }
    if (sound.length === 0 || !(sound.duration > 0)) throw new CartNotAudioError(name)
    if (sound.duration > this.maxSeconds) throw new CartTooLongError(name, sound.duration, this.maxSeconds)
    return sound
  }

  /** Stops `slot` if it plays; `announce` sends `cart:change` too (callers that change the slot send their own). */
  private halt (slot: number, announce: boolean): void {
    const loaded = this.slots[slot]
    const playing = loaded?.playing
    if (loaded === undefined || playing === undefined) return
    loaded.playing = undefined
    playing.voice.stop()
    this.stopped(slot, false, announce)
  }

  private stopped (slot: number, ended: boolean, announce = true): void {
    this.reduck()
    this.emit('cart:stop', { slot, ended })
    if (announce) this.changed(slot)
  }

  /** The voices are down exactly while a cart that ducks them plays. */
  private reduck (): void {
    if (this.disposed) return
    const want = this.slots.some((s) => s?.playing !== undefined && s.record.mode === 'duck-voices')
    if (want === this.ducking) return
    this.ducking = want
    this.audio.duckVoices(want ? this.duckVoicesDb : 0, want ? this.duckDownSeconds : this.duckUpSeconds)
  }

  private changed (slot: number): void {
    this.emit('cart:change', { slot, cart: this.cart(slot) })
  }

  /** Events go out after the state changed (an EventTarget reports a listener's throw, never to the dispatcher). */
  private emit<K extends keyof CartDeckEvents> (type: K, detail: CartDeckEvents[K]['detail']): void {
    this.safeDispatchEvent(type, { detail })
  }

  private assertSlot (slot: number): void {
    this.assertLive()
    if (!Number.isInteger(slot) || slot < 0 || slot >= CART_SLOTS) throw new CartSlotError(slot, CART_SLOTS)
  }

  private assertLive (): void {
    if (this.disposed) throw new CartDeckStoppedError()
  }

  /** After an await: the deck may have been disposed, or the caller may have given up. */
  private assertStill (signal?: AbortSignal): void {
    this.assertLive()
    signal?.throwIfAborted()
  }
}
