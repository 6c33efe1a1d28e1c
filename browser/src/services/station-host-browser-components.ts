/**
 * The station host's components in the browser: a libp2p node on the station
 * key that listens through the relays, the ping handler, and publishStation
 * over the node's DHT and directory topic.
 */
import { connectToRelays, handlePing, libp2pKeyOf, publishStation, type OpenStudioNode } from '@openstudio/network'
import type { StationKey } from '@openstudio/protocol'
import { pause } from './backoff.ts'
import type { NetworkConfig } from './config.ts'
import { createBrowserNode } from './node.ts'
import type { StationHostComponents } from './station-host-components.ts'

export interface BrowserStationHostInit {
  key: StationKey
  /** The relays to join through, and whether private addresses may be dialled. */
  config: NetworkConfig
}

/** The browser's station host components for `init.key`. */
export function browserStationHostComponents (init: BrowserStationHostInit): StationHostComponents<OpenStudioNode> {
  return {
    createNode: async ({ signal }) => {
      signal?.throwIfAborted()
      return createBrowserNode({ config: init.config, privateKey: libp2pKeyOf(init.key), reachable: true })
    },
    handlePing: async (node) => handlePing(node),
    connectToRelays: async (node, relays, { signal }) => { await connectToRelays(node, relays, { reachable: true, signal }) },
    // The steps and the stamp's progress go through with `publish`; a missing stamp is minted on this thread, with turns for the page.
    publish: async (node, publish, { signal }) => publishStation({ ...node.services, peerId: node.peerId }, { ...publish, signal }),
    pause
  }
}
