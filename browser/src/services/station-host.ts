/**
 * A station's own node in the browser, for the holder of the station key: its
 * PeerId is the station id, it keeps relay reservations so callers can dial it
 * by key, answers pings, and publishes (and republishes) the manifest, with
 * the studio's on-air state when there is a studio. A key without a stamp
 * has one minted by its first publish (seconds of proof of work, told as
 * `stamp:progress`); the host keeps it for every publish after, and tells it
 * (`stamp:minted`) for the page to store with the key.
 *
 * The node, the ping handler, the relays, each publish and the republish
 * schedule's pause are components (StationHostComponents);
 * `StationHost.start(init)` wires the browser's
 * (station-host-browser-components.ts), unit tests in-memory ones.
 *
 * @example
 * ```ts
 * // The app:
 * const host = await StationHost.start({ key, config }, { signal })
 * // A test (or another platform):
 * const host = new StationHost({ createNode, handlePing, connectToRelays, publish, pause }, { key, relays })
 * await host.start({ signal })
 * host.addEventListener('publish:done', (e) => { show(e.detail.seq) })
 * host.addEventListener('stamp:progress', (e) => { bar.value = e.detail.tried / e.detail.expected })
 * host.addEventListener('stamp:minted', (e) => { void keyStore.saveStamp(e.detail.id, e.detail.stamp) })
 * await host.publish(draft)
 * await host.publishStudio({ peer: key.id, onAir: true })
 * await host.stop()
 * ```
 */
import { logger } from '@libp2p/logger'
import { REPUBLISH_DEFAULTS, type OpenStudioNode, type PublishResult, type PublishStep } from '@openstudio/network'
import { LIVE_CLAIM_REFRESH_MS, LIVE_CLAIM_TTL_MS, type ManifestDraftInput, type StationKey, type Studio } from '@openstudio/protocol'
import { TypedEventEmitter } from 'main-event'
import { abandonable, eitherSignal } from './abort.ts'
import { Backoff, pause } from './backoff.ts'
import { browserStationHostComponents, type BrowserStationHostInit } from './station-host-browser-components.ts'
import type { AbortOptions, StationHostComponents, StationNode } from './station-host-components.ts'
import { NotPublishedError, StationHostNotRunningError, StationHostStoppedError } from './station-host-errors.ts'

export type { StationHostComponents, StationNode, StationPublishInit } from './station-host-components.ts'
export type { BrowserStationHostInit } from './station-host-browser-components.ts'
export { NotPublishedError, StationHostNotRunningError, StationHostStoppedError } from './station-host-errors.ts'

const log = logger('openstudio:app:station')

export const STATION_HOST_DEFAULTS = {
  /** The manifest lists this many of the configured relays when the node holds no reservation yet. */
  listedRelays: 4,
  /** Republishes never come closer together than this, whatever the manifest's lifetime. */
  minRepublishMs: 1_000
} as const

/** How far the search for a stamp got: hashes tried, and the number expected on average (it may take more). */
export interface StampProgress {
  tried: number
  expected: number
}

/** A stamp the host minted for its key. */
export interface StampMinted {
  /** The station id. */
  id: string
  stamp: number
}

export interface StationHostEvents {
  /** A publish (asked for, or on the schedule) stored the manifest. */
  'publish:done': CustomEvent<PublishResult>
  /** A publish failed; the next is tried with a doubling backoff. */
  'publish:error': CustomEvent<Error>
  /** A publish began a step: 'stamp' only when the key has no stamp that verifies (once per key), then 'lookup', 'put', 'provide', 'announce'. */
  'publish:step': CustomEvent<PublishStep>
  /** While a stamp is minted, every few dozen milliseconds. */
  'stamp:progress': CustomEvent<StampProgress>
  /** A publish minted the key's stamp: keep it with the key (KeyStore.saveStamp). Told as soon as it is found, before that publish is done or failed. */
  'stamp:minted': CustomEvent<StampMinted>
}

