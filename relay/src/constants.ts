/** Relay defaults. */

/** Where a relay listens when no `--listen` is given: TCP for relays, WebSockets for browsers. */
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws']


/** Other relays' addresses handed to browsers by /api/bootstrap, at most. */
export const MAX_BOOTSTRAP_OTHERS = 8

/** How /api/bootstrap checks other relays' addresses before listing them (see bootstrap.ts). */
export const BOOTSTRAP_CHECK_DEFAULTS = {
  maxListed: MAX_BOOTSTRAP_OTHERS,
  /** Dials started per round: a flood of claims costs a few dials a round, not one each. */
  probesPerRound: 4,
  /** Claimed WebSocket addresses of one peer that are looked at; the rest are ignored. */
  addressesPerPeer: 4,
  probeTimeoutMs: 5_000,
  /** A verdict (listed or not) stands this long before the address is dialled again. */
  verdictTtlMs: 10 * 60_000,
  /** Rounds run this often, and when a relay is identified. */
  intervalMs: 30_000
} as const

/** Who may hold circuit relay reservations (see reservations.ts and docs/relay-limits.md). */
export const RESERVATION_POLICY_DEFAULTS = {
  /** Reservations one host may hold: a studio holds one per relay, and a household or office seldom runs 8 studios. */
  maxPerHost: 8,
  /** Slots out of `--max-reservations` that only the served stations' studios may take. */
  reservedForStations: 16
} as const

/** Room topics a relay routes at once (each is a gossipsub subscription). */
export const DEFAULT_MAX_ROOMS = 1024

/** Who may open room topics on a relay (see rooms.ts and docs/relay-limits.md). */
export const ROOM_POLICY_DEFAULTS = {
  /** Rooms one peer may open: a caller or studio is in one room, a producer seldom in more than a few. */
  perPeer: 4,
  /** Rooms the peers of one host may open (a household or office behind one NAT). */
  perHost: 32,
  /** Of the maximum, slots only the served stations' rooms may take. */
  reservedForStations: 64
} as const

/** `/openstudio/turn/1` policy defaults. */
export const TURN_POLICY_DEFAULTS = {
  /** Requests one peer may make per minute; credentials last minutes, so a few is plenty. */
  requestsPerMinute: 6,
  /**
   * Requests one host (see `hostOf`: an IPv4 address, an IPv6 /64) may make
   * per minute, whatever its peer ids: a peer id is free, an address is not.
   * Room for a household or an office behind one NAT calling in at once.
   */
  requestsPerHostPerMinute: 30,
  /** Peers, and hosts, whose request counts are tracked at once (oldest forgotten first). */
  trackedPeersMax: 10_000
} as const

/** Largest secret file read (TURN secret, Icecast password), in bytes: secrets are short lines. */
export const MAX_SECRET_FILE_BYTES = 4096

/** `/openstudio/program/1` policy defaults. */
export const PROGRAM_POLICY_DEFAULTS = {
  mount: '/live.ogg',
  /** A status goes to the studio at least this often. */
  statusIntervalMs: 1_000,
  /** Icecast's listener count is read this often. */
  listenersIntervalMs: 5_000,
  /** An Ogg Opus stream starts with 2 header pages; a few more allow a long comment header. */
  maxHeaderPages: 8,
  /** No page claims more audio than this (a granule jump is not a reason to stall the ring). */
  maxPageMs: 1_000,
  /** Audio in each Ogg page sent to Icecast: about 2 % of the bytes in page headers at 96 kb/s, against 30 % in 10 ms pages. */
  oggPageMs: 200,
  /** The longest page `--ogg-page-ms` may ask for. */
  maxOggPageMs: 1_000,
  /** A program whose stream broke keeps its Icecast source this long for the studio to come back. */
  abandonMs: 60_000
} as const

/** A relay re-announces an unchanged listener count this often (readers drop reports older than 2 minutes). */
export const LISTENER_ANNOUNCE_MS = 30_000

/**
 * Limits of the relay's HTTP servers (`/health`, `/metrics`, `/api/bootstrap`,
 * the web app): no client, however slow or numerous, holds them for long.
 * Each is overridable through `HttpInit.limits`.
 */
export const HTTP_LIMITS = {
  /** The whole request head must arrive within this (slowloris). Node's default is 60 s. */
  headersTimeoutMs: 10_000,
  /** The whole request, body included, must arrive within this. Node's default is 5 minutes. */
  requestTimeoutMs: 30_000,
  /** An idle keep-alive socket is closed after this. */
  keepAliveTimeoutMs: 5_000,
  /** A socket with no traffic either way for this long is closed (a client that stops reading a response). */
  socketIdleMs: 60_000,
  /** How often the two request timeouts above are checked; a socket may outlive them by this much. */
  timeoutCheckMs: 1_000,
  /** Largest request head (request line and headers), in bytes. Node's default is 16 KiB. */
  maxHeaderBytes: 8_192,
  /** HTTP sockets open at once, in total; more are dropped as they arrive. */
  maxConnections: 512,
  /**
   * HTTP sockets open at once from one remote address; more are destroyed as
   * they arrive. Behind a reverse proxy every socket comes from the proxy, so
   * this caps the proxied traffic as a whole: limit per client in the proxy.
   */
  maxConnectionsPerHost: 128
} as const

/** The DHT record count in `/health` and `openstudio_dht_records` is recounted at most this often (a count scans every record). */
export const RECORD_COUNT_REFRESH_MS = 30_000
