import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { silentPacket } from '../src/icecast/fallback.ts'

/** Reads a code 3 Opus packet with one frame and padding (RFC 6716 §3.2.5): the frame and the padding length. */
function readPadded (packet: Uint8Array): { toc: number, frame: Uint8Array, padding: number } {
  expect((packet[0] as number) & 3).toBe(3)
  expect(packet[1]).toBe(0x41) // one frame, CBR, padding follows
  let offset = 2
  let padding = 0
  for (;;) {
    const byte = packet[offset++] as number
    padding += byte === 255 ? 254 : byte
    if (byte !== 255) break
  }
  return { toc: packet[0] as number, frame: packet.subarray(offset, packet.length - padding), padding }
}

describe('silent Opus packets for the fallback mount', () => {
  it('are exactly as long as asked (from 5 bytes), hold the silent CELT frame, and pad with zeros', () => {
    fc.assert(fc.property(fc.integer({ min: 5, max: 4000 }), fc.constantFrom<1 | 2>(1, 2), (bytes, channels) => {
      const packet = silentPacket(channels, bytes)
      expect(packet.length).toBe(bytes)
      const { toc, frame, padding } = readPadded(packet)
      expect(toc).toBe(channels === 2 ? 0xff : 0xfb)
      expect([...frame]).toEqual([0xff, 0xfe])
      expect(packet.subarray(packet.length - padding).every((b) => b === 0)).toBe(true)
    }))
  })
})