export interface StationHostInit {
  /** The station key, with its stamp once paid for (else the first publish mints one). */
  key: StationKey
  /** The relays (multiaddrs) the node joins through; the manifest lists those it holds a reservation on. */
  relays: readonly string[]
}

interface PublishRequest {
  resolve: (result: PublishResult) => void
  reject: (err: Error) => void
  promise: Promise<PublishResult>
}

export class StationHost<Node extends StationNode = OpenStudioNode> extends TypedEventEmitter<StationHostEvents> {
  /** Aborted by `stop` (or a failed start): cancels the start, the publish in flight and the republish schedule. */
  private readonly shutdown = new AbortController()
  private readonly pause: NonNullable<StationHostComponents<Node>['pause']>
  private readonly now: () => number
  /** The node from the moment it exists, so that a stop releases one that came up late. */
  private running?: Node
  private online = false
  private unhandlePing?: () => Promise<void>
  private draft?: ManifestDraftInput
  private studio?: Studio
  private last?: PublishResult
  /** The station key, with the stamp the last publish carried. */
  private current: StationKey
  /** Publishes asked for and not yet begun: the next publish settles them all. */
  private requests: PublishRequest[] = []
  /** The publish in flight's requests. */
  private inFlight: PublishRequest[] = []
  /** Ends the wait for the next scheduled publish (a request came). */
  private wake?: AbortController
  private republishing?: Promise<void>
  private starting?: Promise<void>
  private stopping?: Promise<void>

  constructor (private readonly components: StationHostComponents<Node>, private readonly init: StationHostInit) {
    super()
    this.pause = components.pause ?? pause
    this.now = components.now ?? Date.now
    this.current = init.key
  }

  /**
   * The app's station host: starts the station's node in this page, reachable through the relays.
   * @throws the signal's reason when `signal` aborted the start (nothing runs then), or why the start failed (rolled back)
   */
  static async start (init: BrowserStationHostInit, options: AbortOptions = {}): Promise<StationHost> {
    const host = new StationHost(browserStationHostComponents(init), { key: init.key, relays: init.config.relays })
    await host.start(options)
    return host
  }

  /** The station key, with its stamp once one was given or minted. */
  get key (): StationKey {
    return this.current
  }

  /** The station's node. @throws {StationHostNotRunningError} before start and after stop */
  get node (): Node {
    if (!this.online || this.running === undefined || this.shutdown.signal.aborted) throw new StationHostNotRunningError()
    return this.running
  }

  /** Whether the node is up: started, and not stopped. */
  get isRunning (): boolean {
    return this.online && !this.shutdown.signal.aborted
  }

  /** The manifest fields last published from this page. */
  get published (): ManifestDraftInput | undefined {
    return this.draft
  }

  /** The last record this page published: what the relay checks before it takes the program. */
  get lastPublished (): PublishResult | undefined {
    return this.last
  }

  /** The relays listed in the manifest: those this node holds reservations on, else the first configured ones. */
  get relays (): string[] {
    const reserved = new Set(this.running?.getMultiaddrs().map((ma) => ma.toString().split('/p2p-circuit')[0]))
    const listed = this.init.relays.filter((r) => reserved.has(r))
    return listed.length > 0 ? listed : this.init.relays.slice(0, STATION_HOST_DEFAULTS.listedRelays)
  }

  /**
   * Starts the node, answers pings and joins through the relays. Idempotent.
   * A host runs once: a `stop`, or `signal`, during it leaves nothing
   * running (a node that comes up late is stopped); so does a failure.
   * @throws {StationHostStoppedError} when stopped before or during it
   * @throws the signal's reason when `signal` aborted it, or a component's error (the start is rolled back)
   */
  async start (options: AbortOptions = {}): Promise<void> {
    if (this.shutdown.signal.aborted) throw new StationHostStoppedError()
    this.starting ??= this.begin(options.signal)
    await this.starting
    if (this.shutdown.signal.aborted) throw new StationHostStoppedError()
  }

