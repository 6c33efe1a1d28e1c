import { describe, expect, it } from 'vitest'
import { buildManifest, signManifest, stationKeyFromSeed, stationRecordKey } from '@openstudio/protocol'
import { createRecordCache } from '../src/libp2p/record-cache.ts'
import { DRAFT, HOUR, seed, T0 } from '../../protocol/test/fixtures/draft.ts'

const key = stationKeyFromSeed(seed(1))
const other = stationKeyFromSeed(seed(2))
const { record, manifest } = signManifest(buildManifest(key.id, DRAFT, { seq: 1, now: T0, lifetimeMs: HOUR }), key)

describe('record verification cache', () => {
  it('answers repeated checks of the same bytes alike', () => {
    const { validate } = createRecordCache(4)
    expect(validate(stationRecordKey(key.id), record, T0)).toEqual({ ok: true, value: manifest })
    expect(validate(stationRecordKey(key.id), record, T0 + 1000)).toEqual({ ok: true, value: manifest })
  })

  it('still checks expiry and the key on a cached record', () => {
    const { validate } = createRecordCache(4)
    validate(stationRecordKey(key.id), record, T0)
    const wrongKey = validate(stationRecordKey(other.id), record, T0)
    expect(wrongKey.ok || wrongKey.error.name).toBe('WrongStationError')
    const expired = validate(stationRecordKey(key.id), record, T0 + HOUR)
    expect(expired.ok || expired.error.name).toBe('ExpiredError')
  })

  it('never caches a record that failed', () => {
    const { validate } = createRecordCache(4)
    const forged = Uint8Array.from(record)
    forged[forged.length - 1] = (forged.at(-1) as number) ^ 1
    expect(validate(stationRecordKey(key.id), forged, T0).ok).toBe(false)
    expect(validate(stationRecordKey(key.id), forged, T0).ok).toBe(false)
  })

  it('verifies a record on its own once, and still checks its expiry', () => {
    const { verify } = createRecordCache(4)
    expect(verify(record, T0)).toEqual({ ok: true, value: manifest })
    expect(verify(record, T0 + 1000)).toEqual({ ok: true, value: manifest })
    const expired = verify(record, T0 + HOUR)
    expect(expired.ok || expired.error.name).toBe('ExpiredError')
  })

  it('shares what it verified between a record under its key and on its own', () => {
    const cache = createRecordCache(4)
    cache.verify(record, T0)
    const wrongKey = cache.validate(stationRecordKey(other.id), record, T0)
    expect(wrongKey.ok || wrongKey.error.name).toBe('WrongStationError')
    expect(cache.validate(stationRecordKey(key.id), record, T0)).toEqual({ ok: true, value: manifest })
  })
})
