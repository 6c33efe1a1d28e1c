import { describe, expect, it } from 'vitest'
import {
  buildManifest, decodeProgramDown, decodeProgramUp, encodeProgramDown, encodeProgramUp, generateStationKey, MAX_OGG_PAGE_BYTES,
  MAX_PROGRAM_MESSAGE_BYTES, signManifest, type ProgramDown, type ProgramUp
} from '../src/index.ts'
import { encodeCanonical } from '../src/cbor.ts'

const key = generateStationKey()
const record = signManifest(buildManifest(key.id, {
  name: 'Program Radio', language: 'en', country: 'NL', homepage: 'https://example.org/', streams: [{ url: 'https://stream.example.org/live.ogg', codec: 'opus', bitrate: 96, mount: '/live.ogg' }]
}, { seq: 1, now: Date.now() }), key).record

const up: ProgramUp[] = [
  { type: 'start', record, format: 'ogg-opus', bitrate: 96, channels: 2, sampleRate: 48_000 },
  { type: 'start', record, format: 'webm-opus', bitrate: 64, channels: 1, sampleRate: 48_000 },
  { type: 'data', bytes: new Uint8Array(MAX_OGG_PAGE_BYTES).fill(7) },
  { type: 'end' }
]
const down: ProgramDown[] = [
  { type: 'accepted', mount: '/live.ogg', listenUrl: 'https://stream.example.org/live.ogg' },
  { type: 'refused', reason: 'not-station' },
  { type: 'status', icecast: 'reconnecting', attempt: 3, backlogMs: 2500, bufferedMs: 30_000, bytesIn: 1e6, bytesOut: 9e5, reconnects: 1, error: 'connect ECONNREFUSED 127.0.0.1:8000' },
  { type: 'status', icecast: 'connected', attempt: 0, listeners: 12, backlogMs: 0, bufferedMs: 4000, bytesIn: 0, bytesOut: 0, reconnects: 0 }
]

describe('program stream messages', () => {
  it.each(up)('round-trip studio → relay $type', (message) => {
    expect(decodeProgramUp(encodeProgramUp(message))).toEqual(message)
  })

  it.each(down)('round-trip relay → studio $type', (message) => {
    expect(decodeProgramDown(encodeProgramDown(message))).toEqual(message)
  })

  it('refuses what a studio must not send: empty or oversized data, other formats and rates, unknown fields', () => {
    const bad = [
      { type: 'data', bytes: new Uint8Array(0) },
      { type: 'data', bytes: new Uint8Array(MAX_OGG_PAGE_BYTES + 1) },
      { type: 'start', record, format: 'mp3', bitrate: 96, channels: 2, sampleRate: 48_000 },
      { type: 'start', record, format: 'ogg-opus', bitrate: 1000, channels: 2, sampleRate: 48_000 },
      { type: 'start', record, format: 'ogg-opus', bitrate: 96, channels: 6, sampleRate: 48_000 },
      { type: 'start', record, format: 'ogg-opus', bitrate: 96, channels: 2, sampleRate: 44_100 },
      { type: 'start', record: new Uint8Array(20 * 1024), format: 'ogg-opus', bitrate: 96, channels: 2, sampleRate: 48_000 },
      { type: 'end', reason: 'extra' },
      { type: 'play' }
    ]
    for (const message of bad) expect(() => decodeProgramUp(encodeCanonical(message))).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(() => decodeProgramUp(new Uint8Array(MAX_PROGRAM_MESSAGE_BYTES + 1))).toThrow(expect.objectContaining({ name: 'TooLargeError' }))
    expect(() => decodeProgramUp(Uint8Array.of(0xff, 0x00, 0x13))).toThrow(expect.objectContaining({ name: 'MalformedError' }))
  })

  it('refuses a relay answer with a listener URL that is not http(s), or an overlong error', () => {
    expect(() => decodeProgramDown(encodeCanonical({ type: 'accepted', mount: '/live.ogg', listenUrl: 'javascript:alert(1)' }))).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(() => decodeProgramDown(encodeCanonical({ ...down[3], error: 'x'.repeat(201) }))).toThrow(expect.objectContaining({ name: 'MalformedError' }))
  })
})
