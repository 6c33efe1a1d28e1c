/**
 * Plays a station in an `<audio>` element and meters it with a Web Audio
 * analyser (the stream's server must send a CORS header for the meter to see
 * it). It picks the best of the station's streams this browser can play
 * (services/player/streams.ts) and moves to the next one, without a click,
 * when the one playing fails: an error, an end, no start within
 * `startTimeoutMs`, or no progress for `stallMs`. HLS without native support
 * goes through hls.js, loaded only then.
 */
import type { Stream } from '@openstudio/protocol'
import { onScopeDispose, shallowRef, type ShallowRef } from 'vue'
import { readPeak } from '../audio/index.ts'
import { browserCaps, playOrder, type PlayCandidate, type PlayerCaps } from '../services/player/streams.ts'
import { meterFrames } from './meter-frames.ts'

export type PlayerState = 'stopped' | 'loading' | 'playing' | 'error'

export const PLAYER_DEFAULTS = {
  /** A stream that has not started playing by then is given up for the next. */
  startTimeoutMs: 15_000,
  /** A stream whose position stands still this long while playing is given up for the next. */
  stallMs: 6_000,
  /** After trying every stream once, the player waits this long before the next round. */
  roundPauseMs: 2_000,
  /** Rounds of failures in a row before the player stops and says so. */
  maxRounds: 3
} as const

export interface AudioPlayer {
  state: ShallowRef<PlayerState>
  error: ShallowRef<string | undefined>
  /** The stream playing or being tried. */
  current: ShallowRef<PlayCandidate | undefined>
  /** Why the player moved to another stream, the last time it did. */
  note: ShallowRef<string | undefined>
  /** Peak level of the last frame, 0…1. */
  level: ShallowRef<number>
  /** Plays the best of `streams` this browser can play, and the next ones as they fail. */
  play: (streams: readonly Stream[]) => Promise<void>
  stop: () => void
}

export interface AudioPlayerInit {
  /** @default what this browser's `<audio>` plays */
  caps?: PlayerCaps
  startTimeoutMs?: number
  stallMs?: number
}

interface HlsPlayer { destroy: () => void }

