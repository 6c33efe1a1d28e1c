/**
 * Calling a station: a microphone check with a meter, then the call and its
 * state. A call survives a page reload: this tab keeps its identity and the
 * call's details in sessionStorage, and dials again on load.
 */
import { logger } from '@libp2p/logger'
import { z } from 'zod'
import { onScopeDispose, shallowRef, type ShallowRef } from 'vue'
import { readPeak, watchRender, type RenderHealth } from '../audio/index.ts'
import { CallerSession, type CallStatus, type CoHostControl } from '../services/call/caller.ts'
import type { ChatEntry } from '../services/chat-log.ts'
import { useLocalRecording, type LocalRecordingState } from './local-recording.ts'
import { humanCallError, MicrophoneError } from '../services/call/errors.ts'
import { createCallAudioContext, microphoneConstraints } from '../services/call/peer.ts'
import { loadSettings } from '../services/config.ts'
import { meterFrames } from './meter-frames.ts'
import { humanError } from '../services/human-error.ts'
import { useNetworkLoader } from './network.ts'

const log = logger('openstudio:app:caller:render')

const CALL_KEY = 'openstudio:call'
const savedCallSchema = z.object({ stationId: z.string().max(64), name: z.string().max(64), invite: z.string().max(512).optional(), topic: z.string().max(800).optional(), voiceProcessing: z.boolean() })
type SavedCall = z.output<typeof savedCallSchema>

export interface CallInit {
  name: string
  invite?: string
  /** What the caller wants to talk about (the producer screens calls with it). */
  topic?: string
  voiceProcessing: boolean
}

export interface CallerState {
  micLevel: ShallowRef<number>
  returnLevel: ShallowRef<number>
  micReady: ShallowRef<boolean>
  status: ShallowRef<CallStatus | undefined>
  /** Audio this computer skipped in the last minute (the page's audio did not get the CPU in time). */
  render: ShallowRef<RenderHealth | undefined>
  error: ShallowRef<string | undefined>
  /** The network (libp2p) is loaded: a call can be made. */
  networkReady: ShallowRef<boolean>
  /** Details of a call this tab was in before a reload, if any. */
  resumable: SavedCall | undefined
  checkMicrophone: (voiceProcessing: boolean) => Promise<void>
  call: (init: CallInit) => Promise<void>
  setSelfMuted: (muted: boolean) => void
  /** A co-host's push-to-talk to the producer. */
  talkBack: (on: boolean) => void
  /** The chat with the producer, oldest first. */
  chat: ShallowRef<ChatEntry[]>
  /** This caller's peer id, once a call started. */
  peerId: ShallowRef<string>
  /** The double-ender: the caller's own recording, with consent, while the studio records. */
  local: LocalRecordingState
  /** Writes to the producer. @throws {MalformedError} for a text that is empty once cleaned */
  sendChat: (text: string) => Promise<void>
  /** A co-host's control over another participant. */
  control: (message: CoHostControl) => Promise<void>
  leave: () => Promise<void>
}