  /**
   * Stops republishing, removes the ping handler and stops the node. Publishes
   * still waiting reject with StationHostStoppedError. Idempotent; resolves
   * once nothing runs.
   */
  async stop (): Promise<void> {
    this.stopping ??= this.halt()
    await this.stopping
  }

  /**
   * Publishes the manifest now and keeps it published (republished before it
   * expires, retried with backoff) until `stop`. `signal` abandons the wait:
   * the new fields are kept and published all the same.
   * @returns the result of the first publish that begins after this call
   * @throws {StationHostNotRunningError} before start and after stop
   * @throws {StationHostStoppedError} when stopped before it was done
   * @throws {NotStoredError} and other publish errors (the republisher tries again)
   */
  async publish (draft: ManifestDraftInput, options: AbortOptions = {}): Promise<PublishResult> {
    if (!this.isRunning) throw new StationHostNotRunningError()
    this.draft = draft
    return this.request(options)
  }

  /**
   * Publishes the studio's state (`studio.onAir`) with the fields given, or
   * the current ones, as `publish` does; every republish carries it from then.
   * @throws {NotPublishedError} when no fields were ever published
   * @throws as `publish`
   */
  async publishStudio (studio: Studio, draft: ManifestDraftInput | undefined = this.draft, options: AbortOptions = {}): Promise<PublishResult> {
    if (!this.isRunning) throw new StationHostNotRunningError()
    if (draft === undefined) throw new NotPublishedError()
    this.studio = studio
    this.draft = draft
    return this.request(options)
  }

  private async request (options: AbortOptions): Promise<PublishResult> {
    options.signal?.throwIfAborted()
    const request = publishRequest()
    this.requests.push(request)
    this.wake?.abort()
    this.republishing ??= this.republish(this.node, this.shutdown.signal)
    return await abandonable(request.promise, options.signal)
  }

  private async begin (signal?: AbortSignal): Promise<void> {
    const aborted = eitherSignal(this.shutdown.signal, signal)
    try {
      aborted.throwIfAborted()
      const node = await this.components.createNode({ signal: aborted })
      // From here the teardown owns the node, also one that came up after a stop.
      this.running = node
      aborted.throwIfAborted()
      this.unhandlePing = await this.components.handlePing(node, { signal: aborted })
      aborted.throwIfAborted()
      await this.components.connectToRelays(node, this.init.relays, { signal: aborted })
      aborted.throwIfAborted()
      this.online = true
      log('station %s online', this.key.id)
    } catch (err) {
      // Stopped or aborted: say so (a component may have failed its own way on the abort).
      const reason: unknown = aborted.aborted ? aborted.reason : err
      // A host runs once: a failed or abandoned start leaves nothing running.
      if (!this.shutdown.signal.aborted) this.shutdown.abort(new StationHostStoppedError('the station\'s node did not start'))
      await this.teardown()
      throw reason
    }
  }

  private async halt (): Promise<void> {
    if (!this.shutdown.signal.aborted) this.shutdown.abort(new StationHostStoppedError())
    // A start in progress sees the abort and rolls itself back.
    await this.starting?.catch(() => {})
    await this.teardown()
  }

  /** Releases everything the start took, in reverse. Idempotent. */
  private async teardown (): Promise<void> {
    this.online = false
    // The republish loop ends on the shutdown signal; whoever still waits for a publish is told.
    for (const request of [...this.requests.splice(0), ...this.inFlight.splice(0)]) request.reject(new StationHostStoppedError())
    const unhandle = this.unhandlePing
    this.unhandlePing = undefined
    await unhandle?.().catch((err: Error) => { log('ping handler not removed: %s', err.message) })
    const node = this.running
    this.running = undefined
    await node?.stop()
  }

