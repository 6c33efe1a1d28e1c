/** Program encoding and streaming defaults. */
export const PROGRAM_ENCODER = {
  sampleRate: 48_000,
  /** Opus frame length; each frame leaves in its own Ogg page (docs/icecast.md: 10 ms frames cut page → listener latency from ~60 to ~11 ms). */
  frameMs: 10,
  /** Samples per encoder input block: one frame. */
  frames: 480,
  /** libopus complexity 0–10: 8 leaves CPU for the mixer on small machines. */
  complexity: 8,
  /** libopus look-ahead at 48 kHz, when the encoder gives no OpusHead of its own. */
  defaultPreSkip: 312,
  /** Blocks (10 ms each) waiting for the encoder before new ones are dropped: 2 s rides out a busy page. */
  maxEncodeQueue: 200,
  /** MediaRecorder timeslice: smaller slices stalled Icecast (docs/icecast.md). */
  recorderSliceMs: 250
} as const

export const BROADCAST_DEFAULTS = {
  /** @default 96 kb/s */
  bitrate: 96,
  channels: 2 as 1 | 2,
  /** Reconnects to the relay: 0.5 s doubling to 5 s. */
  backoffInitialMs: 500,
  backoffMaxMs: 5_000,
  /** Status refresh for the producer. */
  statusIntervalMs: 1_000,
  /** The measured bitrate covers this much time. */
  rateWindowMs: 3_000,
  /** Audio kept while no relay link is open (about 2 minutes at 128 kb/s), oldest dropped first. */
  maxCarriedBytes: 2 * 1024 * 1024
} as const
