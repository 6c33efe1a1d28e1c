import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { decodeSignal, encodeSignal, MAX_SIGNAL_BYTES, type SignalMessage } from '../src/index.ts'
import { encodeCanonical } from '../src/cbor.ts'

const messages: SignalMessage[] = [
  { type: 'hello', name: 'Alice from Leeds', invite: 'gwFYVaVhZRsAAAGh' },
  { type: 'welcome' },
  { type: 'welcome', pass: 'gwFYWKNhZRsAAAGh_jE0gGFw' },
  { type: 'refused', reason: 'invite-expired' },
  { type: 'description', description: { type: 'offer', sdp: 'v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\n' } },
  { type: 'description', description: { type: 'rollback' } },
  { type: 'candidate', candidate: { candidate: 'candidate:1 1 udp 2122260223 192.0.2.2 50000 typ host', sdpMid: '0', sdpMLineIndex: 0 } },
  { type: 'candidate', candidate: null },
  { type: 'room', envelope: new Uint8Array([0xa3, 1, 2, 3]) },
  { type: 'bye', reason: 'caller left' }
]

describe('signalling messages', () => {
  it.each(messages)('round-trip $type', (message) => {
    expect(decodeSignal(encodeSignal(message))).toEqual(message)
  })

  it('refuses unknown types, extra fields, oversized SDP and garbage', () => {
    const bad = [
      { type: 'shout' },
      { type: 'welcome', extra: 1 },
      { type: 'welcome', pass: 'x'.repeat(385) },
      { type: 'description', description: { type: 'offer', sdp: 'x'.repeat(70_000) } },
      { type: 'hello', name: '' },
      { type: 'room', envelope: new Uint8Array(49 * 1024) },
      { type: 'room', envelope: 'not bytes' }
    ]
    for (const value of bad) expect(() => decodeSignal(encodeCanonical(value))).toThrow(expect.objectContaining({ name: expect.stringMatching(/MalformedError|TooLargeError/) }))
    expect(() => decodeSignal(new Uint8Array(MAX_SIGNAL_BYTES + 1))).toThrow(expect.objectContaining({ name: 'TooLargeError' }))
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), (bytes) => {
      try {
        decodeSignal(bytes)
      } catch (err) {
        expect(['MalformedError', 'TooLargeError']).toContain((err as Error).name)
      }
    }), { numRuns: 300 })
  })
})
