/**
 * The studio for the unlocked station: start it, the callers and their
 * controls, meters, the on-air state and clock, invites, and the room's
 * diagnostics. The studio keeps running while the app moves between pages; it
 * stops on "Close studio" or when the key is locked.
 *
 * What the studio service holds in plain objects (the room state, the invite
 * book, the authority's counters) is copied into refs on the service's events,
 * so that templates never read non-reactive state through `studio.value`.
 */
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import type { InviteEntry, RequestRefusal, RoomRejection } from '@openstudio/network'
import { sanitizeTitle, signNowPlaying, type InviteRole } from '@openstudio/protocol'
import { shallowRef, watch, type ShallowRef } from 'vue'
import { PROCESSING_DEFAULTS, TALKBACK_DUCK_DB, watchRender, type MixerLevels, type ProcessingSettings, type RenderHealth } from '../audio/index.ts'
import { humanCallError } from '../services/call/errors.ts'
import { turnServersFor } from '../services/call/turn.ts'
import { loadSettings, relayPeerIds } from '../services/config.ts'
import type { BroadcastStatus } from '../services/program/broadcast.ts'
import { withLiveStream } from '../services/program/live-stream.ts'
import type { ChatEntry } from '../services/chat-log.ts'
import { browserJoinNotifier } from '../services/studio/join-notifier.ts'
import { StudioService, type StudioCaller } from '../services/studio/studio.ts'
import { meterFrames } from './meter-frames.ts'
import { useStationHost } from './my-station.ts'
import { useNetworkLoader } from './network.ts'

const log = logger('openstudio:app:studio:render')

/** An invite to make; see StudioService.createInvite. */
export interface StudioInviteInit {
  role: InviteRole
  /** How long it lasts: at most a week. */
  validForMs: number
  label?: string
  /** Lets in one caller only. @default false */
  singleUse?: boolean
}

/** What the room turned away, by reason, since the studio started. */
export interface RoomDiagnostics {
  /** Requests from participants the studio refused (the authority's refusals). */
  refused: Partial<Record<RequestRefusal, number>>
  /** Room messages dropped as forged or garbled. */
  dropped: Record<RoomRejection, number>
}

export interface StudioState {
  studio: ShallowRef<StudioService | undefined>
  callers: ShallowRef<StudioCaller[]>
  /** Whether the producer muted the host's own microphone in the room. */
  hostMuted: ShallowRef<boolean>
  /** The invites this studio issued, newest first. */
  invites: ShallowRef<InviteEntry[]>
  room: ShallowRef<RoomDiagnostics>
  onAir: ShallowRef<{ onAir: boolean, since?: number }>
  levels: ShallowRef<MixerLevels | undefined>
  /** Audio this machine skipped in the last minute (the studio's audio did not get the CPU in time). */
  render: ShallowRef<RenderHealth | undefined>
  /** The program's way to Icecast, while live. */
  broadcast: ShallowRef<BroadcastStatus | undefined>
  /** What the show is on now, as sent to the relay (the MP3 mount's title) and the directory; '' for nothing. */
  nowPlaying: ShallowRef<string>
  /** The program processor: loudness target, true-peak ceiling, on or off. */
  processing: ShallowRef<ProcessingSettings>
  /** Changes the program processor (kept for the next studio too). */
  setProcessing: (change: Partial<ProcessingSettings>) => void
  /** How far (dB) a caller's return takes the show down while the producer talks back to them. */
  talkbackDuckDb: ShallowRef<number>
  /** Sets the talkback duck (kept for the next studio too). */
  setTalkbackDuck: (db: number) => void
  /** The chat with the callers, oldest first. */
  chat: ShallowRef<ChatEntry[]>
  /** Browser notifications of callers arriving (and writing) while the studio's tab is in the background: 'default' until asked. */
  notifications: ShallowRef<NotificationPermission | 'unsupported'>
  /** Asks the browser to allow notifications. */
  enableNotifications: () => Promise<void>
  busy: ShallowRef<boolean>
  error: ShallowRef<string | undefined>
  start: (init: { voiceProcessing: boolean }) => Promise<void>
  stop: () => Promise<void>
  /**
   * Issues an invite.
   * @returns the call link that carries it
   * @throws {MalformedError} when it would last longer than a week, or the label is too long
   */
  invite: (init: StudioInviteInit) => string
  /** Revokes an invite (and the co-host grant given through it). */
  revokeInvite: (nonce: string) => Promise<void>
  /** Puts the room on air, streams the program to the station's relay, and publishes the station as live. */
  goLive: (init: { bitrate: number, channels: 1 | 2 }) => Promise<void>
  /** Ends the stream and the show, and publishes the station as off air. */
  endShow: () => Promise<void>
  /**
   * Sets what the show is on now: the segment, guest or song. It is made one
   * line of at most 160 characters, signed with the station key, and sent to
   * the relay now and whenever the show goes live.
   * @returns the title as listeners will see it
   */
  setNowPlaying: (title: string) => string
}

