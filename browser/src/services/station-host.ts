/**
 * A station's own node in the browser, for the holder of the station key: its
 * PeerId is the station id, it keeps relay reservations so callers can dial it
 * by key, answers pings, and publishes (and republishes) the manifest.
 */
import { logger } from '@libp2p/logger'
import {
  connectToRelays, handlePing, libp2pKeyOf, publishStation, Republisher,
  type OpenStudioNode, type PublishResult
} from '@openstudio/network'
import type { ManifestDraftInput, StationKey, Studio } from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import type { NetworkConfig } from './config.ts'
import { createBrowserNode } from './node.ts'

const log = logger('openstudio:app:station')

export interface StationHostEvents {
  'publish:done': CustomEvent<PublishResult>
  'publish:error': CustomEvent<Error>
}

export class StationHost extends TypedEventEmitter<StationHostEvents> {
  private republisher?: Republisher
  private draft?: ManifestDraftInput
  private studio?: Studio
  /** The last record this page published: what the relay checks before it takes the program. */
  lastPublished?: PublishResult

  private constructor (readonly key: StationKey, readonly node: OpenStudioNode, private readonly config: NetworkConfig) {
    super()
  }

  /** Starts the station's node, reachable through the relays. */
  static async start (key: StationKey, config: NetworkConfig): Promise<StationHost> {
    const node = await createBrowserNode({ config, privateKey: libp2pKeyOf(key), reachable: true })
    try {
      await handlePing(node)
      await connectToRelays(node, config.relays, { reachable: true })
    } catch (err) {
      await node.stop()
      throw err
    }
    log('station %s online', key.id)
    return new StationHost(key, node, config)
  }

  /** The manifest fields last published from this page. */
  get published (): ManifestDraftInput | undefined {
    return this.draft
  }

  /** The relays listed in the manifest: the WebSocket relays this node holds reservations on. */
  get relays (): string[] {
    const reserved = new Set(this.node.getMultiaddrs().map((ma) => ma.toString().split('/p2p-circuit')[0]))
    const listed = this.config.relays.filter((r) => reserved.has(r))
    return listed.length > 0 ? listed : this.config.relays.slice(0, 4)
  }

  /**
   * Publishes the manifest now and keeps it published while the page is open.
   * Resolves (or rejects) with this publish.
   */
  async publish (draft: ManifestDraftInput): Promise<PublishResult> {
    this.draft = draft
    return this.publishNow()
  }

  /** Publishes the studio's state (`studio.onAir`) with the current fields, and the fields given. */
  async publishStudio (studio: Studio, draft: ManifestDraftInput | undefined = this.draft): Promise<PublishResult> {
    if (draft === undefined) throw new Error('publish the station before going on air')
    this.studio = studio
    this.draft = draft
    return this.publishNow()
  }

  private async publishNow (): Promise<PublishResult> {
    const outcome = new Promise<PublishResult>((resolve, reject) => {
      const done = (e: CustomEvent<PublishResult>): void => { cleanup(); resolve(e.detail) }
      const failed = (e: CustomEvent<Error>): void => { cleanup(); reject(e.detail) }
      const cleanup = (): void => {
        this.removeEventListener('publish:done', done)
        this.removeEventListener('publish:error', failed)
      }
      this.addEventListener('publish:done', done)
      this.addEventListener('publish:error', failed)
    })
    if (this.republisher === undefined) this.startRepublisher()
    else this.republisher.publishNow()
    return outcome
  }

  async stop (): Promise<void> {
    this.republisher?.stop()
    await this.node.stop()
  }

  private startRepublisher (): void {
    this.republisher = new Republisher({
      publish: async (lastSeq, signal) => publishStation({ ...this.node.services, peerId: this.node.peerId }, {
        key: this.key, draft: this.draft as ManifestDraftInput, relays: this.relays, studio: this.studio, lastSeq, signal
      })
    })
    this.republisher.addEventListener('publish:done', (e) => {
      this.lastPublished = e.detail
      this.safeDispatchEvent('publish:done', { detail: e.detail })
    })
    this.republisher.addEventListener('publish:error', (e) => { this.safeDispatchEvent('publish:error', { detail: e.detail }) })
    this.republisher.start()
  }
}
