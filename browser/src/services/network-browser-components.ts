/**
 * The network service's components in the browser: the configuration from
 * the page's origin, a browser libp2p node on the participant's key, and the
 * network layer's operations on it.
 */
import {
  connectToRelays, dialStation, DirectoryWatcher, fetchSnapshot, libp2pKeyOf, listDirectory, resolveStation, type OpenStudioNode
} from '@openstudio/network'
import { pause } from './backoff.ts'
import { loadNetworkConfig } from './config.ts'
import type { NetworkComponents } from './network-components.ts'
import { createBrowserNode } from './node.ts'

export function browserNetworkComponents (): NetworkComponents<OpenStudioNode> {
  return {
    loadConfig: async ({ signal }) => loadNetworkConfig(signal),
    createNode: async ({ config, identity }, { signal }) => {
      signal?.throwIfAborted()
      return createBrowserNode({ config, privateKey: libp2pKeyOf(identity) })
    },
    connectToRelays: async (node, relays, { signal }) => { await connectToRelays(node, relays, { signal }) },
    watchDirectory: (node) => new DirectoryWatcher(node.services),
    resolve: async (node, stationId, { signal }) => resolveStation(node.services, stationId, { signal }),
    dial: async (node, manifest, init) => dialStation(node, manifest, init),
    // A browser reaches only the WebSocket relays: it reads their snapshots, never those of servers the walk meets.
    list: async (node, init) => listDirectory(node.services, {
      ...init,
      snapshot: (relay, signal) => fetchSnapshot(node, relay, { tag: init.tag, signal }),
      snapshotsFromWalk: false
    }),
    pause
  }
}