const studio = shallowRef<StudioService>()
const callers = shallowRef<StudioCaller[]>([])
const hostMuted = shallowRef(false)
const invites = shallowRef<InviteEntry[]>([])
const room = shallowRef<RoomDiagnostics>({ refused: {}, dropped: {} })
const onAir = shallowRef<{ onAir: boolean, since?: number }>({ onAir: false })
const levels = shallowRef<MixerLevels>()
const render = shallowRef<RenderHealth>()
const broadcast = shallowRef<BroadcastStatus>()
const nowPlaying = shallowRef('')
const processing = shallowRef<ProcessingSettings>({ ...PROCESSING_DEFAULTS })
const talkbackDuckDb = shallowRef(TALKBACK_DUCK_DB)
const chat = shallowRef<ChatEntry[]>([])
const notifications = shallowRef<NotificationPermission | 'unsupported'>(typeof Notification === 'undefined' ? 'unsupported' : Notification.permission)
const notifier = browserJoinNotifier()
const busy = shallowRef(false)
const error = shallowRef<string>()
let stopMeters = (): void => {}
let stopRenderWatch = (): void => {}
/** Aborts a start in progress: closing the studio while it starts leaves nothing running. */
let starting: AbortController | undefined

function roomDiagnostics (service: StudioService): RoomDiagnostics {
  return { refused: { ...service.authority.refusals }, dropped: { ...service.room.rejections } }
}

function meter (): void {
  stopMeters()
  stopMeters = meterFrames(() => { levels.value = studio.value?.levels() })
}

