/**
 * The host a connection comes from, for limits that count by host: a peer id
 * is free, an address is not. IPv4 counts by address; IPv6 by its /64, the
 * block one subscriber gets; a relayed connection by the relay it came through.
 */
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'

/** An IP address (such as a trusted proxy's) as `hostOf` names its host. */
export function hostOfIp (ip: string): string {
  return ip.includes(':') ? hostOf(multiaddr(`/ip6/${ip}`)) : `ip4:${ip}`
}

/** `remoteAddr`'s host key: `ip4:1.2.3.4`, `ip6:2001:db8:0:1::/64`, `circuit:<relay peer id>` or `other`. */
export function hostOf (remoteAddr: Multiaddr): string {
  const components = remoteAddr.getComponents()
  const circuit = components.findIndex((c) => c.name === 'p2p-circuit')
  if (circuit >= 0) {
    const relay = components.slice(0, circuit).findLast((c) => c.name === 'p2p')?.value
    return `circuit:${relay ?? 'unknown'}`
  }
  const ip = components.find((c) => c.name === 'ip4' || c.name === 'ip6')
  if (ip?.value === undefined) return 'other'
  if (ip.name === 'ip4') return `ip4:${ip.value}`
  const mapped = ipv4Mapped(ip.value)
  if (mapped !== undefined) return `ip4:${mapped}`
  return `ip6:${ipv6Prefix64(ip.value)}::/64`
}

/** The first four 16-bit groups of an IPv6 address, as `a:b:c:d`. */
function ipv6Prefix64 (address: string): string {
  const [head = '', tail] = address.split('::')
  const left = head === '' ? [] : head.split(':')
  const right = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups = tail === undefined ? left : [...left, ...Array<string>(Math.max(0, 8 - left.length - right.length)).fill('0'), ...right]
  return groups.slice(0, 4).map((g) => (g === '' ? '0' : g).replace(/^0+(?=.)/, '').toLowerCase()).join(':')
}

/** The IPv4 address inside an IPv4-mapped IPv6 address (`::ffff:1.2.3.4` or `::ffff:102:304`). */
function ipv4Mapped (address: string): string | undefined {
  const dotted = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)
  if (dotted?.[1] !== undefined) return dotted[1]
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address)
  if (hex?.[1] === undefined || hex[2] === undefined) return undefined
  const high = parseInt(hex[1], 16)
  const low = parseInt(hex[2], 16)
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.')
}