export function useAudioPlayer (init: AudioPlayerInit = {}): AudioPlayer {
  const state = shallowRef<PlayerState>('stopped')
  const error = shallowRef<string>()
  const current = shallowRef<PlayCandidate>()
  const note = shallowRef<string>()
  const level = shallowRef(0)
  const startTimeoutMs = init.startTimeoutMs ?? PLAYER_DEFAULTS.startTimeoutMs
  const stallMs = init.stallMs ?? PLAYER_DEFAULTS.stallMs
  let audio: HTMLAudioElement | undefined
  let source: MediaElementAudioSourceNode | undefined
  let hls: HlsPlayer | undefined
  let context: AudioContext | undefined
  let analyser: AnalyserNode | undefined
  let watchdog: ReturnType<typeof setInterval> | undefined
  let retry: ReturnType<typeof setTimeout> | undefined
  let stopMeter = (): void => {}
  /** Bumped by every attempt and by stop: events of an older attempt are ignored. */
  let attempt = 0

  const detach = (): void => {
    clearInterval(watchdog)
    clearTimeout(retry)
    hls?.destroy()
    hls = undefined
    source?.disconnect()
    source = undefined
    audio?.pause()
    audio?.removeAttribute('src')
    audio?.load()
    audio = undefined
  }

  const stop = (): void => {
    attempt++
    detach()
    stopMeter()
    void context?.close()
    context = undefined
    analyser = undefined
    level.value = 0
    current.value = undefined
    state.value = 'stopped'
  }

  const play = async (streams: readonly Stream[]): Promise<void> => {
    stop()
    error.value = undefined
    note.value = undefined
    const candidates = playOrder(streams, init.caps ?? browserCaps())
    if (candidates.length === 0) {
      state.value = 'error'
      error.value = `This browser plays none of the station's streams (${streams.map((s) => s.codec).join(', ') || 'none listed'}).`
      return
    }
    state.value = 'loading'
    context = new AudioContext({ sampleRate: 48000 })
    analyser = context.createAnalyser()
    analyser.fftSize = 2048
    analyser.connect(context.destination)
    // Read-only diagnostics for tests and support: what the listener actually hears.
    if (__OPENSTUDIO_DIAGNOSTICS__) window.openstudioDiagnostics = { ...window.openstudioDiagnostics, playerAnalyser: analyser }
    const samples = new Float32Array(analyser.fftSize)
    const meter = analyser
    stopMeter = meterFrames(() => { level.value = readPeak(meter, samples) })
    try {
      await context.resume()
    } catch {
      // Autoplay rules: the element's play() below says what is wrong.
    }
    let failures = 0
    const tryAt = async (index: number): Promise<void> => {
      detach()
      const mine = ++attempt
      const candidate = candidates[index % candidates.length] as PlayCandidate
      current.value = candidate
      state.value = 'loading'
      const fail = (why: string): void => {
        if (mine !== attempt) return
        attempt++
        failures++
        const next = candidates[(index + 1) % candidates.length] as PlayCandidate
        if (failures >= candidates.length * PLAYER_DEFAULTS.maxRounds) {
          detach()
          state.value = 'error'
          error.value = `No stream of the station plays (the last: ${why}). The station may be off air.`
          return
        }
        note.value = `${describe(candidate)} ${why}: trying ${describe(next)}.`
        const endOfRound = (index + 1) % candidates.length === 0
        retry = setTimeout(() => { void tryAt(index + 1) }, endOfRound ? PLAYER_DEFAULTS.roundPauseMs : 0)
      }
      const element = new Audio()
      element.crossOrigin = 'anonymous'
      element.preload = 'none'
      audio = element
      element.addEventListener('error', () => { fail('failed') })
      element.addEventListener('ended', () => { fail('ended') })
      element.addEventListener('playing', () => {
        if (mine !== attempt) return
        failures = 0
        state.value = 'playing'
      })
      if (context !== undefined && analyser !== undefined) {
        source = context.createMediaElementSource(element)
        source.connect(analyser)
      }
      const startedAt = Date.now()
      let lastTime = -1
      let lastMove = Date.now()
      watchdog = setInterval(() => {
        const now = Date.now()
        if (element.currentTime !== lastTime) {
          lastTime = element.currentTime
          lastMove = now
        }
        if (state.value === 'loading' && now - startedAt > startTimeoutMs) fail(`did not start within ${startTimeoutMs / 1000} s`)
        else if (state.value === 'playing' && now - lastMove > stallMs) fail(`stalled for ${stallMs / 1000} s`)
      }, 1_000)
      try {
        if (candidate.way === 'hls.js') hls = await attachHlsJs(element, candidate.stream.url, () => { fail('failed (HLS)') })
        else element.src = candidate.stream.url
        if (mine !== attempt) return
        await element.play()
      } catch (err) {
        if (mine !== attempt) return
        if ((err as Error).name === 'NotAllowedError') {
          detach()
          state.value = 'error'
          error.value = `The browser did not let the stream play: ${(err as Error).message}`
          return
        }
        fail(`failed: ${(err as Error).message}`)
      }
    }
    await tryAt(0)
  }

  onScopeDispose(stop)
  return { state, error, current, note, level, play, stop }
}

/** hls.js on `element`, loaded now; `onFatal` hears an error it cannot recover from. */
async function attachHlsJs (element: HTMLAudioElement, url: string, onFatal: () => void): Promise<HlsPlayer> {
  const { default: Hls } = await import('hls.js/light')
  const player = new Hls({ liveSyncDurationCount: 3, manifestLoadingMaxRetry: 2, levelLoadingMaxRetry: 2, fragLoadingMaxRetry: 2 })
  player.on(Hls.Events.ERROR, (_event, data) => { if (data.fatal) onFatal() })
  player.loadSource(url)
  player.attachMedia(element)
  return player
}

function describe (candidate: PlayCandidate): string {
  const label = candidate.kind === 'hls' ? 'HLS' : candidate.kind === 'ogg' ? 'Ogg Opus' : candidate.kind.toUpperCase()
  return `${label} from ${URL.canParse(candidate.stream.url) ? new URL(candidate.stream.url).host : candidate.stream.url}`
}