export function useCaller (stationId: string): CallerState {
  const loader = useNetworkLoader()
  // A call needs libp2p: it loads with the page, while the caller checks the microphone.
  const networkReady = shallowRef(loader.current !== undefined)
  const error = shallowRef<string>()
  if (!networkReady.value) {
    loader.get().then(() => { networkReady.value = true }, (err: Error) => { error.value = humanError(err) })
  }
  const micLevel = shallowRef(0)
  const returnLevel = shallowRef(0)
  const micReady = shallowRef(false)
  const status = shallowRef<CallStatus>()
  const render = shallowRef<RenderHealth>()
  const chat = shallowRef<ChatEntry[]>([])
  const peerId = shallowRef('')
  const local = useLocalRecording()
  let context: AudioContext | undefined
  let microphone: MediaStream | undefined
  let session: CallerSession | undefined
  let micAnalyser: AnalyserNode | undefined
  let returnAnalyser: AnalyserNode | undefined
  let stopMeters = (): void => {}
  let stopRenderWatch = (): void => {}

  const saved = ((): SavedCall | undefined => {
    try {
      const parsed = savedCallSchema.safeParse(JSON.parse(sessionStorage.getItem(CALL_KEY) ?? 'null'))
      return parsed.success && parsed.data.stationId === stationId ? parsed.data : undefined
    } catch {
      return undefined
    }
  })()

  const meters = (): void => {
    stopMeters()
    const buffer = new Float32Array(2048)
    stopMeters = meterFrames(() => {
      if (micAnalyser !== undefined) micLevel.value = readPeak(micAnalyser, buffer)
      if (returnAnalyser !== undefined) returnLevel.value = readPeak(returnAnalyser, buffer)
    })
  }

  const checkMicrophone = async (voiceProcessing: boolean): Promise<void> => {
    error.value = undefined
    for (const track of microphone?.getTracks() ?? []) track.stop()
    try {
      microphone = await navigator.mediaDevices.getUserMedia({ audio: microphoneConstraints(voiceProcessing) })
    } catch (err) {
      const denied = (err as Error).name === 'NotAllowedError'
      error.value = humanCallError(new MicrophoneError(denied
        ? 'Microphone access was denied. Allow it for this site in the browser (the icon in the address bar), then check again.'
        : `The microphone could not be opened: ${(err as Error).message}`))
      micReady.value = false
      return
    }
    if (context === undefined) {
      context = createCallAudioContext()
      stopRenderWatch = watchRender(context, (health) => { render.value = health }, { onError: (err) => { log.error('no render health: %s', err.message) } })
    }
    await context.resume()
    micAnalyser = context.createAnalyser()
    context.createMediaStreamSource(microphone).connect(micAnalyser)
    micReady.value = true
    meters()
  }

  const call = async (init: CallInit): Promise<void> => {
    if (session !== undefined && status.value?.phase !== 'ended' && status.value?.phase !== 'failed') return
    if (!micReady.value) await checkMicrophone(init.voiceProcessing)
    const track = microphone?.getAudioTracks()[0]
    if (track === undefined || context === undefined) return
    error.value = undefined
    let network
    try {
      network = await loader.get()
    } catch (err) {
      error.value = humanError(err as Error)
      return
    }
    sessionStorage.setItem(CALL_KEY, JSON.stringify({ stationId, ...init } satisfies SavedCall))
    const current = new CallerSession(network, {
      stationId,
      name: init.name,
      invite: init.invite,
      topic: init.topic,
      microphone: track,
      context,
      iceTransportPolicy: loadSettings().forceTurn ? 'relay' : 'all'
    })
    session = current
    chat.value = []
    peerId.value = current.peerId
    current.addEventListener('status:change', (e) => {
      status.value = e.detail
      if (e.detail.phase === 'ended' || e.detail.phase === 'failed') sessionStorage.removeItem(CALL_KEY)
    })
    const showChat = (): void => { if (session === current) chat.value = current.chat.entries }
    current.addEventListener('chat:message', showChat)
    current.addEventListener('chat:refuse', showChat)
    current.addEventListener('return:start', (e) => {
      if (context === undefined) return
      returnAnalyser = context.createAnalyser()
      returnAnalyser.fftSize = 8192
      e.detail.connect(returnAnalyser)
      e.detail.connect(context.destination)
      if (__OPENSTUDIO_DIAGNOSTICS__) window.openstudioDiagnostics = { ...window.openstudioDiagnostics, returnAnalyser }
    })
    local.attach(current, context, microphone as MediaStream)
    if (__OPENSTUDIO_DIAGNOSTICS__) window.openstudioDiagnostics = { ...window.openstudioDiagnostics, caller: current }
    status.value = current.status
    await current.start().catch(() => { /* reported through status:change */ })
  }

  const leave = async (): Promise<void> => {
    sessionStorage.removeItem(CALL_KEY)
    await session?.leave()
  }

  onScopeDispose(() => {
    local.dispose()
    stopMeters()
    stopRenderWatch()
    void session?.leave()
    for (const track of microphone?.getTracks() ?? []) track.stop()
    void context?.close()
  })

  return {
    micLevel,
    returnLevel,
    micReady,
    status,
    render,
    error,
    networkReady,
    resumable: saved,
    checkMicrophone,
    call,
    setSelfMuted: (muted) => { session?.setSelfMuted(muted) },
    talkBack: (on) => { session?.talkBack(on) },
    chat,
    peerId,
    local,
    sendChat: async (text) => { await session?.sendChat(text) },
    control: async (message) => { await session?.control(message) },
    leave
  }
}
