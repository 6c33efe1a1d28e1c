/**
 * Plays a station's stream in an <audio> element and meters it with a Web
 * Audio analyser (Icecast must send a CORS header for the meter to see it).
 */
import { onScopeDispose, shallowRef, type ShallowRef } from 'vue'
import { readPeak } from '../audio/index.ts'
import { meterFrames } from './meter-frames.ts'

export type PlayerState = 'stopped' | 'loading' | 'playing' | 'error'

export interface AudioPlayer {
  state: ShallowRef<PlayerState>
  error: ShallowRef<string | undefined>
  /** Peak level of the last frame, 0…1. */
  level: ShallowRef<number>
  play: (url: string) => Promise<void>
  stop: () => void
}

export function useAudioPlayer (): AudioPlayer {
  const state = shallowRef<PlayerState>('stopped')
  const error = shallowRef<string>()
  const level = shallowRef(0)
  let audio: HTMLAudioElement | undefined
  let context: AudioContext | undefined
  let stopMeter = (): void => {}

  const meter = (analyser: AnalyserNode): void => {
    const samples = new Float32Array(analyser.fftSize)
    stopMeter()
    stopMeter = meterFrames(() => { level.value = readPeak(analyser, samples) })
  }

  const stop = (): void => {
    stopMeter()
    audio?.pause()
    audio?.removeAttribute('src')
    audio?.load()
    audio = undefined
    void context?.close()
    context = undefined
    level.value = 0
    state.value = 'stopped'
  }

  const play = async (url: string): Promise<void> => {
    stop()
    state.value = 'loading'
    error.value = undefined
    const element = new Audio()
    element.crossOrigin = 'anonymous'
    element.preload = 'none'
    element.src = url
    audio = element
    element.addEventListener('error', () => {
      if (audio !== element) return
      state.value = 'error'
      error.value = `The stream could not be played (${url}). The station may be off air.`
    })
    element.addEventListener('playing', () => { if (audio === element) state.value = 'playing' })
    context = new AudioContext({ sampleRate: 48000 })
    const analyser = context.createAnalyser()
    analyser.fftSize = 2048
    context.createMediaElementSource(element).connect(analyser).connect(context.destination)
    // Read-only diagnostics for tests and support: what the listener actually hears.
    if (__OPENSTUDIO_DIAGNOSTICS__) window.openstudioDiagnostics = { ...window.openstudioDiagnostics, playerAnalyser: analyser }
    meter(analyser)
    try {
      await context.resume()
      await element.play()
    } catch (err) {
      if (audio !== element) return
      state.value = 'error'
      error.value = `The stream could not be played: ${(err as Error).message}`
    }
  }

  onScopeDispose(stop)
  return { state, error, level, play, stop }
}
