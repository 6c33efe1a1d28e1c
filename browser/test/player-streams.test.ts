import { describe, expect, it } from 'vitest'
import { playOrder, streamKind, type PlayerCaps } from '../src/services/player/streams.ts'

const ogg = { url: 'https://edge.example/live.ogg', codec: 'opus', bitrate: 96, mount: '/live.ogg' }
const originOgg = { url: 'https://origin.example/live.ogg', codec: 'opus', bitrate: 96, mount: '/live.ogg' }
const mp3 = { url: 'https://origin.example/live.mp3', codec: 'mp3', bitrate: 128, mount: '/live.mp3' }
const hls = { url: 'https://relay.example/hls/live.m3u8', codec: 'aac', bitrate: 96, mount: '/live.m3u8' }
const every: PlayerCaps = { ogg: true, webm: true, mp3: true, aac: true, nativeHls: true, mse: true }
const order = (caps: Partial<PlayerCaps>): string[] => playOrder([hls, mp3, ogg, originOgg], { ...every, ...caps }).map((c) => `${c.stream.url} ${c.way}`)

describe('which stream a browser plays', () => {
  it('knows a stream by its URL and codec', () => {
    expect([ogg, mp3, hls].map(streamKind)).toEqual(['ogg', 'mp3', 'hls'])
    expect(streamKind({ ...ogg, url: 'https://x.example/live.webm' })).toBe('webm')
    expect(streamKind({ ...ogg, url: 'not a url' })).toBe('other')
    expect(streamKind({ ...ogg, codec: 'flac' })).toBe('other')
  })

  it('prefers Ogg Opus in the listed order, then native HLS, then MP3; hls.js only when nothing else plays', () => {
    expect(order({})).toEqual([
      'https://edge.example/live.ogg native', 'https://origin.example/live.ogg native', 'https://relay.example/hls/live.m3u8 native', 'https://origin.example/live.mp3 native'
    ])
    // An old iPhone: no Ogg, native HLS.
    expect(order({ ogg: false, webm: false, mse: false })).toEqual(['https://relay.example/hls/live.m3u8 native', 'https://origin.example/live.mp3 native'])
    // No Ogg, no native HLS: MP3 first, then HLS through hls.js.
    expect(order({ ogg: false, nativeHls: false })).toEqual(['https://origin.example/live.mp3 native', 'https://relay.example/hls/live.m3u8 hls.js'])
    expect(order({ ogg: false, nativeHls: false, mp3: false, mse: false })).toEqual([])
  })
})
