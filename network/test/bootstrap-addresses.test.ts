import { describe, expect, it } from 'vitest'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { persistentPeerStore } from '@libp2p/peer-store'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core'
import { TypedEventEmitter } from 'main-event'
import { defaultLogger } from '@libp2p/logger'
import { bootstrapPeers, refreshBootstrapAddresses } from '../src/libp2p/bootstrap-addresses.ts'

const HOUR = 60 * 60 * 1000

describe('bootstrap addresses', () => {
  it('groups the configured addresses by peer, and leaves out those without a peer id', async () => {
    const a = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const b = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const peers = bootstrapPeers([`/ip4/10.0.0.1/tcp/4001/p2p/${a}`, `/ip4/10.0.0.1/tcp/4002/ws/p2p/${a}`, `/ip4/10.0.0.2/tcp/4001/p2p/${b}`, '/ip4/10.0.0.3/tcp/4001'])
    expect([...peers.keys()]).toEqual([a, b])
    expect(peers.get(a)?.multiaddrs.map(String)).toEqual([`/ip4/10.0.0.1/tcp/4001/p2p/${a}`, `/ip4/10.0.0.1/tcp/4002/ws/p2p/${a}`])
  })

  it('makes an address the peer store holds as more than an hour old dialable again', async () => {
    const self = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const addr = `/ip4/10.0.0.1/tcp/4001/p2p/${relay.toString()}`
    const datastore = new MemoryDatastore()
    const store = (): ReturnType<typeof persistentPeerStore> => persistentPeerStore({ peerId: self, datastore, events: new TypedEventEmitter(), logger: defaultLogger() })
    // Two hours ago, the relay's address went into the store (a relay that was down since).
    const realNow = Date.now
    Date.now = () => realNow() - 2 * HOUR
    try {
      await store().merge(relay, { multiaddrs: [multiaddr(addr)] })
    } finally {
      Date.now = realNow
    }
    // What @libp2p/bootstrap does at start: merge the same address. The store keeps it as two hours old, and drops it.
    await store().merge(relay, { multiaddrs: [multiaddr(addr)] })
    expect((await store().get(relay)).addresses).toEqual([])
    await refreshBootstrapAddresses(store(), [addr])
    expect((await store().get(relay)).addresses.map((a) => a.multiaddr.toString())).toEqual([`/ip4/10.0.0.1/tcp/4001`])
  })
})
