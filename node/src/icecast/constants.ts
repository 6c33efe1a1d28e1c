/** Icecast source client defaults. */
export const ICECAST_SOURCE_DEFAULTS = {
  /** Audio kept for replay after an Icecast outage. */
  bufferMs: 30_000,
  /**
   * Memory the ring may hold per second of `bufferMs`, when no `bufferBytes`
   * is given. A generous stream, 320 kb/s (the relay takes at most 256) in
   * 10 ms pages, costs 40,000 bytes of audio, 100 page headers of ~29 bytes
   * and 100 × `unitOverheadBytes`: about 68.5 kB a second. 72 KiB a second
   * (2.1 MiB for 30 s) holds it with room, and bounds pages that claim no
   * time (a granule position that never advances) to the same memory.
   */
  bufferBytesPerSecond: 72 * 1024,
  /**
   * What holding one unit costs beyond its bytes: its Uint8Array, its
   * ArrayBuffer and its ring entry (measured at 224–252 bytes a page on
   * Node 20). Charged against `bufferBytes`, so that a flood of tiny pages is
   * bounded by memory rather than by count.
   */
  unitOverheadBytes: 256,
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
