/**
 * Listens to the directory topic and keeps the verified stations heard there,
 * the listener counts relays report for them, and their now-playing titles. Station announcements are
 * verified exactly like DHT records, listener reports by their relay's
 * signature; anything else is dropped and counted.
 */
import { logger } from '@libp2p/logger'
import { isNewerManifest, TOPIC, verifyAnnouncement, type ListenerReport, type NowPlaying } from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import { keep } from './list.ts'
import type { ResolvedStation } from '../station/resolve.ts'
import type { GossipSub, Message } from '@libp2p/gossipsub'

const log = logger('openstudio:directory:watch')

/** Listener reports kept at once (oldest updated dropped first); now-playing statements too. */
const MAX_LISTENER_REPORTS = 4096
/**
 * Stations kept at once. Every verified announcement of a new station costs a
 * few KiB, and station keys cost nothing to make: without a cap, anyone could
 * fill a relay's memory with valid stations of their own.
 */
export const DIRECTORY_WATCHER_MAX_STATIONS = 10_000

export interface DirectoryWatcherEvents {
  /** A verified announcement brought a new station or a newer manifest; `from` is the peer that signed the message, when one did. */
  'station:announce': CustomEvent<ResolvedStation & { from?: string }>
  /** A relay reported a station's listeners (signed by the relay, not by the station). */
  'listeners:report': CustomEvent<ListenerReport>
  /** A station signed a newer now-playing title; `statement` is the signed bytes, to pass on. */
  'now-playing:change': CustomEvent<{ nowPlaying: NowPlaying, statement: Uint8Array }>
  /** An announcement failed verification and was dropped. */
  'announcement:reject': CustomEvent<{ from: string, reason: string }>
}

export interface DirectoryWatcherComponents {
  pubsub: Pick<GossipSub, 'subscribe' | 'unsubscribe' | 'addEventListener' | 'removeEventListener'>
}

export interface DirectoryWatcherInit {
  /**
   * Stations kept at once; past it, the least recently announced is
   * forgotten (and counted in `evicted`).
   * @default DIRECTORY_WATCHER_MAX_STATIONS
   */
  maxStations?: number
}

/**
 * @example
 * ```ts
 * const watcher = new DirectoryWatcher(node.services)
 * watcher.addEventListener('station:announce', (e) => console.log(e.detail.name))
 * watcher.start()
 * ```
 */
export class DirectoryWatcher extends TypedEventEmitter<DirectoryWatcherEvents> {
  /** The newest verified manifest per station, least recently announced first; at most `maxStations`. */
  readonly stations = new Map<string, ResolvedStation>()
  /** The newest listener report per station and relay, keyed `station/relay`; at most MAX_LISTENER_REPORTS. */
  readonly listeners = new Map<string, ListenerReport>()
  /** The newest now-playing statement per station; at most MAX_LISTENER_REPORTS. */
  readonly nowPlaying = new Map<string, { nowPlaying: NowPlaying, statement: Uint8Array }>()
  /** Announcements that failed verification, since construction. */
  rejected = 0
  /** Stations forgotten to stay within `maxStations`, since construction. */
  evicted = 0
  private readonly maxStations: number
  private running = false

  constructor (private readonly components: DirectoryWatcherComponents, init: DirectoryWatcherInit = {}) {
    super()
    this.maxStations = init.maxStations ?? DIRECTORY_WATCHER_MAX_STATIONS
  }

  start (): void {
    if (this.running) return
    this.running = true
    this.components.pubsub.subscribe(TOPIC.directory)
    this.components.pubsub.addEventListener('message', this.onMessage)
  }

  stop (): void {
    if (!this.running) return
    this.running = false
    this.components.pubsub.removeEventListener('message', this.onMessage)
    this.components.pubsub.unsubscribe(TOPIC.directory)
  }

  /** Handles one message from the topic. Public for tests without a network. */
  handleMessage (message: Message): void {
    if (message.topic !== TOPIC.directory) return
    const from = message.type === 'signed' ? message.from.toString() : 'unsigned'
    const result = verifyAnnouncement(message.data, Date.now())
    if (!result.ok) {
      this.rejected++
      log('dropped announcement from %s: %s', from, result.error.message)
      this.safeDispatchEvent('announcement:reject', { detail: { from, reason: `${result.error.name}: ${result.error.message}` } })
      return
    }
    const announcement = result.value
    if (announcement.type === 'listeners') {
      this.keepReport(announcement.report)
      return
    }
    if (announcement.type === 'now-playing') {
      this.keepNowPlaying(announcement)
      return
    }
    this.keepStation({ manifest: announcement.manifest, record: announcement.record }, message.type === 'signed' ? from : undefined)
  }

  /** Keeps the newest manifest of a station, as the most recently announced; forgets the least recently announced past the cap. */
  private keepStation (station: ResolvedStation, from?: string): void {
    const id = station.manifest.id
    const known = this.stations.get(id)
    const newer = keep(this.stations, station)
    // A replay of an older manifest says nothing about the station being alive now.
    if (!newer && known !== undefined && isNewerManifest(known.manifest, station.manifest)) return
    const kept = this.stations.get(id) as ResolvedStation
    this.stations.delete(id)
    this.stations.set(id, kept)
    while (this.stations.size > this.maxStations) {
      this.stations.delete(this.stations.keys().next().value as string)
      this.evicted++
    }
    if (newer) this.safeDispatchEvent('station:announce', { detail: from === undefined ? station : { ...station, from } })
  }

  private keepReport (report: ListenerReport): void {
    const key = `${report.station}/${report.relay}`
    const known = this.listeners.get(key)
    if (known !== undefined && known.at >= report.at) return
    this.listeners.delete(key)
    this.listeners.set(key, report)
    if (this.listeners.size > MAX_LISTENER_REPORTS) this.listeners.delete(this.listeners.keys().next().value as string)
    this.safeDispatchEvent('listeners:report', { detail: report })
  }

  /** Keeps a station's newest title: a replayed older one changes nothing. */
  private keepNowPlaying (heard: { nowPlaying: NowPlaying, statement: Uint8Array }): void {
    const station = heard.nowPlaying.station
    const known = this.nowPlaying.get(station)
    if (known !== undefined && known.nowPlaying.at >= heard.nowPlaying.at) return
    this.nowPlaying.delete(station)
    this.nowPlaying.set(station, { nowPlaying: heard.nowPlaying, statement: heard.statement })
    if (this.nowPlaying.size > MAX_LISTENER_REPORTS) this.nowPlaying.delete(this.nowPlaying.keys().next().value as string)
    this.safeDispatchEvent('now-playing:change', { detail: { nowPlaying: heard.nowPlaying, statement: heard.statement } })
  }

  private readonly onMessage = (event: CustomEvent<Message>): void => {
    this.handleMessage(event.detail)
  }
}
