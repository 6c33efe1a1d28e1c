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

/** HLS rendition defaults. */
export const HLS_DEFAULTS = {
  /** The playlist is `<name>.m3u8`, the segments `<name>-<n>.ts`. */
  name: 'live',
  /** kb/s of AAC-LC. */
  bitrate: 96,
  /** Segment length: players start about three segments behind live. */
  segmentSeconds: 1,
  /** Segments the playlist lists (and the directory keeps). */
  listSize: 6
} as const

/**
 * ffmpeg's output arguments for a live HLS rendition in `dir`: AAC-LC in
 * MPEG-TS segments (what every HLS player takes, Safari's native one and
 * hls.js), a rolling playlist written to a temporary file and renamed, and
 * sequence numbers from the clock in microseconds, so that a restarted ffmpeg
 * never reuses a segment's name (a CDN may hold the old one).
 */
export function hlsOutput (dir: string, init: { name: string, bitrate: number, segmentSeconds: number, listSize: number }): string[] {
  return ['-c:a', 'aac', '-b:a', `${init.bitrate}k`, '-ar', '48000', '-f', 'hls',
    '-hls_time', String(init.segmentSeconds), '-hls_list_size', String(init.listSize),
    '-hls_flags', 'delete_segments+omit_endlist+temp_file+independent_segments', '-hls_start_number_source', 'epoch_us',
    '-hls_segment_filename', `${dir}/${init.name}-%d.ts`, `${dir}/${init.name}.m3u8`]
}
