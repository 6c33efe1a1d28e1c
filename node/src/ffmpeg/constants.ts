/** Transcoder (ffmpeg rendition) defaults. */
export const TRANSCODER_DEFAULTS = {
  /** Program bytes that may wait in ffmpeg's stdin: about 5 s at 128 kb/s. Past it, pages are dropped. */
  maxBacklogBytes: 80 * 1024,
  /** Restart delays after ffmpeg exits: 0.5 s doubling to 10 s. */
  backoffInitialMs: 500,
  backoffMaxMs: 10_000,
  /** A run at least this long counts as healthy: the next failure starts the backoff again. */
  healthyRunMs: 30_000,
  /** How long `stop` lets ffmpeg finish after its input ends. */
  stopGraceMs: 2_000,
  /** How much of ffmpeg's stderr an error keeps. */
  stderrTailChars: 400
} as const

/** MP3 rendition defaults. */
export const MP3_DEFAULTS = {
  mount: '/live.mp3',
  /** kb/s: what legacy players and smart speakers take without a second thought. */
  bitrate: 128
} as const

/** ffmpeg's output arguments for an MP3 stream on stdout: no ID3 or Xing header (a stream has no length), a packet per write. */
export function mp3Output (bitrateKbps: number): string[] {
  return ['-c:a', 'libmp3lame', '-b:a', `${bitrateKbps}k`, '-ar', '48000', '-write_xing', '0', '-id3v2_version', '0', '-flush_packets', '1', '-f', 'mp3', 'pipe:1']
}
