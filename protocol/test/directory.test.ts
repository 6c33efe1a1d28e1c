import { describe, expect, it } from 'vitest'
import { decodeProviderFrame, encodeProviderFrame, MAX_PROVIDER_FRAME_BYTES, PROVIDERS_PER_FRAME, stationKeyFromSeed } from '../src/index.ts'
import { encodeCanonical } from '../src/cbor.ts'
import { seed } from './fixtures/draft.ts'

const ids = Array.from({ length: PROVIDERS_PER_FRAME }, (_, i) => stationKeyFromSeed(seed(i + 1)).id)

describe('provider frames of a records answer', () => {
  it('carry up to PROVIDERS_PER_FRAME station ids, within the frame bound', () => {
    const frame = encodeProviderFrame(ids)
    expect(frame.byteLength).toBeLessThanOrEqual(MAX_PROVIDER_FRAME_BYTES)
    expect(decodeProviderFrame(frame)).toEqual(ids)
    expect(decodeProviderFrame(encodeProviderFrame([]))).toEqual([])
  })

  it('refuse more ids, ids that are not station ids, other shapes, oversized frames and garbage', () => {
    const malformed = expect.objectContaining({ name: 'MalformedError' })
    expect(() => encodeProviderFrame([...ids, ids[0] as string])).toThrow(malformed)
    expect(() => decodeProviderFrame(encodeCanonical([...ids, ids[0]]))).toThrow(malformed)
    expect(() => decodeProviderFrame(encodeCanonical(['QmNotAStation']))).toThrow(malformed)
    expect(() => decodeProviderFrame(encodeCanonical({ ids }))).toThrow(malformed)
    expect(() => decodeProviderFrame(encodeCanonical([new Uint8Array(38)]))).toThrow(malformed)
    expect(() => decodeProviderFrame(new Uint8Array(MAX_PROVIDER_FRAME_BYTES + 1))).toThrow(expect.objectContaining({ name: 'TooLargeError' }))
    expect(() => decodeProviderFrame(Uint8Array.of(0xff, 0x00))).toThrow(malformed)
  })
})
