/**
 * Which of a station's streams a browser plays, and in which order it tries
 * them when one fails. Pure: the browser's abilities come in as `PlayerCaps`.
 *
 * Order: Ogg Opus (the best sound per bit, and the lowest latency), then HLS
 * where the browser plays it natively (Safari, and Chromium since it added
 * HLS), then MP3, then HLS through hls.js on Media Source Extensions: the
 * library is loaded only when nothing before it can play. Streams of one kind
 * keep the manifest's order, so a second server (an Icecast edge) listed
 * after the first is the next one tried. See docs/icecast.md, "Listeners on
 * every device".
 */
import type { Stream } from '@openstudio/protocol'

export type StreamKind = 'ogg' | 'hls' | 'mp3' | 'aac' | 'webm' | 'other'

/** How a stream is played: by the `<audio>` element itself, or through hls.js. */
export type PlayWay = 'native' | 'hls.js'

export interface PlayerCaps {
  /** `canPlayType('audio/ogg; codecs="opus"')` */
  ogg: boolean
  webm: boolean
  mp3: boolean
  aac: boolean
  /** `canPlayType('application/vnd.apple.mpegurl')`: HLS in the `<audio>` element. */
  nativeHls: boolean
  /** Media Source Extensions (or Safari's ManagedMediaSource): what hls.js needs. */
  mse: boolean
}

export interface PlayCandidate {
  stream: Stream
  kind: StreamKind
  way: PlayWay
}

/** A stream's kind, from its URL (a `.m3u8` playlist is HLS) and its codec. */
export function streamKind (stream: Pick<Stream, 'url' | 'codec' | 'mount'>): StreamKind {
  let path: string
  try {
    path = new URL(stream.url).pathname.toLowerCase()
  } catch {
    return 'other'
  }
  if (path.endsWith('.m3u8')) return 'hls'
  const codec = stream.codec.toLowerCase()
  if (codec === 'opus' || codec === 'vorbis') return path.endsWith('.webm') ? 'webm' : 'ogg'
  if (codec === 'mp3' || codec === 'mpeg') return 'mp3'
  if (codec === 'aac' || codec === 'aac+' || codec === 'he-aac') return 'aac'
  return 'other'
}

/** The streams this browser can play, best first (see the module's comment). */
export function playOrder (streams: readonly Stream[], caps: PlayerCaps): PlayCandidate[] {
  const ranked: Array<PlayCandidate & { rank: number, index: number }> = []
  streams.forEach((stream, index) => {
    const kind = streamKind(stream)
    const add = (rank: number, way: PlayWay): void => { ranked.push({ stream, kind, way, rank, index }) }
    if (kind === 'ogg' && caps.ogg) add(0, 'native')
    else if (kind === 'webm' && caps.webm) add(0, 'native')
    else if (kind === 'hls' && caps.nativeHls) add(1, 'native')
    else if (kind === 'mp3' && caps.mp3) add(2, 'native')
    else if (kind === 'aac' && caps.aac) add(2, 'native')
    else if (kind === 'hls' && caps.mse) add(3, 'hls.js')
  })
  return ranked.sort((a, b) => a.rank - b.rank || a.index - b.index).map(({ stream, kind, way }) => ({ stream, kind, way }))
}

/** What this browser's `<audio>` plays. */
export function browserCaps (audio: Pick<HTMLMediaElement, 'canPlayType'> = new Audio()): PlayerCaps {
  const can = (type: string): boolean => audio.canPlayType(type) !== ''
  const scope = globalThis as { MediaSource?: unknown, ManagedMediaSource?: unknown }
  return {
    ogg: can('audio/ogg; codecs="opus"'),
    webm: can('audio/webm; codecs="opus"'),
    mp3: can('audio/mpeg'),
    aac: can('audio/aac'),
    nativeHls: can('application/vnd.apple.mpegurl'),
    mse: scope.MediaSource !== undefined || scope.ManagedMediaSource !== undefined
  }
}
