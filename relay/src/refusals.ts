/**
 * What a relay refused, by resource and reason: the one counter an operator
 * watches to see an attack and tune the limits (`openstudio_relay_refused_total`).
 * Services take the small `Refusals` interface; the relay backs it with
 * Prometheus. See docs/relay-limits.md for every resource and reason.
 */
import { Counter, type Registry } from 'prom-client'

/** The resources a relay limits. */
export type RefusedResource =
  | 'connection' | 'reservation' | 'room' | 'turn' | 'http' | 'gossip' | 'announcement' | 'program' | 'bootstrap' | 'stream' | 'directory'

export interface Refusals {
  /** Counts one refusal of `resource` because of `reason` (a short kebab-case word). */
  refuse: (resource: RefusedResource, reason: string) => void
}

/** Refusals that go nowhere, for services built without metrics (unit tests). */
export const NO_REFUSALS: Refusals = { refuse: () => {} }

/** Refusals counted in `registry` as `openstudio_relay_refused_total{resource,reason}`. */
export function refusalCounter (registry: Registry): Refusals & { counts: () => Promise<Record<string, number>> } {
  const counter = new Counter({
    name: 'openstudio_relay_refused_total',
    help: 'Requests and resources the relay refused, by resource and reason',
    labelNames: ['resource', 'reason'] as const,
    registers: [registry]
  })
  return {
    refuse: (resource, reason) => { counter.labels(resource, reason).inc() },
    counts: async () => {
      const out: Record<string, number> = {}
      for (const { labels, value } of (await counter.get()).values) out[`${String(labels.resource)}/${String(labels.reason)}`] = value
      return out
    }
  }
}
