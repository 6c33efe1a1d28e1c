import { describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { stationKeyFromSeed } from '@openstudio/protocol'
import { libp2pKeyOf } from '../src/libp2p/keys.ts'
import { seed } from '../../protocol/test/fixtures/draft.ts'
import vectors from '../../protocol/test/fixtures/vectors.json'

describe('station identity against libp2p', () => {
  it('our station id is the PeerId libp2p derives from the same key', () => {
    expect(libp2pKeyOf(stationKeyFromSeed(seed(1))).publicKey.toString()).toBe(vectors.stationId)
    expect(peerIdFromString(vectors.stationId).type).toBe('Ed25519')
  })
})
