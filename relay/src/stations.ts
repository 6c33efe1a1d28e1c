/**
 * The stations a relay serves (`--station`): their studios may stream the
 * program here, their calls get TURN credentials, their rooms are routed
 * first, and their studios keep reserved relay capacity. `*` serves every
 * station, for local networks. See docs/relay-limits.md.
 */
import { isStationId } from '@openstudio/protocol'

/** Any station, for local networks and tests. */
export const ANY_STATION = '*'

export interface ServedStations {
  /** Whether this relay serves `station` (a station id). */
  serves: (station: string) => boolean
  /** Whether `peer` (a peer id string) is the studio of a station served here by name, not only through `*`. */
  isOwn: (peer: string) => boolean
  /** The ids as configured (`*` included). */
  readonly ids: readonly string[]
}

/** Served stations from configured ids; anything that is neither a station id nor `*` is ignored. */
export function servedStations (ids: readonly string[] = []): ServedStations {
  const named = new Set(ids.filter((id) => isStationId(id)))
  const all = ids.includes(ANY_STATION)
  return {
    serves: (station) => all ? isStationId(station) : named.has(station),
    isOwn: (peer) => named.has(peer),
    ids: [...ids]
  }
}
