/**
 * Fresh addresses for the configured bootstrap peers, whatever the peer store
 * remembers of them.
 *
 * The peer store drops an address it observed more than an hour ago
 * (@libp2p/peer-store's MAX_ADDRESS_AGE), and a merge or patch of an address
 * it already holds keeps the old `observed` time (to-peer-pb.ts). So a relay
 * with a persistent datastore (`--data`) that was down for more than an hour
 * could not dial its configured `--bootstrap` relays at all: @libp2p/bootstrap
 * merged the address, the store kept it as hour-old, and the dial found "no
 * valid addresses". The fix upstream would be a merge that refreshes
 * `observed`; until then the node forgets what it stored of each bootstrap
 * peer and stores the configured addresses anew, right after it is created
 * (before @libp2p/bootstrap's first dial, a second later).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { PeerId, PeerStore } from '@libp2p/interface'

/** The bootstrap multiaddrs (`…/p2p/<id>`), grouped by peer; addresses without a peer id are left out. */
export function bootstrapPeers (addrs: readonly string[]): Map<string, { id: PeerId, multiaddrs: Multiaddr[] }> {
  const peers = new Map<string, { id: PeerId, multiaddrs: Multiaddr[] }>()
  for (const addr of addrs) {
    const ma = multiaddr(addr)
    const id = ma.getComponents().findLast((c) => c.name === 'p2p')?.value
    if (id === undefined) continue
    const peer = peers.get(id) ?? { id: peerIdFromString(id), multiaddrs: [] }
    peer.multiaddrs.push(ma)
    peers.set(id, peer)
  }
  return peers
}

/** Replaces what `peerStore` holds of each bootstrap peer with its configured addresses, observed now. */
export async function refreshBootstrapAddresses (peerStore: Pick<PeerStore, 'delete' | 'merge'>, addrs: readonly string[]): Promise<void> {
  for (const { id, multiaddrs } of bootstrapPeers(addrs).values()) {
    await peerStore.delete(id)
    await peerStore.merge(id, { multiaddrs })
  }
}
