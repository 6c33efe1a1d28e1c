import { describe, expect, it } from 'vitest'
import { buildManifest, generateStationKey, type ListenerReport } from '@openstudio/protocol'
import { listenersFor } from '../src/services/listeners.ts'

const listed = generateStationKey().id
const unlisted = generateStationKey().id
const key = generateStationKey()
const now = Date.now()
const manifest = buildManifest(key.id, {
  name: 'Listened Radio', language: 'en', country: 'NL', homepage: 'https://example.org/', streams: [{ url: 'https://stream.example.org/live.ogg', codec: 'opus', bitrate: 96, mount: '/live.ogg' }]
}, { seq: 1, now, relays: [`/dns4/relay.example.org/tcp/443/wss/p2p/${listed}`] })
const report = (relay: string, listeners: number, at: number): ListenerReport => ({ station: key.id, relay, mount: '/live.ogg', listeners, at })

describe('the listener count shown for a station', () => {
  it('is the newest fresh report of a relay the station lists', () => {
    expect(listenersFor(manifest, [report(listed, 3, now - 5000), report(listed, 7, now - 1000)], now)).toEqual({ count: 7, relay: listed, at: now - 1000 })
  })

  it('ignores relays the station does not list, other stations, and stale reports', () => {
    expect(listenersFor(manifest, [report(unlisted, 1000, now)], now)).toBeUndefined()
    expect(listenersFor(manifest, [{ ...report(listed, 5, now), station: unlisted }], now)).toBeUndefined()
    expect(listenersFor(manifest, [report(listed, 5, now - 3 * 60_000)], now)).toBeUndefined()
  })
})
