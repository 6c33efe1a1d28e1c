/**
 * The studio's cart wall: one deck a running studio, built when the studio
 * starts and disposed when it stops. Carts play on while the app moves
 * between pages (the studio does too); the keys work where the wall is shown.
 *
 * Keys, outside form fields: 1–9 and 0 press carts 1–10 (the digit keys'
 * place on the keyboard, whatever its layout), Escape stops every cart.
 */
import { logger } from '@libp2p/logger'
import { effectScope, onScopeDispose, shallowRef, watch, type EffectScope, type Ref, type ShallowRef } from 'vue'
import { CART_SLOTS, studioCartDeck, type CartDeck, type CartMode, type CartView } from '../services/carts/index.ts'
import type { StudioService } from '../services/studio/studio.ts'
import { meterFrames } from './meter-frames.ts'

const log = logger('openstudio:app:carts')

export interface CartWallState {
  /** Every slot's cart, or undefined when it is empty. */
  carts: ShallowRef<Array<CartView | undefined>>
  /** Seconds left of each playing cart, by slot (undefined: not playing); refreshed with the meters. */
  remaining: ShallowRef<Array<number | undefined>>
  /** Slots whose file is being checked and decoded. */
  loading: ShallowRef<ReadonlySet<number>>
  /** Whether the wall can play (the studio runs and its deck is up). */
  ready: ShallowRef<boolean>
  /** The last refusal or failure, in words (the file and the limit it broke). */
  error: ShallowRef<string | undefined>
  /** Checks `file` and keeps it in `slot`; a refusal shows in `error` and changes nothing. */
  load: (slot: number, file: File) => Promise<void>
  /** Plays the cart in `slot`, or stops it when it plays. */
  press: (slot: number) => void
  stopAll: () => void
  clear: (slot: number) => Promise<void>
  setLoop: (slot: number, loop: boolean) => Promise<void>
  setMode: (slot: number, mode: CartMode) => Promise<void>
}

const empty = (): undefined[] => Array.from({ length: CART_SLOTS }, () => undefined)
const carts = shallowRef<Array<CartView | undefined>>(empty())
const remaining = shallowRef<Array<number | undefined>>(empty())
const loading = shallowRef<ReadonlySet<number>>(new Set())
const ready = shallowRef(false)
const error = shallowRef<string>()

/** The deck of the studio it was built for. */
let attached: { service: StudioService, abort: AbortController, deck?: CartDeck<AudioBuffer> } | undefined
/** Follows the studio for the page's lifetime, not a component's: carts outlive the wall being shown. */
let follower: EffectScope | undefined
let stopClock = (): void => {}

function tick (deck: CartDeck<AudioBuffer>): void {
  remaining.value = carts.value.map((_, slot) => deck.remaining(slot))
}

/** Runs the countdown while any cart plays. */
function clock (deck: CartDeck<AudioBuffer>): void {
  const playing = carts.value.some((c) => c?.playing === true)
  stopClock()
  stopClock = () => {}
  if (playing) {
    tick(deck)
    stopClock = meterFrames(() => { tick(deck) })
  } else {
    remaining.value = empty()
  }
}

function detach (): void {
  const current = attached
  attached = undefined
  current?.abort.abort()
  current?.deck?.dispose()
  stopClock()
  stopClock = () => {}
  carts.value = empty()
  remaining.value = empty()
  loading.value = new Set()
  ready.value = false
  error.value = undefined
}

async function attach (service: StudioService | undefined): Promise<void> {
  if (attached?.service === service) return
  detach()
  if (service === undefined) return
  const current: NonNullable<typeof attached> = { service, abort: new AbortController() }
  attached = current
  try {
    const deck = await studioCartDeck(service.cartOutput)
    if (attached !== current) {
      deck.dispose()
      return
    }
    current.deck = deck
    deck.addEventListener('cart:change', (e) => {
      const next = [...carts.value]
      next[e.detail.slot] = e.detail.cart
      carts.value = next
      clock(deck)
    })
    deck.addEventListener('restore:fail', (e) => {
      const { slot, error: err } = e.detail
      log.error('restoring %s: %s', slot === undefined ? 'the carts' : `cart ${slot + 1}`, err.message)
      error.value = slot === undefined ? `Some stored carts could not be restored: ${err.message}` : `Cart ${slot + 1} could not be restored: ${err.message}`
    })
    await deck.start({ signal: current.abort.signal })
    ready.value = true
  } catch (err) {
    if (current.abort.signal.aborted) return
    log.error('the cart wall did not start: %s', (err as Error).message)
    error.value = `The cart wall could not start: ${(err as Error).message}`
  }
}

/** Runs `work` on the deck; what it throws shows in `error`. */
async function withDeck (work: (deck: CartDeck<AudioBuffer>) => unknown): Promise<void> {
  const deck = attached?.deck
  if (deck === undefined) return
  try {
    await work(deck)
  } catch (err) {
    error.value = (err as Error).message
  }
}

const load = async (slot: number, file: File): Promise<void> => {
  error.value = undefined
  loading.value = new Set([...loading.value, slot])
  try {
    await withDeck(async (deck) => deck.load(slot, file))
  } finally {
    const left = new Set(loading.value)
    left.delete(slot)
    loading.value = left
  }
}

const press = (slot: number): void => { void withDeck((deck) => deck.press(slot)) }
const stopAll = (): void => { void withDeck((deck) => { deck.stopAll() }) }
const clear = async (slot: number): Promise<void> => withDeck(async (deck) => deck.clear(slot))
const setLoop = async (slot: number, loop: boolean): Promise<void> => withDeck(async (deck) => deck.setLoop(slot, loop))
const setMode = async (slot: number, mode: CartMode): Promise<void> => withDeck(async (deck) => deck.setMode(slot, mode))

/** The digit a key stands for on a cart wall: its place on the keyboard, or its character. */
function digitOf (e: KeyboardEvent): string | undefined {
  return /^(?:Digit|Numpad)(\d)$/.exec(e.code)?.[1] ?? (/^\d$/.test(e.key) ? e.key : undefined)
}

/**
 * The cart wall of the running studio (`studio`: the studio composable's
 * ref), with its keys while the calling component lives.
 */
export function useCarts (studio: Readonly<Ref<StudioService | undefined>>): CartWallState {
  if (follower === undefined) {
    follower = effectScope(true)
    follower.run(() => { watch(studio, (service) => { void attach(service) }, { immediate: true }) })
  }

  const onKey = (e: KeyboardEvent): void => {
    const target = e.target as HTMLElement | null
    if (!ready.value || e.ctrlKey || e.metaKey || e.altKey || target?.closest('input, select, textarea, [contenteditable]') != null) return
    if (e.key === 'Escape') {
      stopAll()
      e.preventDefault()
      return
    }
    const digit = digitOf(e)
    if (digit === undefined) return
    e.preventDefault()
    // A held key presses once.
    if (e.repeat) return
    press((Number(digit) + 9) % 10)
  }
  window.addEventListener('keydown', onKey)
  onScopeDispose(() => { window.removeEventListener('keydown', onKey) })

  return { carts, remaining, loading, ready, error, load, press, stopAll, clear, setLoop, setMode }
}
