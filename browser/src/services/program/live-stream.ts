/**
 * The manifest's stream entry for the live program: the relay's listener URL,
 * with the codec and the bitrate the studio chose. It goes first (players
 * take the first stream), replacing an entry for the same URL or mount.
 */
import { MANIFEST_LIMITS, type ManifestDraftInput } from '@openstudio/protocol'

export interface LiveStream {
  listenUrl: string
  mount: string
  /** kb/s. */
  bitrate: number
}

export function withLiveStream (draft: ManifestDraftInput, live: LiveStream): ManifestDraftInput {
  const entry = { url: live.listenUrl, codec: 'opus', bitrate: live.bitrate, mount: live.mount }
  const others = (draft.streams ?? []).filter((s) => s.url !== live.listenUrl && s.mount !== live.mount)
  return { ...draft, streams: [entry, ...others].slice(0, MANIFEST_LIMITS.streamsMax) }
}
