/** Relay defaults. */

/** Where a relay listens when no `--listen` is given: TCP for relays, WebSockets for browsers. */
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/4001', '/ip4/0.0.0.0/tcp/4002/ws']


/** Other relays' addresses handed to browsers by /api/bootstrap, at most. */
export const MAX_BOOTSTRAP_OTHERS = 8
