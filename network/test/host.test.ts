import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, it } from 'vitest'
import { hostOf } from '../src/libp2p/host.ts'

describe('hostOf', () => {
  it('counts IPv4 by address, whatever the port or transport', () => {
    expect(hostOf(multiaddr('/ip4/203.0.113.7/tcp/4001'))).toBe('ip4:203.0.113.7')
    expect(hostOf(multiaddr('/ip4/203.0.113.7/tcp/51234/ws'))).toBe('ip4:203.0.113.7')
  })

  it('counts IPv6 by its /64, and IPv4-mapped addresses as IPv4', () => {
    expect(hostOf(multiaddr('/ip6/2001:db8:0:1:aaaa::1/tcp/1'))).toBe('ip6:2001:db8:0:1::/64')
    expect(hostOf(multiaddr('/ip6/2001:db8:0:1:bbbb:cccc:dddd:eeee/tcp/1'))).toBe('ip6:2001:db8:0:1::/64')
    expect(hostOf(multiaddr('/ip6/2001:db8::1/tcp/1'))).toBe('ip6:2001:db8:0:0::/64')
    expect(hostOf(multiaddr('/ip6/::1/tcp/1'))).toBe('ip6:0:0:0:0::/64')
    expect(hostOf(multiaddr('/ip6/::ffff:198.51.100.2/tcp/1'))).toBe('ip4:198.51.100.2')
  })

  it('counts a relayed connection by its relay', () => {
    const relay = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
    expect(hostOf(multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${relay}/p2p-circuit`))).toBe(`circuit:${relay}`)
  })
})
