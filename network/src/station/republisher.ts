/**
 * Keeps a station published: republishes at a fraction of the manifest
 * lifetime (before it expires on the DHT servers), retrying failures with
 * backoff, until stopped.
 */
import { logger } from '@libp2p/logger'
import { TypedEventEmitter } from 'main-event'
import type { PublishResult } from './publish.ts'

const log = logger('openstudio:republish')

export const REPUBLISH_DEFAULTS = {
  /** Republish when this fraction of the lifetime has passed. */
  fraction: 0.5,
  /** First retry after a failed publish; doubles up to `maxRetryMs`. */
  retryMs: 5_000,
  maxRetryMs: 5 * 60_000
} as const

export interface RepublisherEvents {
  'publish:done': CustomEvent<PublishResult>
  'publish:error': CustomEvent<Error>
}

export interface RepublisherInit {
  /** Publishes once; gets the seq of the last success so the next one is higher. */
  publish: (lastSeq: number | undefined, signal: AbortSignal) => Promise<PublishResult>
  /** @default 0.5 */
  fraction?: number
  /** @default 5 s */
  retryMs?: number
  /** @default 5 minutes */
  maxRetryMs?: number
}

/**
 * @example
 * ```ts
 * const republisher = new Republisher({ publish: (lastSeq, signal) => publishStation(components, { key, draft, lastSeq, signal }) })
 * republisher.addEventListener('publish:done', (e) => console.log(e.detail.seq))
 * republisher.start()
 * ```
 */
export class Republisher extends TypedEventEmitter<RepublisherEvents> {
  private controller?: AbortController
  private timer?: ReturnType<typeof setTimeout>
  private lastSeq?: number
  private failures = 0

  constructor (private readonly init: RepublisherInit) {
    super()
  }

  /** Publishes now, then keeps republishing. Idempotent. */
  start (): void {
    if (this.controller !== undefined) return
    this.controller = new AbortController()
    this.schedule(0)
  }

  /** Idempotent. An in-flight publish is aborted. */
  stop (): void {
    clearTimeout(this.timer)
    this.controller?.abort()
    this.controller = undefined
  }

  /** Publishes now (for example after the manifest changed) and reschedules. */
  publishNow (): void {
    if (this.controller === undefined) return
    this.schedule(0)
  }

  private schedule (delayMs: number): void {
    clearTimeout(this.timer)
    this.timer = setTimeout(() => { void this.run() }, delayMs)
  }

  private async run (): Promise<void> {
    const controller = this.controller
    if (controller === undefined) return
    try {
      const result = await this.init.publish(this.lastSeq, controller.signal)
      if (controller.signal.aborted) return
      this.lastSeq = result.seq
      this.failures = 0
      const lifetime = result.manifest.expiresAt - result.manifest.issuedAt
      this.schedule(Math.max(1000, lifetime * (this.init.fraction ?? REPUBLISH_DEFAULTS.fraction)))
      this.safeDispatchEvent('publish:done', { detail: result })
    } catch (err) {
      if (controller.signal.aborted) return
      const retry = Math.min((this.init.retryMs ?? REPUBLISH_DEFAULTS.retryMs) * 2 ** this.failures++, this.init.maxRetryMs ?? REPUBLISH_DEFAULTS.maxRetryMs)
      log.error('publish failed, retrying in %d ms: %s', retry, (err as Error).message)
      this.schedule(retry)
      this.safeDispatchEvent('publish:error', { detail: err as Error })
    }
  }
}
