/**
 * The manifest's stream entries for the live program: the relay's listener
 * URL, with the codec and the bitrate the studio chose, then the renditions
 * the relay makes of it (an MP3 mount). They go first (players try the
 * streams in order), replacing entries for the same URLs or mounts.
 */
import { MANIFEST_LIMITS, type ManifestDraftInput, type Stream } from '@openstudio/protocol'

export interface LiveStream {
  listenUrl: string
  mount: string
  /** kb/s. */
  bitrate: number
  /** @default none */
  renditions?: Stream[]
}

export function withLiveStream (draft: ManifestDraftInput, live: LiveStream): ManifestDraftInput {
  const entries = [{ url: live.listenUrl, codec: 'opus', bitrate: live.bitrate, mount: live.mount }, ...(live.renditions ?? [])]
  const others = (draft.streams ?? []).filter((s) => !entries.some((e) => s.url === e.url || s.mount === e.mount))
  return { ...draft, streams: [...entries, ...others].slice(0, MANIFEST_LIMITS.streamsMax) }
}
