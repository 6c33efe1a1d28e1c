/**
 * The studio for the unlocked station: start it, the callers and their
 * controls, meters, the on-air state and clock, and invite links. The studio
 * keeps running while the app moves between pages; it stops on "Close studio"
 * or when the key is locked.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import type { InviteRole } from '@openstudio/protocol'
import { shallowRef, watch, type ShallowRef } from 'vue'
import { watchRender, type MixerLevels, type RenderHealth } from '../audio/index.ts'
import { humanCallError } from '../services/call/errors.ts'
import { turnServersFor } from '../services/call/turn.ts'
import { loadSettings, relayPeerIds } from '../services/config.ts'
import type { BroadcastStatus } from '../services/program/broadcast.ts'
import { withLiveStream } from '../services/program/live-stream.ts'
import { StudioService, type StudioCaller } from '../services/studio/studio.ts'
import { meterFrames } from './meter-frames.ts'
import { useStationHost } from './my-station.ts'
import { useNetworkService } from './network.ts'

export interface StudioState {
  studio: ShallowRef<StudioService | undefined>
  callers: ShallowRef<StudioCaller[]>
  onAir: ShallowRef<{ onAir: boolean, since?: number }>
  levels: ShallowRef<MixerLevels | undefined>
  /** Audio this machine skipped in the last minute (the studio's audio did not get the CPU in time). */
  render: ShallowRef<RenderHealth | undefined>
  /** The program's way to Icecast, while live. */
  broadcast: ShallowRef<BroadcastStatus | undefined>
  busy: ShallowRef<boolean>
  error: ShallowRef<string | undefined>
  start: (init: { voiceProcessing: boolean }) => Promise<void>
  stop: () => Promise<void>
  invite: (init: { role: InviteRole, validForMs: number, label?: string }) => string
  /** Puts the room on air, streams the program to the station's relay, and publishes the station as live. */
  goLive: (init: { bitrate: number, channels: 1 | 2 }) => Promise<void>
  /** Ends the stream and the show, and publishes the station as off air. */
  endShow: () => Promise<void>
}

const studio = shallowRef<StudioService>()
const callers = shallowRef<StudioCaller[]>([])
const onAir = shallowRef<{ onAir: boolean, since?: number }>({ onAir: false })
const levels = shallowRef<MixerLevels>()
const render = shallowRef<RenderHealth>()
const broadcast = shallowRef<BroadcastStatus>()
const busy = shallowRef(false)
const error = shallowRef<string>()
let stopMeters = (): void => {}
let stopRenderWatch = (): void => {}

function meter (): void {
  stopMeters()
  stopMeters = meterFrames(() => { levels.value = studio.value?.levels() })
}

export function useStudio (): StudioState {
  const host = useStationHost()
  const network = useNetworkService()

  const stop = async (): Promise<void> => {
    const running = studio.value
    studio.value = undefined
    stopMeters()
    stopRenderWatch()
    callers.value = []
    onAir.value = { onAir: false }
    render.value = undefined
    const wasLive = running?.broadcast !== undefined
    broadcast.value = undefined
    await running?.stop()
    if (wasLive) await publishOnAir(false)
  }

  /** Republishes the manifest with the studio's on-air state; a failure shows, and the republisher tries again. */
  const publishOnAir = async (live: boolean, listen?: { listenUrl: string, mount: string, bitrate: number }): Promise<void> => {
    const station = host.value
    const draft = station?.published
    if (station === undefined || draft === undefined) return
    try {
      await station.publishStudio({ peer: station.key.id, onAir: live }, listen === undefined ? draft : withLiveStream(draft, listen))
    } catch (err) {
      error.value = `The station could not be published as ${live ? 'live' : 'off air'}: ${(err as Error).message}`
    }
  }

  const goLive = async (init: { bitrate: number, channels: 1 | 2 }): Promise<void> => {
    const running = studio.value
    const station = host.value
    if (running === undefined || station === undefined) return
    error.value = undefined
    await running.goOnAir()
    const live = await running.startBroadcast({
      ...init,
      relays: () => relayPeerIds(station.relays).map((id) => peerIdFromString(id)),
      record: () => {
        const record = station.lastPublished?.record
        if (record === undefined) throw new Error('Publish the station from My station before going live: the relay checks its signed manifest.')
        return record
      }
    })
    broadcast.value = live.current
    live.addEventListener('status:change', (e) => { if (running.broadcast === live) broadcast.value = e.detail })
    live.addEventListener('broadcast:accepted', (e) => { void publishOnAir(true, { ...e.detail, bitrate: init.bitrate }) })
  }

  const endShow = async (): Promise<void> => {
    const running = studio.value
    if (running === undefined) return
    const wasLive = running.broadcast !== undefined
    await running.endBroadcast()
    broadcast.value = undefined
    await running.goOffAir()
    if (wasLive) await publishOnAir(false)
  }
  // Locking the key closes the studio.
  watch(host, (value) => { if (value === undefined) void stop() })

  const start = async (init: { voiceProcessing: boolean }): Promise<void> => {
    const station = host.value
    if (station === undefined || studio.value !== undefined || busy.value) return
    busy.value = true
    error.value = undefined
    try {
      const forceTurn = loadSettings().forceTurn
      const policy: RTCIceTransportPolicy = forceTurn ? 'relay' : 'all'
      const relays = network.config?.relays ?? []
      const service = await StudioService.start({
        key: station.key,
        node: station.node,
        access: () => station.published?.access ?? 'open',
        voiceProcessing: init.voiceProcessing,
        iceTransportPolicy: policy,
        // The studio's own node (the station key) gets TURN credentials from the relays that serve the station.
        iceServers: async () => turnServersFor(station.node, relays, station.key.id, policy)
      })
      service.addEventListener('callers:change', (e) => { callers.value = e.detail })
      service.addEventListener('on-air:change', (e) => { onAir.value = e.detail })
      studio.value = service
      callers.value = service.callers
      stopRenderWatch = watchRender(service.context, (health) => { render.value = health })
      window.openstudioDiagnostics = { ...window.openstudioDiagnostics, studio: service, programAnalyser: service.programAnalyser }
      meter()
    } catch (err) {
      error.value = (err as Error).name === 'NotAllowedError'
        ? 'Microphone access was denied. Allow it for this site in the browser, then start the studio again.'
        : humanCallError(err as Error)
    } finally {
      busy.value = false
    }
  }

  const invite = (init: { role: InviteRole, validForMs: number, label?: string }): string => {
    const running = studio.value
    if (running === undefined) throw new Error('start the studio first')
    const token = running.createInvite({ role: init.role, expiresAt: Date.now() + init.validForMs, label: init.label })
    return `${location.origin}/s/${running.stationId}/call?invite=${token}`
  }

  return { studio, callers, onAir, levels, render, broadcast, busy, error, start, stop, invite, goLive, endShow }
}
