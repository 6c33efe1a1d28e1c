/**
 * Sets a mount's ICY title (`StreamTitle`) through Icecast's admin metadata
 * endpoint, with the mount's source credentials. Icecast 2.4 applies it to
 * MP3 (and AAC) mounts; an Ogg stream carries titles in-band, which Chrome
 * does not survive (docs/icecast.md, "Now playing"), so it never gets one.
 *
 * The title is sanitized here too (one line, no control characters, at most
 * NOW_PLAYING_MAX_CHARS; apostrophes typographic) and sent URL-encoded as
 * UTF-8: whatever the caller passes, nothing can break out of the query, an
 * HTTP header or the ICY metadata block.
 */
import { sanitizeTitle } from '@openstudio/protocol'

/** Icecast answered the metadata update with something other than success. */
export class IcecastMetadataError extends Error {
  override readonly name = 'IcecastMetadataError'
  constructor (message: string, readonly status?: number) {
    super(message)
  }
}

export interface IcecastTitleInit {
  /** Icecast's base URL, such as `http://127.0.0.1:8000`. */
  url: string
  /** Such as `/live.mp3`. */
  mount: string
  password: string
  /** @default 'source' */
  user?: string
  /** @default a 5 s timeout */
  signal?: AbortSignal
}

/** Largest answer read: Icecast's is a short XML document. */
const MAX_ANSWER_CHARS = 16 * 1024

/** The admin request that sets `title` on `mount`; exported for tests. */
export function icecastTitleUrl (url: string, mount: string, title: string): URL {
  const target = new URL('/admin/metadata', url)
  target.searchParams.set('mount', mount)
  target.searchParams.set('mode', 'updinfo')
  // ICY metadata is `StreamTitle='…';` with no escaping: an apostrophe becomes U+2019 so that no title can end the field early and add one.
  target.searchParams.set('song', sanitizeTitle(title).replaceAll("'", '\u2019'))
  target.searchParams.set('charset', 'UTF-8')
  return target
}

/**
 * Sets the ICY title of `init.mount`.
 * @throws {IcecastMetadataError} when Icecast refuses (wrong password, no such mount) or answers something else
 * @throws the signal's reason, or a TimeoutError, when Icecast does not answer in time
 */
export async function setIcecastTitle (title: string, init: IcecastTitleInit): Promise<void> {
  const auth = Buffer.from(`${init.user ?? 'source'}:${init.password}`).toString('base64')
  const res = await fetch(icecastTitleUrl(init.url, init.mount, title), {
    headers: { authorization: `Basic ${auth}` },
    signal: init.signal ?? AbortSignal.timeout(5_000)
  })
  const text = (await res.text()).slice(0, MAX_ANSWER_CHARS)
  if (!res.ok) throw new IcecastMetadataError(`Icecast refused the title for ${init.mount}: ${res.status} ${res.statusText}`, res.status)
  // Icecast 2.4 answers 200 with <return>1</return> on success, and 200 with 0 and a message for a mount it has no source for.
  if (!/<return>1<\/return>/.test(text)) {
    const message = /<message>([^<]{0,200})<\/message>/.exec(text)?.[1] ?? 'no success in its answer'
    throw new IcecastMetadataError(`Icecast did not set the title for ${init.mount}: ${message}`, res.status)
  }
}
