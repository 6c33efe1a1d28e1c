/**
 * How the page orders and filters stations it holds itself: the saved ones
 * before the relay answers, and the whole list when the peer-to-peer network
 * lists it. Answers from a relay's directory API keep the relay's order.
 */
import { isNewerManifest, isOnAir, type Manifest, type NowPlaying } from '@openstudio/protocol'

/** What the page shows of a station: its manifest, and its record to save. */
export interface KnownStation {
  manifest: Manifest
  record: Uint8Array
  /** Listeners, as the relay's index reports them; undefined when no relay said. */
  listeners?: number
  /** The station's newest signed title, verified in the page. */
  nowPlaying?: NowPlaying
}

/** What the user asked for: search words, a tag and a language ('' for any). */
export interface StationFilter {
  text: string
  tag: string
  language: string
}

/** By name, then by id: a stable order for people. */
export function byName (a: Pick<Manifest, 'name' | 'id'>, b: Pick<Manifest, 'name' | 'id'>): number {
  return a.name.localeCompare(b.name) || (a.id < b.id ? -1 : 1)
}

/**
 * Keeps the newest manifest of each station (isNewerManifest). A relay's
 * listener count is the newest word, whichever manifest came with it.
 * @returns whether anything changed
 */
export function keepNewest (known: Map<string, KnownStation>, stations: Iterable<KnownStation>): boolean {
  let changed = false
  for (const station of stations) {
    const current = known.get(station.manifest.id)
    const nowPlaying = newerTitle(station.nowPlaying, current?.nowPlaying)
    if (current === undefined || isNewerManifest(station.manifest, current.manifest)) {
      known.set(station.manifest.id, { ...station, listeners: station.listeners ?? current?.listeners, nowPlaying })
      changed = true
    } else if ((station.listeners !== undefined && station.listeners !== current.listeners) || nowPlaying !== current.nowPlaying) {
      known.set(station.manifest.id, { ...current, listeners: station.listeners ?? current.listeners, nowPlaying })
      changed = true
    }
  }
  return changed
}

/** The newer of two signed titles (a replayed older one never wins). */
function newerTitle (a: NowPlaying | undefined, b: NowPlaying | undefined): NowPlaying | undefined {
  if (a === undefined) return b
  return b === undefined || a.at > b.at ? a : b
}

/**
 * The title to show for a station: only while it is on air (a title outlives
 * its show otherwise), and only a title that says something.
 */
export function shownTitle (manifest: Manifest, nowPlaying: NowPlaying | undefined, now: number): string | undefined {
  return nowPlaying !== undefined && nowPlaying.title !== '' && nowPlaying.station === manifest.id && isOnAir(manifest, now) ? nowPlaying.title : undefined
}

/** Whether a station matches the filter: every search word in its name or tags (as a relay searches). */
export function matches (manifest: Manifest, filter: StationFilter): boolean {
  if (filter.tag !== '' && !manifest.tags.includes(filter.tag)) return false
  if (filter.language !== '' && manifest.language !== filter.language) return false
  const haystack = `${manifest.name} ${manifest.tags.join(' ')}`.toLowerCase()
  return filter.text.toLowerCase().split(/\s+/).every((word) => haystack.includes(word))
}

/** The stations that match, live ones first (while their claim holds), then by name. */
export function filterLocally (stations: readonly Manifest[], filter: StationFilter, now: number): Manifest[] {
  return stations
    .filter((m) => matches(m, filter))
    .sort((a, b) => Number(isOnAir(b, now)) - Number(isOnAir(a, now)) || byName(a, b))
}
