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
 * Every node pings each of its connections (every PING_INTERVAL_MS) and aborts one whose
 * ping is not answered within this long (libp2p's floor is 5 s). A studio's
 * browser that took in a burst of calls answered its relays' pings late, and
 * the relays dropped it, and with it its reservations: every caller's way in.
 * A peer that is really gone is still let go within this long.
 */
export const PING_TIMEOUT_MIN_MS = 15_000

/**
 * How often each connection is pinged: longer than the longest ping may take,
 * so that two pings never overlap. libp2p's monitor pings every 10 s, and a
 * connection may have one outbound ping stream: a ping still waiting when the
 * next began failed with TooManyOutboundProtocolStreamsError, and the monitor
 * aborted the connection (seen in the NAT lab: a studio lost its relay, and
 * every call through it).
 */
export const PING_INTERVAL_MS = 20_000

/** Gossipsub: largest message on the wire (a manifest announcement or room snapshot fits easily). */
export const GOSSIP_MAX_MESSAGE_BYTES = 64 * 1024

/**
 * Streams a peer may have open at once on one connection, per protocol, and
 * in all (the muxer's cap). A stream past a limit is reset before any handler
 * runs. OpenStudio's own protocols keep their limits beside their handlers
 * (records 2, program 2, TURN 2, signal 4, ping 8). See docs/relay-limits.md.
 */
export const STREAM_LIMITS = {
  /** Inbound streams of all protocols on one connection (yamux; its default is 1000). A studio's relay connection carries one per relayed caller. */
  perConnection: 256,
  /** kad-dht queries (its default). */
  kad: 32,
  /** Gossipsub keeps one stream each way per peer; a few allow for a reconnecting peer (libp2p's default is 32). */
  gossipsub: 4,
  /** Circuit relay hop streams: RESERVE and CONNECT requests (libp2p's default is 32). */
  hop: 32,
  /** identify (its default). */
  identify: 1,
  /** libp2p ping (its default). */
  ping: 2
} as const

/** New inbound connections accepted per second from one host (libp2p's default of 5 is too low behind NAT). */
export const INBOUND_CONNECTIONS_PER_SECOND = 100

/** Where kad-dht keeps its records and provider records in the datastore. */
export const DHT_DATASTORE_PREFIX = '/openstudio-dht'

/**
 * K of nodes that read the directory. kad-dht ends a provider query once it
 * has K providers, so a reader's K bounds the stations one listing can find.
 */
export const DIRECTORY_READER_K = 1024

/**
 * Inbound connection limits of a relay (see docs/relay-limits.md). libp2p's
 * defaults let 10 pending connections in, in total, for 10 s each: a dozen
 * silent sockets from one host kept everyone else out. Pending connections
 * are now bounded per host first, the total is large, and a connection that
 * has not finished its handshake in 5 s is dropped.
 */
export const INBOUND_LIMITS_DEFAULTS = {
  /** Connections in all (libp2p's maxConnections; its default is 300). */
  maxConnections: 1000,
  /** Connections still upgrading, in all. */
  maxPending: 256,
  /** Connections from one host still upgrading (a handshake takes tens of ms; a NAT's users seldom start 16 at once). */
  maxPendingPerHost: 16,
  /** Connections from one host, upgrading or open (a household or office behind one NAT fits). */
  maxPerHost: 64,
  /** An inbound connection that has not finished encryption and muxer selection by then is dropped (libp2p: 10 s). */
  upgradeTimeoutMs: 5_000
} as const

/**
 * Gossipsub v1.1 peer scoring, set on purpose (see libp2p/gossip-validation.ts).
 * What is scored is junk: a peer whose messages fail validation (Reject) loses
 * score quadratically, and is cut from gossip, then from flood publishing, then
 * graylisted (gossipsub drops every RPC from it). The rewards for good
 * behaviour stay small on purpose, so that a peer cannot bank credit by
 * relaying valid messages and then spend it on junk.
 *
 * Gossipsub keys topic parameters by exact topic name, with no default for
 * other topics, and its public interface cannot add topics after start. The
 * directory topic is scored as a topic (P4); room topics, whose names are only
 * known when a room opens, charge the same penalty through the
 * application-specific score (P5) from a ledger of rejected room messages.
 */
export const GOSSIP_SCORE = {
  /** How often counters decay; every decay below is per interval (gossipsub's default). */
  decayIntervalMs: 1000,
  /** A counter below this counts as zero (gossipsub's default). */
  decayToZero: 0.1,
  /** The directory topic's weight: its score counts as it is. */
  topicWeight: 1,
  /** P1, time in the mesh: +0.01 a second for 100 s, at most +1. A small tie-break towards peers that stay. */
  timeInMesh: { weight: 0.01, quantumMs: 1000, cap: 100 },
  /** P2, first deliveries of a valid message: +0.1 each, at most +1, losing 10 % a second. */
  firstDeliveries: { weight: 0.1, cap: 10, decay: 0.9 },
  /**
   * P4 (directory) and P5 (rooms), invalid messages: `weight × count²`. One
   * piece of junk gives −10 (a mistake stays just above the gossip threshold),
   * three give −90 (graylisted). The count halves in two minutes, so a flood
   * keeps its sender graylisted for a long while (fifty pieces: about eight
   * minutes) while a one-off recovers.
   */
  invalidMessages: { weight: -10, decay: 0.5 ** (1 / 120) },
  /**
   * P3 and P3b (mesh delivery rates) are off (weights 0): the directory is
   * sparse and bursty (a station announces twice a day, a relay's listener
   * count every 30 s while it streams), so there is no rate to expect of a
   * mesh peer. gossipsub's defaults (−1 × deficit² below 20 messages) would
   * push every honest mesh peer under the graylist threshold. The other
   * fields are gossipsub's defaults, inert while the weights are 0.
   */
  meshDeliveries: { weight: 0, decay: 0.5, cap: 100, threshold: 20, windowMs: 10, activationMs: 5000, failureWeight: 0, failureDecay: 0.5 },
  /** Score thresholds (gossipsub's defaults, kept on purpose against the weights above). */
  thresholds: {
    /** Below this no gossip (IHAVE/IWANT) is exchanged with the peer: one piece of junk and anything more. */
    gossipThreshold: -10,
    /** Below this our own messages are not flood-published to the peer. */
    publishThreshold: -50,
    /** Below this every RPC from the peer is dropped unread: three pieces of junk. */
    graylistThreshold: -80,
    /**
     * A mesh whose median peer scores below this takes in better-scoring peers
     * now and then. With rewards capped at +2 gossipsub's default (20) would
     * always hold; +1 means "the median peer has been around and useful".
     */
    opportunisticGraftThreshold: 1
  },
  /** Peers whose room rejections are remembered at most (the oldest are forgotten first). */
  roomLedgerMaxPeers: 4096
} as const
