import { describe, expect, it } from 'vitest'
import { generateStationKey } from '@openstudio/protocol'
import type { Connection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { dialStation, type DialInit } from '../src/dial.ts'

const RELAY = '/ip4/192.0.2.1/tcp/4001/p2p/12D3KooWAz9q1qr1QMGNUtjV1v6gdp1fvQ8HcPFtDbNBrLLFmWYt'
const station = generateStationKey()
const manifest = { id: station.id, relays: [RELAY], studio: undefined }

/**
 * A node whose WebRTC dials follow a script (each entry: a connection after
 * `ms`, or a stall that only the dial's signal ends), whose relayed dials
 * answer at once, and whose station echoes pings.
 */
class ScriptedNode {
  readonly open: FakeConnection[] = []
  readonly log: string[] = []
  private next = 0

  constructor (private readonly webrtc: Array<'connects' | 'stalls' | 'relayed'>) {}

  async dial (addrs: Multiaddr[], { signal }: { signal: AbortSignal }): Promise<Connection> {
    const webrtc = addrs[0]?.toString().includes('/webrtc') === true
    if (!webrtc) return this.connect('relayed')
    const outcome = this.webrtc[this.next++] ?? 'stalls'
    this.log.push(`webrtc ${outcome}`)
    if (outcome === 'connects') return this.connect('webrtc')
    // A relayed connection exists and nothing better came of the dial: libp2p hands that back.
    if (outcome === 'relayed') return this.connect('relayed')
    // The stall leaves a half-open connection behind, as the browser does.
    this.connect('half-open')
    return await new Promise((_resolve, reject) => {
      signal.addEventListener('abort', () => { reject(signal.reason) }, { once: true })
    })
  }

  async dialProtocol (): Promise<unknown> {
    let sent: Uint8Array = new Uint8Array()
    return {
      send: (bytes: Uint8Array) => { sent = bytes; return true },
      close: async () => {},
      async * [Symbol.asyncIterator] () { yield sent }
    }
  }

  async hangUp (): Promise<void> {
    this.log.push('hang up all')
    for (const c of this.open.splice(0)) c.closed = true
  }

  getConnections (_peer?: PeerId): Connection[] {
    return this.open as unknown as Connection[]
  }

  private connect (kind: 'relayed' | 'webrtc' | 'half-open'): Connection {
    const c = new FakeConnection(kind, this)
    this.open.push(c)
    return c as unknown as Connection
  }
}

let ids = 0
class FakeConnection {
  readonly id = `c${ids++}`
  closed = false
  readonly limits?: { seconds: number }
  readonly remoteAddr: { toString: () => string }

  constructor (readonly kind: 'relayed' | 'webrtc' | 'half-open', private readonly node: ScriptedNode) {
    this.limits = kind === 'relayed' ? { seconds: 3600 } : undefined
    this.remoteAddr = { toString: () => `${RELAY}/p2p-circuit${kind === 'relayed' ? '' : '/webrtc'}/p2p/${station.id}` }
  }

  async close (): Promise<void> {
    this.closed = true
    this.node.open.splice(this.node.open.indexOf(this), 1)
    this.node.log.push(`close ${this.kind}`)
  }
}

const short = [20, 20]

async function dial (node: ScriptedNode, init: DialInit): ReturnType<typeof dialStation> {
  return await dialStation(node as unknown as Parameters<typeof dialStation>[0], manifest, init)
}

describe('dialStation', () => {
  it('first: tries WebRTC before the relayed connection, which it falls back to after every attempt stalled', async () => {
    const node = new ScriptedNode(['stalls', 'stalls'])
    const dialed = await dial(node, { webrtcAttemptsMs: short })
    expect(dialed.kind).toBe('relayed')
    expect(dialed.upgrade).toBeUndefined()
    // Each stall is hung up before the next attempt, so it starts clean.
    expect(node.log).toEqual(['webrtc stalls', 'hang up all', 'webrtc stalls', 'hang up all'])
  })

  it('first: returns the direct connection when WebRTC connects', async () => {
    const node = new ScriptedNode(['connects'])
    const dialed = await dial(node, { webrtcAttemptsMs: short })
    expect(dialed.kind).toBe('direct-webrtc')
  })

  it('background: returns the relayed connection without waiting for WebRTC, and upgrades behind it', async () => {
    const node = new ScriptedNode(['stalls', 'connects'])
    const call = new AbortController()
    const dialed = await dial(node, { upgrade: 'background', webrtcAttemptsMs: [60_000, 60_000], signal: call.signal })
    expect(dialed.kind).toBe('relayed')
    // The first attempt is still stalled: the dial did not wait for it.
    expect(node.log).toEqual(['webrtc stalls'])
    call.abort()
    expect(await dialed.upgrade).toBeUndefined()
  })

  it('background: a stalled attempt closes its half-open connection, never the relayed one a call is using', async () => {
    const node = new ScriptedNode(['stalls', 'connects'])
    const dialed = await dial(node, { upgrade: 'background', webrtcAttemptsMs: short })
    const direct = await dialed.upgrade
    expect(direct !== undefined && (direct as unknown as FakeConnection).kind).toBe('webrtc')
    expect(node.log).toEqual(['webrtc stalls', 'close half-open', 'webrtc connects'])
    expect((dialed.connection as unknown as FakeConnection).closed).toBe(false)
  })

  it('background: every attempt failing leaves the call on the relayed connection', async () => {
    const node = new ScriptedNode(['stalls', 'relayed'])
    const dialed = await dial(node, { upgrade: 'background', webrtcAttemptsMs: short })
    expect(await dialed.upgrade).toBeUndefined()
    expect((dialed.connection as unknown as FakeConnection).closed).toBe(false)
  })

  it('never: the relayed connection alone', async () => {
    const node = new ScriptedNode(['connects'])
    const dialed = await dial(node, { upgrade: 'never' })
    expect(dialed.kind).toBe('relayed')
    expect(node.log).toEqual([])
  })
})
