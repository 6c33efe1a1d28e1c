/**
 * TURN servers for a call, from the relays this page is connected to. A relay
 * issues short-lived credentials only to a peer in the station's room, so ask
 * after joining the room topic.
 */
import { logger } from '@libp2p/logger'
import { peerIdFromString } from '@libp2p/peer-id'
import { requestTurnServers } from '@openstudio/network'
import type { OpenStudioNode } from '@openstudio/network'
import { relayPeerIds } from '../config.ts'
import { TurnUnreachableError } from './errors.ts'

const log = logger('openstudio:app:turn')

/**
 * Asks each relay in turn; `node` must be in the room (subscribed to its topic).
 * @returns TURN servers, or none when no relay has them and the policy allows direct paths
 * @throws {TurnUnreachableError} when `policy` is 'relay' and no relay gave TURN servers
 */
export async function turnServersFor (node: Pick<OpenStudioNode, 'dialProtocol'>, relays: readonly string[], room: string, policy: RTCIceTransportPolicy, signal?: AbortSignal): Promise<RTCIceServer[]> {
  const reasons: string[] = []
  for (const id of relayPeerIds(relays)) {
    try {
      const { iceServers } = await requestTurnServers(node, peerIdFromString(id), room, { signal })
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
