/**
 * TURN servers for a call, from relays of the station. A relay issues
 * short-lived credentials only for a station it serves, and there only to the
 * studio itself or to a caller that shows the call pass from the studio's
 * welcome (or an invite of the station): a caller asks after its hello was
 * welcomed. See docs/turn.md.
 */
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { requestTurnServers } from '@openstudio/network'
import type { OpenStudioNode } from '@openstudio/network'
import { relayPeerIds } from '../config.ts'
import { TurnUnreachableError } from './errors.ts'

const log = logger('openstudio:app:turn')

export interface TurnServersInit {
  /** The call pass from the studio's welcome; the studio itself needs none. @default none */
  pass?: string
  /** An invite of the station, for a caller whose studio sent no pass. @default none */
  invite?: string
  signal?: AbortSignal
}

/**
 * Asks each relay in turn (each once, in the order given: the station's own first).
 * @returns TURN servers, or none when no relay has them and the policy allows direct paths
 * @throws {TurnUnreachableError} when `policy` is 'relay' and no relay gave TURN servers
 */
export async function turnServersFor (node: Pick<OpenStudioNode, 'dialProtocol'>, relays: readonly string[], room: string, policy: RTCIceTransportPolicy, init: TurnServersInit = {}): Promise<RTCIceServer[]> {
  const reasons: string[] = []
  for (const id of new Set(relayPeerIds(relays))) {
    try {
      const { iceServers } = await requestTurnServers(node, peerIdFromString(id), room, { pass: init.pass, invite: init.invite, signal: init.signal })
      log('TURN servers from %s: %s', id, iceServers.flatMap((s) => s.urls).join(' '))
      return iceServers
    } catch (err) {
      reasons.push(`${id.slice(-6)}: ${(err as Error).message}`)
    }
  }
  log('no TURN servers: %s', reasons.join('; '))
  if (policy === 'relay') throw new TurnUnreachableError(reasons.length > 0 ? reasons.join('; ') : 'no relay is connected')
  return []
}
