/**
 * @packageDocumentation
 *
 * The studio's cart wall: twelve carts, each a local audio file (a jingle, a
 * bed, an effect) played into the program on a key or a click. Carts are
 * heard wherever the program's sources are: the program (so the stream and
 * any recording of it), every caller's return and the host's monitor. A cart
 * can loop, duck the voices while it plays, or go under them (a bed keyed
 * by the voices). Files are checked (at most 25 MiB, decodable audio, at
 * most 10 minutes) and kept in IndexedDB across reloads.
 *
 * @example
 * ```ts
 * const deck = await studioCartDeck(studio.cartOutput)
 * deck.addEventListener('cart:change', (e) => { render(e.detail.slot, e.detail.cart) })
 * await deck.start({ signal })      // restores the stored carts
 * await deck.load(0, file)          // throws CartTooLargeError, CartNotAudioError, CartTooLongError
 * deck.press(0)                     // plays cart 1; pressed again, stops it
 * await deck.setMode(1, 'under-voices')
 * deck.remaining(0)                 // seconds left
 * deck.dispose()
 * ```
 */
import { CartDeck, type CartDeckComponents, type CartDeckInit, type CartSound } from './deck.ts'
import { CartStore } from './store.ts'
import { webAudioCarts, type CartOutputPart, type WebAudioCartsInit } from './web-audio.ts'

export { CART_FADE_S, CART_GAIN_DB, CART_SLOTS, DUCK_VOICES_DB, MAX_CART_BYTES, MAX_CART_NAME, MAX_CART_SECONDS } from './constants.ts'
export { CartDeckStoppedError, CartNotAudioError, CartSlotError, CartStoreError, CartTooLargeError, CartTooLongError } from './errors.ts'
export { CART_MODES, CartStore, cartRecordSchema, indexedDbCartRecords, type CartMode, type CartRecord, type CartRecords, type StoredCarts } from './store.ts'
export {
  CartDeck, cartName,
  type AbortOptions, type CartAudio, type CartDeckComponents, type CartDeckEvents, type CartDeckInit, type CartDeckStore, type CartFile,
  type CartSound, type CartView, type CartVoice, type CartVoiceSettings
} from './deck.ts'
export { webAudioCarts, type CartOutputPart, type WebAudioCartsInit } from './web-audio.ts'

/** A cart deck on the given audio and store: `cartDeck(init)(components)`. */
export function cartDeck (init: CartDeckInit = {}): <S extends CartSound>(components: CartDeckComponents<S>) => CartDeck<S> {
  return (components) => new CartDeck(components, init)
}

export interface StudioCartDeckInit extends CartDeckInit, WebAudioCartsInit {
  /** Where the carts are kept. @default a CartStore on IndexedDB */
  store?: CartStore
}

/**
 * The studio's deck, not started yet: Web Audio on `output` (once the
 * ducker's worklet is loaded), the carts in IndexedDB. Listen to it, then
 * `start()` it to restore the stored carts.
 */
export async function studioCartDeck (output: CartOutputPart, init: StudioCartDeckInit = {}): Promise<CartDeck<AudioBuffer>> {
  const audio = await webAudioCarts(output, init)
  return cartDeck(init)({ audio, store: init.store ?? new CartStore() })
}
