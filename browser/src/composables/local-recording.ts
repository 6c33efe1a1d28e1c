/**
 * The call page's double-ender: while the studio records and the caller
 * agreed, the caller's own microphone is recorded in this browser and sent
 * to the studio (services/call/double-ender.ts). Consent is asked on the
 * page, kept for this tab's call, and can be taken back at any time. Takes
 * an earlier page recorded and did not finish sending (it reloaded) are
 * sent first, one after another, before this page's own.
 */
import { logger } from '@libp2p/logger'
import { shallowRef, type ShallowRef } from 'vue'
import { createProgramTap } from '../audio/program-tap.ts'
import { WorkletRenderClock } from '../audio/render-clock.ts'
import type { CallerSession } from '../services/call/caller.ts'
import { DoubleEnder, earlierTakes, type DoubleEnderComponents, type LocalRecordingStatus } from '../services/call/double-ender.ts'
import { opfsRecordingStorage, type RecordingStorage } from '../services/recording/storage.ts'

const log = logger('openstudio:app:caller:local-recording')
const CONSENT_KEY = 'openstudio:record-locally'

export interface LocalRecordingState {
  /** The studio is recording the show now. */
  studioRecording: ShallowRef<boolean>
  /** The caller agreed to record here and send it. */
  consent: ShallowRef<boolean>
  /** This browser's recording of the caller, while there is one. */
  status: ShallowRef<LocalRecordingStatus | undefined>
  /** A take an earlier page recorded, while it is sent. */
  earlier: ShallowRef<LocalRecordingStatus | undefined>
  setConsent: (on: boolean) => void
  /** Follows `session`'s studio: its recording starts and stops this one. */
  attach: (session: CallerSession, context: AudioContext, microphone: MediaStream) => void
  dispose: () => void
}

let storage: RecordingStorage | undefined

export function useLocalRecording (): LocalRecordingState {
  const studioRecording = shallowRef(false)
  const consent = shallowRef(sessionStorage.getItem(CONSENT_KEY) === 'yes')
  const status = shallowRef<LocalRecordingStatus>()
  const earlier = shallowRef<LocalRecordingStatus>()
  let current: DoubleEnder | undefined
  let follow: (() => void) | undefined
  let source: { session: CallerSession, context: AudioContext, microphone: MediaStream } | undefined
  /** Settles once every earlier take was sent (or given up): this page's takes wait for it. */
  let earlierSent: Promise<void> | undefined
  let resumed: DoubleEnder | undefined
  /** Stops sending earlier takes through a call that ended. */
  let earlierRun = new AbortController()
  /** This page's own takes, which are never earlier ones. */
  const own = new Set<string>()

  /** What an upload needs from the call, for `session`. */
  const uploads = (session: CallerSession): Pick<DoubleEnderComponents, 'openUpload' | 'showRunning'> => ({
    openUpload: async (options) => session.openUpload(options),
    showRunning: () => session.studioRecording !== undefined
  })

  /** Sends the takes earlier pages left unsent, oldest first; once per call, after consent. */
  const sendEarlier = (session: CallerSession): Promise<void> => {
    const { signal } = earlierRun
    earlierSent ??= (async () => {
      storage ??= opfsRecordingStorage()
      const store = storage
      for (const take of (await earlierTakes(store, session.stationId)).filter((t) => !own.has(t.take))) {
        if (signal.aborted) break
        const ender = DoubleEnder.resume({ storage: store, ...uploads(session) }, take, { station: session.stationId })
        resumed = ender
        ender.addEventListener('status:change', (e) => { earlier.value = e.detail })
        log('sending an earlier take (%s, %d bytes) of %s', take.take, take.bytes, take.recording)
        await ender.start()
        await ender.ended
      }
      resumed = undefined
    })().catch((err: Error) => { log('earlier takes: %s', err.message) })
    return earlierSent
  }

  const begin = async (recording: string): Promise<void> => {
    const attached = source
    if (attached === undefined || current !== undefined) return
    const { session, context, microphone } = attached
    storage ??= opfsRecordingStorage()
    const clockOffsetMs = await session.measureClockOffset()
    const node = context.createMediaStreamSource(microphone)
    // The render thread's own stamps tie the context's clock to this computer's: never the context's
    // getOutputTimestamp(), which can hang Firefox's main thread for good (audio/render-clock.ts).
    // A stamp every 20 ms: the first is there before the tap's first block (100 ms), when it is asked for.
    const clock = await WorkletRenderClock.start(context, 20)
    const take = String(Date.now())
    own.add(take)
    const ender = new DoubleEnder({
      storage,
      sampleRate: context.sampleRate,
      tap: async (init, onBlock) => createProgramTap(node, init, onBlock),
      // This computer's clock at a frame of the call's context; asked once, for the first block.
      wallMsOfFrame: (frame) => {
        const { contextTime = context.currentTime, performanceTime = performance.now() } = clock.getOutputTimestamp()
        clock.stop()
        return performance.timeOrigin + performanceTime + (frame / context.sampleRate - contextTime) * 1000
      },
      ...uploads(session)
    }, { recording, station: session.stationId, clockOffsetMs, take, after: sendEarlier(session) })
    current = ender
    if (__OPENSTUDIO_DIAGNOSTICS__) window.openstudioDiagnostics = { ...window.openstudioDiagnostics, doubleEnder: ender }
    ender.addEventListener('status:change', (e) => {
      if (e.detail.state !== 'recording') clock.stop()
      if (current === ender) status.value = e.detail
    })
    await ender.start()
    status.value = ender.status
    log('recording the microphone here for %s', recording)
  }

  const end = (): void => { current?.stopRecording() }

  const update = (): void => {
    const recording = source?.session.studioRecording
    studioRecording.value = recording !== undefined
    if (source !== undefined && consent.value) void sendEarlier(source.session)
    if (recording !== undefined && consent.value) void begin(recording).catch((err: Error) => { status.value = { state: 'stopped', seconds: 0, sent: 0, recorded: 0, error: `Recording here could not start: ${err.message}` } })
    else end()
  }

  return {
    studioRecording,
    consent,
    status,
    earlier,
    setConsent: (on) => {
      consent.value = on
      sessionStorage.setItem(CONSENT_KEY, on ? 'yes' : 'no')
      update()
    },
    attach: (session, context, microphone) => {
      follow?.()
      if (source?.session !== session) {
        // A new call: earlier takes go through it from the start.
        earlierRun.abort()
        earlierRun = new AbortController()
        resumed?.dispose()
        earlierSent = undefined
      }
      source = { session, context, microphone }
      const onChange = (): void => {
        // A new recording in the studio: a new one here.
        if (current !== undefined && session.studioRecording !== undefined) {
          current.stopRecording()
          current = undefined
        }
        update()
      }
      session.addEventListener('recording:change', onChange)
      follow = () => { session.removeEventListener('recording:change', onChange) }
      update()
    },
    dispose: () => {
      follow?.()
      current?.dispose()
      resumed?.dispose()
    }
  }
}
