/** Relay defaults. */

/** Where a relay listens when no `--listen` is given: TCP for relays, WebSockets for browsers. */
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws']


/** Other relays' addresses handed to browsers by /api/bootstrap, at most. */
export const MAX_BOOTSTRAP_OTHERS = 8

/** Room topics a relay routes at once (each is a gossipsub subscription). */
export const DEFAULT_MAX_ROOMS = 1024

/** `/openstudio/turn/1` policy defaults. */
export const TURN_POLICY_DEFAULTS = {
  /** Requests one peer may make per minute; credentials last minutes, so a few is plenty. */
  requestsPerMinute: 6,
  /** Peers whose request counts are tracked at once (oldest forgotten first). */
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
  /** A program whose stream broke keeps its Icecast source this long for the studio to come back. */
  abandonMs: 60_000
} as const

/** A relay re-announces an unchanged listener count this often (readers drop reports older than 2 minutes). */
export const LISTENER_ANNOUNCE_MS = 30_000
