import { describe, expect, it } from 'vitest'
import { decodeKeyFile, encodeKeyFile, stationKeyFromSeed } from '../src/index.ts'
import { seed } from './fixtures/draft.ts'

const key = stationKeyFromSeed(seed(1))

describe('key files', () => {
  it('round-trip', () => {
    expect(decodeKeyFile(encodeKeyFile(key))).toEqual(key)
  })

  it.each([
    ['not JSON', '{'],
    ['wrong type', JSON.stringify({ type: 'x', version: 1, id: key.id, secretKey: 'AA' })],
    ['short key', JSON.stringify({ type: 'openstudio-station-key', version: 1, id: key.id, secretKey: 'AAAA' })],
    ['id of another key', encodeKeyFile(key).replace(key.id, stationKeyFromSeed(seed(2)).id)],
    ['extra field', JSON.stringify({ ...JSON.parse(encodeKeyFile(key)), extra: 1 })],
    ['huge text', ' '.repeat(10_000)]
  ])('refuses %s with a KeyFileError', (_what, text) => {
    expect(() => decodeKeyFile(text)).toThrow(expect.objectContaining({ name: 'KeyFileError' }))
  })
})