  /** Keeps the stamp a publish carried for every publish after; a new one is told, to be stored with the key. */
  private keepStamp (stamp: number): void {
    if (stamp === this.current.stamp) return
    this.current = { ...this.current, stamp }
    log('station %s has its stamp', this.current.id)
    this.safeDispatchEvent('stamp:minted', { detail: { id: this.current.id, stamp } })
  }

  /** The studio state to publish now. */
  private claim (): Studio | undefined {
    return claimOf(this.studio, this.now())
  }

  /**
   * Publishes whenever asked, and on the schedule: at REPUBLISH_DEFAULTS.fraction
   * of the manifest's lifetime after a success (on air: every
   * LIVE_CLAIM_REFRESH_MS, renewing the claim), with a doubling backoff after
   * a failure. One publish at a time; requests that come during one are
   * served by the next, with the newest fields. Ends on `signal`; never rejects.
   */
  private async republish (node: Node, signal: AbortSignal): Promise<void> {
    const retry = new Backoff({ initialMs: REPUBLISH_DEFAULTS.retryMs, maxMs: REPUBLISH_DEFAULTS.maxRetryMs })
    let waitMs = 0
    while (!signal.aborted) {
      if (this.requests.length === 0) {
        const wake = new AbortController()
        this.wake = wake
        try {
          await this.pause(waitMs, { signal: AbortSignal.any([signal, wake.signal]) })
        } catch (err) {
          if (signal.aborted) return
          // Woken by a request: it is served now.
          if (!wake.signal.aborted) log.error('republish pause failed: %s', (err as Error).message)
        } finally {
          this.wake = undefined
        }
      }
      const batch = this.requests.splice(0)
      this.inFlight = batch
      try {
        const result = await this.components.publish(node, {
          key: this.key,
          draft: this.draft ?? notPublished(),
          relays: this.relays,
          studio: this.claim(),
          lastSeq: this.last?.seq,
          onProgress: (step) => { this.safeDispatchEvent('publish:step', { detail: step }) },
          onStampProgress: (tried, expected) => { this.safeDispatchEvent('stamp:progress', { detail: { tried, expected } }) },
          // Kept at once: a publish that then fails must not cost the work again.
          onStamp: (stamp) => { this.keepStamp(stamp) }
        }, { signal })
        if (signal.aborted) return
        this.last = result
        this.keepStamp(result.stamp)
        retry.reset()
        waitMs = Math.max(STATION_HOST_DEFAULTS.minRepublishMs, (result.manifest.expiresAt - result.manifest.issuedAt) * REPUBLISH_DEFAULTS.fraction)
        // On air, the claim is renewed well before it runs out (LIVE_CLAIM_TTL_MS).
        if (this.studio?.onAir === true) waitMs = Math.min(waitMs, LIVE_CLAIM_REFRESH_MS)
        for (const request of batch) request.resolve(result)
        this.safeDispatchEvent('publish:done', { detail: result })
      } catch (err) {
        if (signal.aborted) return
        waitMs = retry.next()
        log.error('publish failed, retrying in %d ms: %s', waitMs, (err as Error).message)
        for (const request of batch) request.reject(err as Error)
        this.safeDispatchEvent('publish:error', { detail: err as Error })
      } finally {
        this.inFlight = []
      }
    }
  }
}

/** The studio state a publish carries: an on-air claim holds for LIVE_CLAIM_TTL_MS from now (docs/protocols.md). */
function claimOf (studio: Studio | undefined, now: number): Studio | undefined {
  if (studio === undefined) return undefined
  const { liveUntil: _old, ...rest } = studio
  return studio.onAir ? { ...rest, liveUntil: now + LIVE_CLAIM_TTL_MS } : rest
}

function publishRequest (): PublishRequest {
  let resolve!: (result: PublishResult) => void
  let reject!: (err: Error) => void
  const promise = new Promise<PublishResult>((res, rej) => { resolve = res; reject = rej })
  return { resolve, reject, promise }
}

function notPublished (): never {
  throw new NotPublishedError()
}
