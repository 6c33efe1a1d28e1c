/** Defaults of the libp2p node factory. */

/** Circuit relay v2 server limits. The libp2p defaults (15 reservations, 2 h TTL) run out on page reloads. */
export const RELAY_SERVER_DEFAULTS = {
  maxReservations: 512,
  reservationTtlMs: 10 * 60 * 1000,
  /**
   * Relayed connections carry signalling only, but for a whole call when no
   * direct libp2p connection forms: an hour, and 1 MiB (a negotiation is a
   * few KiB, a room message a few hundred bytes).
   */
  durationLimitMs: 60 * 60 * 1000,
  dataLimitBytes: 1024 * 1024
  // Per peer: the server keys reservations by peer id, so one peer holds at most one.
} as const

/**
 * Every node pings each of its connections every 10 s and aborts one whose
 * ping is not answered within this long (libp2p's floor is 5 s). A studio's
 * browser that took in a burst of calls answered its relays' pings late, and
 * the relays dropped it, and with it its reservations: every caller's way in.
 * A peer that is really gone is still let go within this long.
 */
export const PING_TIMEOUT_MIN_MS = 15_000

/** Gossipsub: largest message on the wire (a manifest announcement or room snapshot fits easily). */
export const GOSSIP_MAX_MESSAGE_BYTES = 64 * 1024

/** kad-dht: concurrent inbound streams per connection (bounded against floods). */
export const DHT_MAX_INBOUND_STREAMS = 32

/** New inbound connections accepted per second from one host (libp2p's default of 5 is too low behind NAT). */
export const INBOUND_CONNECTIONS_PER_SECOND = 100

/** Where kad-dht keeps its records and provider records in the datastore. */
export const DHT_DATASTORE_PREFIX = '/openstudio-dht'

/**
 * K of nodes that read the directory. kad-dht ends a provider query once it
 * has K providers, so a reader's K bounds the stations one listing can find.
 */
export const DIRECTORY_READER_K = 1024
