/**
 * Which listener count to show for a station: the newest fresh report from a
 * relay the station lists in its signed manifest. A relay the station does not
 * list has no say about its audience, however valid its signature.
 */
import { LISTENER_REPORT_MAX_AGE_MS, type ListenerReport, type Manifest } from '@openstudio/protocol'
import { relayPeerIds } from './config.ts'

export interface ShownListeners {
  count: number
  /** The relay that reported it. */
  relay: string
  at: number
}

export function listenersFor (manifest: Manifest, reports: Iterable<ListenerReport>, now: number): ShownListeners | undefined {
  const listed = new Set(relayPeerIds(manifest.relays))
  let best: ListenerReport | undefined
  for (const report of reports) {
    if (report.station !== manifest.id || !listed.has(report.relay) || now - report.at > LISTENER_REPORT_MAX_AGE_MS) continue
    if (best === undefined || report.at > best.at) best = report
  }
  return best === undefined ? undefined : { count: best.listeners, relay: best.relay, at: best.at }
}
