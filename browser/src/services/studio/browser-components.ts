/**
 * The studio's components in the browser: the host microphone through Web
 * Audio into the StudioMixer, a CallerLink (an RTCPeerConnection) per call,
 * and the station's libp2p node for signalling, the room topic and the
 * broadcast.
 */
import { handleSignal, handleUpload, type InviteStore, type OpenStudioNode } from '@openstudio/network'
import { createStudioMixer, type StudioMixer } from '../../audio/index.ts'
import { CALL_DEFAULTS } from '../call/errors.ts'
import { createCallAudioContext, microphoneConstraints } from '../call/peer.ts'
import { createProgramTap } from '../../audio/program-tap.ts'
import { Broadcast } from '../program/broadcast.ts'
import { StudioRecorder } from '../recording/recorder.ts'
import { decodeOggOpus, opusInStorage } from '../recording/opus-file.ts'
import { opfsRecordingStorage } from '../recording/storage.ts'
import { CallerLink } from './caller-link.ts'
import { localStorageInviteStore } from './invite-store.ts'
import type { StudioAudio, StudioComponents } from './components.ts'
import type { StudioInit } from './studio.ts'

interface AbortOptions { signal?: AbortSignal }

export interface BrowserStudioInit extends StudioInit {
  node: OpenStudioNode
  /** Echo cancellation, noise suppression and AGC on the host microphone. @default false (studio microphone on headphones) */
  voiceProcessing?: boolean
  /** TURN servers, asked for once the studio is in its room. @default none */
  iceServers?: (options: AbortOptions) => Promise<RTCIceServer[]>
  /** 'relay' sends every call through TURN. @default 'all' */
  iceTransportPolicy?: RTCIceTransportPolicy
  /** Where the invites this studio issues are kept. @default this browser's localStorage */
  invites?: InviteStore
}

/** The browser's studio components for the station's node. */
export function browserStudioComponents (init: BrowserStudioInit): StudioComponents {
  const node = init.node
  return {
    audio: async (options) => openStudioAudio({ voiceProcessing: init.voiceProcessing }, options),
    signal: async (onChannel) => handleSignal(node, (channel) => { onChannel(channel) }),
    uploads: async (onChannel) => handleUpload(node, (channel) => { onChannel(channel) }),
    calls: (channel, call) => {
      // The return feed is a node of the studio's context: the call's audio lives there too.
      const link = new CallerLink(channel, { ...call, context: call.returnFeed.context as AudioContext, iceTransportPolicy: init.iceTransportPolicy })
      link.watchStats(CALL_DEFAULTS.statsIntervalMs)
      return link
    },
    pubsub: node.services.pubsub,
    invites: init.invites ?? localStorageInviteStore(init.key.id),
    iceServers: init.iceServers,
    broadcast: async (settings, options) => Broadcast.start({ ...settings, node }, options)
  }
}

/**
 * Opens the host microphone into a new StudioMixer in a 48 kHz AudioContext,
 * with the program tapped for meters.
 * @throws {NotAllowedError} when the microphone is refused
 * @throws the signal's reason when it aborts; nothing stays open then
 */
export async function openStudioAudio (init: { voiceProcessing?: boolean }, options: AbortOptions = {}): Promise<StudioAudio> {
  const { signal } = options
  signal?.throwIfAborted()
  const stream = await navigator.mediaDevices.getUserMedia({ audio: microphoneConstraints(init.voiceProcessing ?? false) })
  let context: AudioContext | undefined
  let mixer: StudioMixer | undefined
  let closed = false
  const close = async (): Promise<void> => {
    if (closed) return
    closed = true
    for (const track of stream.getTracks()) track.stop()
    mixer?.dispose()
    await context?.close()
  }
  try {
    signal?.throwIfAborted()
    context = createCallAudioContext()
    await context.resume()
    mixer = await createStudioMixer(context)
    signal?.throwIfAborted()
    const programTap = context.createAnalyser()
    programTap.fftSize = 8192
    mixer.programOutput.connect(programTap)
    const running = context
    const storage = opfsRecordingStorage()
    const recorder = new StudioRecorder({
      storage,
      tap: createProgramTap,
      frameNow: () => Math.round(running.currentTime * running.sampleRate),
      sampleRate: running.sampleRate,
      // Opus in Ogg where this browser's WebCodecs encodes it (every browser the studio runs in here).
      toOpus: typeof AudioEncoder === 'undefined' ? undefined : opusInStorage(storage, running.sampleRate),
      decodeOpus: typeof AudioDecoder === 'undefined' ? undefined : decodeOggOpus
    })
    return { mixer, microphone: context.createMediaStreamSource(stream), monitor: context.destination, context, programTap, carts: new GainNode(context), recorder, close }
  } catch (err) {
    await close()
    throw err
  }
}
