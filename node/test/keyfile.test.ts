import { describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { stationKeyFromSeed } from '@openstudio/protocol'
import { decodeKeyFile, encodeKeyFile } from '../src/keyfile.ts'
import { libp2pKeyOf } from '../src/libp2p/keys.ts'
import { seed } from '../../protocol/test/fixtures/draft.ts'
import vectors from '../../protocol/test/fixtures/vectors.json'

const key = stationKeyFromSeed(seed(1))

describe('station identity against libp2p', () => {
  it('our station id is the PeerId libp2p derives from the same key', () => {
    const libp2pKey = libp2pKeyOf(key)
    expect(libp2pKey.publicKey.toString()).toBe(vectors.stationId)
    expect(peerIdFromString(vectors.stationId).type).toBe('Ed25519')
  })
})

describe('key files', () => {
  it('round-trip', () => {
    expect(decodeKeyFile(encodeKeyFile(key))).toEqual(key)
  })

  it.each([
    ['not JSON', '{'],
    ['wrong type', JSON.stringify({ type: 'x', version: 1, id: key.id, secretKey: 'AA' })],
    ['short key', JSON.stringify({ type: 'openstudio-station-key', version: 1, id: key.id, secretKey: 'mAAAA' })],
    ['id of another key', encodeKeyFile(key).replace(key.id, stationKeyFromSeed(seed(2)).id)],
    ['extra field', JSON.stringify({ ...JSON.parse(encodeKeyFile(key)), extra: 1 })]
  ])('refuses %s with a KeyFileError', (_what, text) => {
    expect(() => decodeKeyFile(text)).toThrow(expect.objectContaining({ name: 'KeyFileError' }))
  })
})
