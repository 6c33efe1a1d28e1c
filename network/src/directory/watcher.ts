/**
 * Listens to the directory topic and keeps the verified stations heard there,
 * and the listener counts relays report for them. Station announcements are
 * verified exactly like DHT records, listener reports by their relay's
 * signature; anything else is dropped and counted.
 */
import { logger } from '@libp2p/logger'
import { TOPIC, verifyAnnouncement, type ListenerReport } from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import { keep } from './list.ts'
import type { ResolvedStation } from '../station/resolve.ts'
import type { GossipSub, Message } from '@libp2p/gossipsub'

const log = logger('openstudio:directory:watch')

/** Listener reports kept at once (oldest updated dropped first). */
const MAX_LISTENER_REPORTS = 4096

export interface DirectoryWatcherEvents {
  /** A verified announcement brought a new station or a newer manifest. */
  'station:announce': CustomEvent<ResolvedStation>
  /** A relay reported a station's listeners (signed by the relay, not by the station). */
  'listeners:report': CustomEvent<ListenerReport>
  /** An announcement failed verification and was dropped. */
  'announcement:reject': CustomEvent<{ from: string, reason: string }>
}

export interface DirectoryWatcherComponents {
  pubsub: Pick<GossipSub, 'subscribe' | 'unsubscribe' | 'addEventListener' | 'removeEventListener'>
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
  readonly stations = new Map<string, ResolvedStation>()
  /** The newest listener report per station and relay, keyed `station/relay`; at most MAX_LISTENER_REPORTS. */
  readonly listeners = new Map<string, ListenerReport>()
  rejected = 0
  private running = false

  constructor (private readonly components: DirectoryWatcherComponents) {
    super()
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
    const station = { manifest: announcement.manifest, record: announcement.record }
    if (keep(this.stations, station)) this.safeDispatchEvent('station:announce', { detail: station })
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

  private readonly onMessage = (event: CustomEvent<Message>): void => {
    this.handleMessage(event.detail)
  }
}
