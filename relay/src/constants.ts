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

/** Largest TURN secret file read, in bytes (coturn secrets are short lines). */
export const MAX_TURN_SECRET_FILE_BYTES = 4096
