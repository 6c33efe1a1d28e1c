/**
 * Listens to the directory topic and keeps the verified stations heard there.
 * Announcements are verified exactly like DHT records; anything else is
 * dropped and counted.
 */
import { logger } from '@libp2p/logger'
import { TOPIC, verifyAnnouncement } from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import { keep } from './list.ts'
import type { ResolvedStation } from '../station/resolve.ts'
import type { GossipSub, Message } from '@libp2p/gossipsub'

const log = logger('openstudio:directory:watch')

export interface DirectoryWatcherEvents {
  /** A verified announcement brought a new station or a newer manifest. */
  'station:announce': CustomEvent<ResolvedStation>
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
    if (keep(this.stations, result.value)) this.safeDispatchEvent('station:announce', { detail: result.value })
  }

  private readonly onMessage = (event: CustomEvent<Message>): void => {
    this.handleMessage(event.detail)
  }
}