export function useStudio (): StudioState {
  const host = useStationHost()
  const network = useNetworkLoader()

  const stop = async (): Promise<void> => {
    starting?.abort()
    const running = studio.value
    studio.value = undefined
    stopMeters()
    stopRenderWatch()
    callers.value = []
    chat.value = []
    hostMuted.value = false
    invites.value = []
    room.value = { refused: {}, dropped: {} }
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
    // Signed afresh as the show starts, even when empty: a replayed title from an earlier show loses to it.
    sendNowPlaying()
  }

  /** Signs the current title and hands it to the broadcast, when there is one. */
  const sendNowPlaying = (): void => {
    const station = host.value
    const live = studio.value?.broadcast
    if (station === undefined || live === undefined) return
    live.nowPlaying(signNowPlaying({ station: station.key.id, title: nowPlaying.value, at: Date.now() }, station.key))
  }

  const setProcessing = (change: Partial<ProcessingSettings>): void => {
    processing.value = { ...processing.value, ...change }
    studio.value?.setProcessing(change)
  }

  const setTalkbackDuck = (db: number): void => {
    talkbackDuckDb.value = db
    studio.value?.setTalkbackDuck(db)
  }

  const enableNotifications = async (): Promise<void> => {
    if (typeof Notification === 'undefined') return
    notifications.value = await Notification.requestPermission()
  }

  const setNowPlaying = (title: string): string => {
    nowPlaying.value = sanitizeTitle(title)
    sendNowPlaying()
    return nowPlaying.value
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
    const abort = new AbortController()
    starting = abort
    try {
      const forceTurn = loadSettings().forceTurn
      const policy: RTCIceTransportPolicy = forceTurn ? 'relay' : 'all'
      const relays = (await network.get({ signal: abort.signal })).config?.relays ?? []
      const service = await StudioService.start({
        key: station.key,
        node: station.node,
        access: () => station.published?.access ?? 'open',
        voiceProcessing: init.voiceProcessing,
        iceTransportPolicy: policy,
        // The studio's own node (the station key) gets TURN credentials from the relays that serve the station.
        iceServers: async ({ signal }) => turnServersFor(station.node, relays, station.key.id, policy, { signal })
      }, { signal: abort.signal })
      const current = (): boolean => studio.value === service
      service.addEventListener('callers:change', (e) => {
        callers.value = e.detail
        notifier.handleCallers(e.detail)
        if (current()) hostMuted.value = service.host?.producerMuted === true
      })
      service.addEventListener('on-air:change', (e) => { onAir.value = e.detail })
      service.addEventListener('chat:message', (e) => {
        if (!current()) return
        chat.value = service.chat.entries
        const from = e.detail.from
        if (from !== service.stationId) notifier.handleChat(from, callers.value.find((c) => c.id === from)?.name ?? 'A caller', e.detail.text)
      })
      // A caller who came in with an invite is in the room once its presence is: its use shows then.
      service.room.addEventListener('state:change', () => { if (current()) invites.value = service.invites.list() })
      service.authority.addEventListener('request:refuse', () => { if (current()) room.value = roomDiagnostics(service) })
      service.room.addEventListener('message:reject', () => { if (current()) room.value = roomDiagnostics(service) })
      studio.value = service
      // The producer's processing choices carry over from the last studio of this page.
      service.setProcessing(processing.value)
      service.setTalkbackDuck(talkbackDuckDb.value)
      callers.value = service.callers
      hostMuted.value = service.host?.producerMuted === true
      invites.value = service.invites.list()
      room.value = roomDiagnostics(service)
      stopRenderWatch = watchRender(service.context, (health) => { render.value = health }, { onError: (err) => { log.error('no render health: %s', err.message) } })
      if (__OPENSTUDIO_DIAGNOSTICS__) {
        const monitorAnalyser = service.context.createAnalyser()
        monitorAnalyser.fftSize = 8192
        service.mixer.busOutput(service.stationId).connect(monitorAnalyser)
        window.openstudioDiagnostics = { ...window.openstudioDiagnostics, studio: service, programAnalyser: service.programAnalyser, monitorAnalyser }
      }
      meter()
    } catch (err) {
      // Closed while it started: nothing runs, and nothing went wrong.
      if (abort.signal.aborted) return
      error.value = (err as Error).name === 'NotAllowedError'
        ? 'Microphone access was denied. Allow it for this site in the browser, then start the studio again.'
        : humanCallError(err as Error)
    } finally {
      if (starting === abort) starting = undefined
      busy.value = false
    }
  }

  const invite = (init: StudioInviteInit): string => {
    const running = studio.value
    if (running === undefined) throw new Error('start the studio first')
    const token = running.createInvite(init)
    invites.value = running.invites.list()
    return `${location.origin}/s/${running.stationId}/call?invite=${token}`
  }

  const revokeInvite = async (nonce: string): Promise<void> => {
    const running = studio.value
    if (running === undefined) return
    // The book holds the revocation before the end of a grant goes out: list it even when sending that fails.
    try {
      await running.revokeInvite(nonce)
    } finally {
      if (studio.value === running) invites.value = running.invites.list()
    }
  }

  return {
    studio, callers, hostMuted, invites, room, onAir, levels, render, broadcast, busy, error, start, stop, invite, revokeInvite, goLive, endShow,
    nowPlaying, setNowPlaying, processing, setProcessing, talkbackDuckDb, setTalkbackDuck, chat, notifications, enableNotifications
  }
}
