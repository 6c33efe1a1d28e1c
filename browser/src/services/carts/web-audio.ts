/**
 * The cart deck's audio in Web Audio, on the studio's cart input:
 *
 *     cart (AudioBufferSourceNode) → its gain ─┬──────────────────────────→ cart input (program, returns, monitor)
 *                                              └→ beds → ducker ───────────↗
 *                                      voice key ↗ (input 1)
 *
 * A cart "over" or "ducking the voices" goes straight to the input; a cart
 * "under the voices" goes through the one ducker every bed shares, keyed
 * by the voices in the program.
 */
import { dbToGain, DuckerNode, loadDucker, type DuckerSettings } from '../../audio/index.ts'
import { CART_FADE_S } from './constants.ts'
import type { CartAudio, CartVoice, CartVoiceSettings } from './deck.ts'

/** Where the wall plays in the studio (StudioService.cartOutput). */
export interface CartOutputPart {
  context: BaseAudioContext
  /** Heard in the program, every caller's return and the host's monitor. */
  input: AudioNode
  /** The voices in the program: the ducker's key. */
  voiceKey: AudioNode
  duckVoices: (db: number, seconds?: number) => void
}

export interface WebAudioCartsInit {
  /** The beds' ducker. @default DUCKER (-12 dB above -45 dBFS; 10 ms attack, 400 ms release, 200 ms hold) */
  ducker?: Partial<DuckerSettings>
  /** How long a stopped cart fades out, seconds. @default CART_FADE_S (0.01) */
  fadeSeconds?: number
}

/**
 * The deck's audio on `output`, once the ducker's worklet is loaded in its
 * context.
 */
export async function webAudioCarts (output: CartOutputPart, init: WebAudioCartsInit = {}): Promise<CartAudio<AudioBuffer>> {
  const { context } = output
  await loadDucker(context)
  const fade = init.fadeSeconds ?? CART_FADE_S
  const beds = new GainNode(context)
  const ducker = new DuckerNode(context, init.ducker)
  ducker.cart(beds)
  ducker.key(output.voiceKey)
  ducker.node.connect(output.input)
  const live = new Set<() => void>()
  const destination = (settings: CartVoiceSettings): AudioNode => settings.mode === 'under-voices' ? beds : output.input

  const play = (sound: AudioBuffer, settings: CartVoiceSettings, ended: () => void): CartVoice => {
    const source = new AudioBufferSourceNode(context, { buffer: sound, loop: settings.loop })
    const gain = new GainNode(context, { gain: dbToGain('cart', settings.gainDb) })
    let to = destination(settings)
    source.connect(gain).connect(to)
    let stopped = false
    const release = (): void => {
      live.delete(cut)
      source.onended = null
      source.disconnect()
      gain.disconnect()
    }
    // At once, on dispose: the graph goes away.
    const cut = (): void => {
      stopped = true
      source.stop()
      release()
    }
    source.onended = () => {
      release()
      if (!stopped) ended()
    }
    const startedAt = context.currentTime
    source.start(startedAt)
    live.add(cut)
    return {
      startedAt,
      set: (next) => {
        source.loop = next.loop
        gain.gain.setTargetAtTime(dbToGain('cart', next.gainDb), context.currentTime, fade / 3)
        const nextTo = destination(next)
        if (nextTo === to) return
        gain.disconnect(to)
        gain.connect(nextTo)
        to = nextTo
      },
      stop: () => {
        if (stopped) return
        stopped = true
        const now = context.currentTime
        gain.gain.cancelScheduledValues(now)
        gain.gain.setValueAtTime(gain.gain.value, now)
        gain.gain.linearRampToValueAtTime(0, now + fade)
        source.stop(now + fade)
      }
    }
  }

  return {
    now: () => context.currentTime,
    decode: async (bytes) => context.decodeAudioData(bytes),
    play,
    duckVoices: (db, seconds) => { output.duckVoices(db, seconds) },
    dispose: () => {
      for (const cut of [...live]) cut()
      ducker.dispose()
      beds.disconnect()
    }
  }
}
