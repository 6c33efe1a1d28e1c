/**
 * Inbound connections counted by host, before libp2p's own limits see them.
 *
 * libp2p counts pending inbound connections (accepted sockets that have not
 * finished encryption and muxer selection) against one total, checked before
 * any per-host limit: a dozen silent sockets from one host filled it and kept
 * 29 of 30 new peers out. A peer id is free and an address is not, so each
 * host (see `hostOf`) may hold only a few connections that are still
 * upgrading, and a bounded number in all. A refused connection is closed at
 * once, before it costs a handshake.
 *
 * Platform transports are wrapped (as `wholeFrames` wraps them) so that every
 * listener's inbound upgrade passes through `admit` first. See
 * docs/relay-limits.md.
 */
import { hostOf } from './host.ts'
import type { CreateListenerOptions, Listener, MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'

/** Why an inbound connection was refused, or (`pending-evicted`) dropped to make room. */
export type HostRefusal = 'pending-per-host' | 'connections-per-host' | 'pending-evicted'

export interface HostLimitsInit {
  /** Connections from one host that may be upgrading at once. */
  maxPendingPerHost: number
  /** Connections from one host, upgrading or open, at once. */
  maxPerHost: number
  /**
   * Connections upgrading at once, from every host. Past it, the one that has
   * been upgrading longest is dropped to make room: an honest handshake takes
   * milliseconds, so the oldest is almost always a socket that never speaks.
   * @default no total (libp2p's own applies)
   */
  maxPending?: number
  /** Hosts (as `hostOf` names them, e.g. `ip4:127.0.0.1`) that no per-host limit applies to. @default none */
  exempt?: readonly string[]
  /** Told of every refusal. */
  onRefuse?: (reason: HostRefusal, host: string) => void
}

/** An inbound connection refused because its host is over a limit. */
export class HostLimitError extends Error {
  override readonly name = 'HostLimitError'
  constructor (readonly reason: HostRefusal, readonly host: string) {
    super(`inbound connection from ${host} refused: ${reason}`)
  }
}

/**
 * @example
 * ```ts
 * const limits = new HostLimits({ maxPendingPerHost: 16, maxPerHost: 64 })
 * createLibp2p({ transports: [limits.wrap(tcp()), limits.wrap(webSockets())], … })
 * ```
 */
export class HostLimits {
  private readonly pending = new Map<string, number>()
  /** Connections upgrading now, oldest first, with a way to drop each. */
  private readonly upgrading = new Set<{ host: string, drop: () => void }>()
  private readonly open = new Map<string, number>()
  private readonly exempt: ReadonlySet<string>

  constructor (private readonly init: HostLimitsInit) {
    this.exempt = new Set(init.exempt ?? [])
  }

  /** Connections from `host` still upgrading, and in all. */
  countsOf (host: string): { pending: number, open: number } {
    return { pending: this.pending.get(host) ?? 0, open: this.open.get(host) ?? 0 }
  }

  /** Hosts holding at least one inbound connection. */
  get hosts (): number {
    return this.open.size
  }

  /**
   * Counts an inbound connection from `host` in, or refuses it. Past
   * `maxPending`, the connection upgrading longest is dropped (`drop`) first.
   * @returns a function that says the upgrade is over (`upgraded`), and one that says the connection closed
   * @throws {HostLimitError}
   */
  admit (host: string, drop: () => void = () => {}): { upgraded: () => void, closed: () => void } {
    if (!this.exempt.has(host)) {
      const { pending, open } = this.countsOf(host)
      const reason: HostRefusal | undefined = pending >= this.init.maxPendingPerHost
        ? 'pending-per-host'
        : open >= this.init.maxPerHost ? 'connections-per-host' : undefined
      if (reason !== undefined) {
        this.init.onRefuse?.(reason, host)
        throw new HostLimitError(reason, host)
      }
    }
    if (this.init.maxPending !== undefined && this.upgrading.size >= this.init.maxPending) this.evictOldest()
    bump(this.pending, host, 1)
    bump(this.open, host, 1)
    let upgrading = true
    let alive = true
    const self = { host, drop: () => { upgraded(); drop() } }
    const upgraded = (): void => {
      if (!upgrading) return
      upgrading = false
      this.upgrading.delete(self)
      bump(this.pending, host, -1)
    }
    this.upgrading.add(self)
    return {
      upgraded,
      closed: () => {
        if (!alive) return
        alive = false
        bump(this.open, host, -1)
      }
    }
  }

  private evictOldest (): void {
    const oldest = this.upgrading.values().next()
    if (oldest.done === true) return
    this.init.onRefuse?.('pending-evicted', oldest.value.host)
    oldest.value.drop()
  }

  /** Wraps a transport factory so that its listeners admit each inbound connection first. */
  wrap<Components> (factory: (components: Components) => Transport): (components: Components) => Transport {
    return (components) => {
      const transport = factory(components)
      const createListener = transport.createListener.bind(transport)
      transport.createListener = (options: CreateListenerOptions): Listener => createListener({ ...options, upgrader: this.admitting(options.upgrader) })
      return transport
    }
  }

  private admitting (upgrader: Upgrader): Upgrader {
    const admit = async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeInbound']>[1]): Promise<void> => {
      const host = hostOf(maConn.remoteAddr)
      let entry: ReturnType<HostLimits['admit']>
      try {
        entry = this.admit(host, () => { maConn.abort(new HostLimitError('pending-evicted', host)) })
      } catch (err) {
        // The listener aborts the connection on a failed upgrade; close it here too, before any handshake.
        maConn.abort(err as Error)
        throw err
      }
      maConn.addEventListener('close', entry.closed, { once: true })
      if (maConn.status !== 'open') entry.closed()
      try {
        await upgrader.upgradeInbound(maConn, opts)
      } finally {
        entry.upgraded()
      }
    }
    return new Proxy(upgrader, {
      get (target, key) {
        if (key === 'upgradeInbound') return admit
        const value: unknown = Reflect.get(target, key)
        return typeof value === 'function' ? value.bind(target) : value
      }
    })
  }
}

function bump (counts: Map<string, number>, host: string, by: number): void {
  const n = (counts.get(host) ?? 0) + by
  if (n <= 0) counts.delete(host)
  else counts.set(host, n)
}
