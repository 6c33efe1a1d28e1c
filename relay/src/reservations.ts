/**
 * Who may hold a circuit relay reservation here. libp2p's relay server keys
 * reservations by peer id and keeps them for their whole TTL, so throwaway
 * identities that reserved once and left held every slot, and real studios
 * got RESERVATION_REFUSED. Now:
 * - a reservation ends when its peer disconnects (a relay cannot reach a peer
 *   it has no connection to, so nothing is lost);
 * - one host holds at most `maxPerHost` reservations;
 * - the last `reservedForStations` slots are kept for the studios of the
 *   stations this relay serves, and a served studio that finds even those
 *   full takes the oldest slot of a stranger.
 * The relay server asks `deny` through the connection gater's
 * `denyInboundRelayReservation`. See docs/relay-limits.md.
 */
import { logger } from '@libp2p/logger'
import { hostOf } from '@openstudio/node'
import { NO_REFUSALS, type Refusals } from './refusals.ts'
import type { ServedStations } from './stations.ts'
import type { PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const log = logger('openstudio:relay:reservations')

/** What the relay server keeps per reservation (the parts this policy reads). */
export interface HeldReservation {
  addr: Multiaddr
  expiry: Date
  signal?: { clear?: () => void }
}

export interface ReservationPolicyComponents {
  /** The relay server's reservations, by peer (libp2p's PeerMap). */
  reservations: () => { size: number, has: (peer: PeerId) => boolean, get: (peer: PeerId) => HeldReservation | undefined, delete: (peer: PeerId) => void, entries: () => Iterable<[PeerId, HeldReservation]> } | undefined
  /** The host the peer is directly connected from (see `hostOf`), if it is. */
  hostOf: (peer: PeerId) => string | undefined
  stations: ServedStations
  refusals?: Refusals
}

export interface ReservationPolicyInit {
  /** Reservations held at once, in all (the relay server's own maximum). */
  maxReservations: number
  /** Reservations one host may hold. */
  maxPerHost: number
  /** Slots only the served stations' studios may take. */
  reservedForStations: number
}

export class ReservationPolicy {
  constructor (private readonly components: ReservationPolicyComponents, private readonly init: ReservationPolicyInit) {}

  /** Whether to refuse `peer` a reservation now (the relay server refuses on true). */
  deny (peer: PeerId): boolean {
    const store = this.components.reservations()
    if (store === undefined || store.has(peer)) return false
    const own = this.components.stations.isOwn(peer.toString())
    const host = this.components.hostOf(peer)
    if (own) {
      if (store.size >= this.init.maxReservations) this.evictStranger()
      return false
    }
    const reason = store.size >= this.init.maxReservations - this.init.reservedForStations
      ? 'full'
      : host !== undefined && this.heldBy(host) >= this.init.maxPerHost ? 'per-host' : undefined
    if (reason === undefined) return false
    log('refusing a reservation to %p (%s): %s', peer, host ?? 'unknown host', reason)
    ;(this.components.refusals ?? NO_REFUSALS).refuse('reservation', reason)
    return true
  }

  /** A peer disconnected: its reservation, if any, ends. */
  handlePeerGone (peer: PeerId): void {
    this.release(peer)
  }

  private release (peer: PeerId): void {
    const store = this.components.reservations()
    const held = store?.get(peer)
    if (store === undefined || held === undefined) return
    // The store's own expiry would otherwise fire later and delete a new reservation of the same peer.
    held.signal?.clear?.()
    store.delete(peer)
    log('reservation of %p ended', peer)
  }

  /** Reservations held by peers connected from `host`. */
  private heldBy (host: string): number {
    let n = 0
    for (const [, held] of this.components.reservations()?.entries() ?? []) if (hostOf(held.addr) === host) n++
    return n
  }

  /** Frees the slot of the stranger whose reservation is oldest. */
  private evictStranger (): void {
    let oldest: [PeerId, HeldReservation] | undefined
    for (const entry of this.components.reservations()?.entries() ?? []) {
      if (this.components.stations.isOwn(entry[0].toString())) continue
      if (oldest === undefined || entry[1].expiry < oldest[1].expiry) oldest = entry
    }
    if (oldest === undefined) return
    log('a served studio takes the reservation of %p', oldest[0])
    this.components.refusals?.refuse('reservation', 'evicted-for-station')
    this.release(oldest[0])
  }
}
