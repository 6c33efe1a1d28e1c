import { describe, expect, it } from 'vitest'
import { HostLimitError, HostLimits, type HostRefusal } from '../src/libp2p/host-limits.ts'

describe('HostLimits', () => {
  it('refuses a host past its pending limit, and lets it in again once an upgrade ends', () => {
    const refused: HostRefusal[] = []
    const limits = new HostLimits({ maxPendingPerHost: 2, maxPerHost: 10, onRefuse: (reason) => refused.push(reason) })
    const a = limits.admit('ip4:198.51.100.1')
    limits.admit('ip4:198.51.100.1')
    expect(() => limits.admit('ip4:198.51.100.1')).toThrow(HostLimitError)
    expect(refused).toEqual(['pending-per-host'])
    // Another host is not affected.
    limits.admit('ip4:198.51.100.2')
    a.upgraded()
    expect(() => limits.admit('ip4:198.51.100.1')).not.toThrow()
    expect(limits.countsOf('ip4:198.51.100.1')).toEqual({ pending: 2, open: 3 })
  })

  it('refuses a host past its connection limit until one closes', () => {
    const limits = new HostLimits({ maxPendingPerHost: 10, maxPerHost: 2 })
    const first = limits.admit('ip4:198.51.100.1')
    first.upgraded()
    limits.admit('ip4:198.51.100.1').upgraded()
    let error: unknown
    try {
      limits.admit('ip4:198.51.100.1')
    } catch (err) {
      error = err
    }
    expect(error).toMatchObject({ name: 'HostLimitError', reason: 'connections-per-host' })
    first.closed()
    first.closed()
    expect(limits.countsOf('ip4:198.51.100.1')).toEqual({ pending: 0, open: 1 })
    expect(() => limits.admit('ip4:198.51.100.1')).not.toThrow()
  })

  it('never limits an exempt host, and forgets hosts with nothing open', () => {
    const limits = new HostLimits({ maxPendingPerHost: 1, maxPerHost: 1, exempt: ['ip4:127.0.0.1'] })
    const entries = Array.from({ length: 5 }, () => limits.admit('ip4:127.0.0.1'))
    expect(limits.hosts).toBe(1)
    for (const e of entries) { e.upgraded(); e.closed() }
    expect(limits.hosts).toBe(0)
  })

  it('drops the connection upgrading longest to make room past the pending total, whatever its host', () => {
    const refused: string[] = []
    const limits = new HostLimits({ maxPendingPerHost: 10, maxPerHost: 10, maxPending: 2, onRefuse: (reason, host) => refused.push(`${reason} ${host}`) })
    const dropped: string[] = []
    const idle = limits.admit('ip4:198.51.100.1', () => { dropped.push('idle') })
    limits.admit('ip4:198.51.100.2', () => { dropped.push('second') })
    const honest = limits.admit('ip4:203.0.113.7', () => { dropped.push('honest') })
    expect(dropped).toEqual(['idle'])
    expect(refused).toEqual(['pending-evicted ip4:198.51.100.1'])
    expect(limits.countsOf('ip4:198.51.100.1')).toEqual({ pending: 0, open: 1 })
    // The dropped one's own end of upgrade changes nothing twice.
    idle.upgraded()
    honest.upgraded()
    limits.admit('ip4:203.0.113.8')
    expect(dropped).toEqual(['idle'])
  })
})
