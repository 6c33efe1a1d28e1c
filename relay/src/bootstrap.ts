/**
 * The relay addresses `/api/bootstrap` hands to browsers. A peer's claims
 * about its own addresses are free: before, a stranger that spoke the DHT
 * protocol could have browsers use `/dns4/attacker.example/tcp/443/wss` or a
 * private `10.x` address as a relay. Now an address is listed only once this
 * relay has dialled it itself and reached the peer that claimed it (or it is
 * a configured bootstrap address); private and loopback addresses only with
 * `allowPrivate`. Checks run in the background, a few per round, so a
 * request never waits on one and a flood of claims costs a bounded number of
 * dials. See docs/relay-limits.md.
 */
import { logger } from '@libp2p/logger'
import { multiaddr } from '@multiformats/multiaddr'
import { isPrivate } from '@libp2p/utils'
import { BOOTSTRAP_CHECK_DEFAULTS } from './constants.ts'
import { NO_REFUSALS, type Refusals } from './refusals.ts'

const log = logger('openstudio:relay:bootstrap')

/** A DHT server this relay is connected to, and the WebSocket addresses it claims (with /p2p/). */
export interface BootstrapCandidate {
  peer: string
  addresses: string[]
}

export interface BootstrapCheckComponents {
  /** Connected peers that speak the DHT server protocol. */
  candidates: () => Promise<BootstrapCandidate[]>
  /** Dials `addr` on a new connection, closes it, and resolves with the id of the peer that answered. */
  probe: (addr: string, signal: AbortSignal) => Promise<string>
  refusals?: Refusals
}

export interface BootstrapCheckInit {
  /** Configured bootstrap addresses (with /p2p/): listed without a check. */
  configured?: string[]
  /** List private and loopback addresses (local networks). @default false */
  allowPrivate?: boolean
  /** Addresses listed at most. @default BOOTSTRAP_CHECK_DEFAULTS.maxListed */
  maxListed?: number
  /** Checks started per round. @default BOOTSTRAP_CHECK_DEFAULTS.probesPerRound */
  probesPerRound?: number
  /** A check that has not connected by then fails. @default BOOTSTRAP_CHECK_DEFAULTS.probeTimeoutMs */
  probeTimeoutMs?: number
  /** A passed check is trusted this long, a failed one is not retried for as long. @default BOOTSTRAP_CHECK_DEFAULTS.verdictTtlMs */
  verdictTtlMs?: number
  /** Rounds run this often while started. @default BOOTSTRAP_CHECK_DEFAULTS.intervalMs */
  intervalMs?: number
}

/** A WebSocket multiaddr that is not relayed. */
export function isWebSocketAddr (addr: string): boolean {
  return /\/wss?(\/|$)/.test(addr) && !addr.includes('/p2p-circuit')
}

export class BootstrapChecker {
  /** Address → verdict and when it was reached. */
  private readonly verdicts = new Map<string, { ok: boolean, at: number }>()
  private readonly options: Required<Omit<BootstrapCheckInit, 'configured'>>
  private readonly configured: string[]
  private timer?: ReturnType<typeof setInterval>
  private round?: Promise<void>
  private readonly shutdown = new AbortController()

  constructor (private readonly components: BootstrapCheckComponents, init: BootstrapCheckInit = {}) {
    const D = BOOTSTRAP_CHECK_DEFAULTS
    this.options = {
      allowPrivate: init.allowPrivate ?? false,
      maxListed: init.maxListed ?? D.maxListed,
      probesPerRound: init.probesPerRound ?? D.probesPerRound,
      probeTimeoutMs: init.probeTimeoutMs ?? D.probeTimeoutMs,
      verdictTtlMs: init.verdictTtlMs ?? D.verdictTtlMs,
      intervalMs: init.intervalMs ?? D.intervalMs
    }
    this.configured = (init.configured ?? []).filter((a) => isWebSocketAddr(a) && this.allowed(a))
  }

  /** Runs a round now and then every `intervalMs`. Idempotent. */
  start (): void {
    if (this.timer !== undefined || this.shutdown.signal.aborted) return
    void this.check()
    this.timer = setInterval(() => { void this.check() }, this.options.intervalMs)
  }

  /** Stops the rounds, aborts checks in flight and waits for the round under way. Idempotent. */
  async stop (): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    this.shutdown.abort()
    await this.round
  }

  /** The checked addresses of other relays, configured ones first, at most `maxListed`. */
  listed (now = Date.now()): string[] {
    const checked = [...this.verdicts].filter(([, v]) => v.ok && now - v.at < this.options.verdictTtlMs).map(([addr]) => addr)
    return [...new Set([...this.configured, ...checked])].slice(0, this.options.maxListed)
  }

  /** One round: checks the claimed addresses that have no fresh verdict, a few at a time. Public for tests. */
  async check (now = Date.now()): Promise<void> {
    if (this.shutdown.signal.aborted) return
    this.round ??= this.runRound(now).finally(() => { this.round = undefined })
    return this.round
  }

  private async runRound (now: number): Promise<void> {
    let candidates: BootstrapCandidate[]
    try {
      candidates = await this.components.candidates()
    } catch (err) {
      log.error('could not list candidate relays: %s', (err as Error).message)
      return
    }
    for (const [addr, verdict] of this.verdicts) if (now - verdict.at >= this.options.verdictTtlMs) this.verdicts.delete(addr)
    const due: Array<{ peer: string, addr: string }> = []
    for (const { peer, addresses } of candidates) {
      for (const addr of addresses.slice(0, BOOTSTRAP_CHECK_DEFAULTS.addressesPerPeer)) {
        if (this.verdicts.has(addr) || this.configured.includes(addr)) continue
        if (!isWebSocketAddr(addr) || !addr.endsWith(`/p2p/${peer}`) || !this.allowed(addr)) {
          (this.components.refusals ?? NO_REFUSALS).refuse('bootstrap', 'unlisted-address')
          this.verdicts.set(addr, { ok: false, at: now })
          continue
        }
        due.push({ peer, addr })
      }
    }
    await Promise.all(due.slice(0, this.options.probesPerRound).map(async ({ peer, addr }) => {
      const ok = await this.probe(peer, addr)
      if (!ok) (this.components.refusals ?? NO_REFUSALS).refuse('bootstrap', 'check-failed')
      this.verdicts.set(addr, { ok, at: now })
    }))
  }

  private async probe (peer: string, addr: string): Promise<boolean> {
    try {
      const signal = AbortSignal.any([this.shutdown.signal, AbortSignal.timeout(this.options.probeTimeoutMs)])
      const answered = await this.components.probe(addr, signal)
      if (answered !== peer) log('%s answered as %s, not %s', addr, answered, peer)
      return answered === peer
    } catch (err) {
      log('check of %s failed: %s', addr, (err as Error).message)
      return false
    }
  }

  /** Whether `addr` may be listed at all: not private or loopback, unless `allowPrivate`. */
  allowed (addr: string): boolean {
    try {
      return this.options.allowPrivate || isPrivate(multiaddr(addr)) !== true
    } catch {
      return false
    }
  }
}
