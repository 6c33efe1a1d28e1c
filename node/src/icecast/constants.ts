/** Icecast source client defaults. */
export const ICECAST_SOURCE_DEFAULTS = {
  /** Audio kept for replay after an Icecast outage. */
  bufferMs: 30_000,
  /**
   * Audio sent again from before a failure. A killed Icecast loses what sat
   * in the socket buffers; a listener of a surviving Icecast hears this much
   * twice, which beats a gap.
   */
  replayOverlapMs: 500,
  /** Reconnect delays: 0.5 s doubling to 10 s, each scaled by 1 ± 0.2 at random. */
  backoffInitialMs: 500,
  backoffMaxMs: 10_000,
  jitter: 0.2,
  /** An answer or a drain that takes longer drops the connection. */
  stallTimeoutMs: 5_000,
  /** How long `stop` lets queued audio leave. */
  stopFlushMs: 1_000,
  /** Icecast's answer to a PUT is a few hundred bytes. */
  maxAnswerBytes: 16 * 1024,
  /** Longest Ice-* header value sent. */
  maxHeaderChars: 512
} as const

/** Defaults of the fallback mount's source (`FallbackSource`). */
export const FALLBACK_SOURCE_DEFAULTS = {
  mount: '/fallback.ogg',
  /** Audio per Ogg page: five 20 ms frames. */
  pageMs: 100,
  frameMs: 20,
  /** Silence padded to this bitrate: players that buffer by bytes keep playing. */
  bitrateKbps: 64,
  /** Silence kept for replay after an Icecast outage: nobody misses silence. */
  bufferMs: 1_000,
  name: 'OpenStudio: back soon'
} as const
