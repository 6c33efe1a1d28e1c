import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { buildManifest, signManifest, stationKeyFromSeed } from '@openstudio/protocol'
import { Republisher } from '../src/station/republisher.ts'
import type { PublishResult } from '../src/station/publish.ts'
import { DRAFT, HOUR, seed } from '../../protocol/test/fixtures/draft.ts'

const key = stationKeyFromSeed(seed(1))

function result (seq: number, lifetimeMs = 24 * HOUR): PublishResult {
  const manifest = buildManifest(key.id, DRAFT, { seq, now: Date.now(), lifetimeMs })
  return { id: key.id, seq, stamp: 0, storedOn: 3, providedKeys: 4, manifest, record: signManifest(manifest, key).record }
}

describe('Republisher', () => {
  beforeEach(() => { vi.useFakeTimers() })
  afterEach(() => { vi.useRealTimers() })

  it('publishes at once and again at half the lifetime, with a rising seq', async () => {
    const seen: Array<number | undefined> = []
    const republisher = new Republisher({ publish: async (lastSeq) => { seen.push(lastSeq); return result((lastSeq ?? 0) + 1) } })
    republisher.start()
    await vi.advanceTimersByTimeAsync(0)
    expect(seen).toEqual([undefined])
    await vi.advanceTimersByTimeAsync(12 * HOUR - 1000)
    expect(seen).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(1000)
    expect(seen).toEqual([undefined, 1])
    republisher.stop()
    await vi.advanceTimersByTimeAsync(48 * HOUR)
    expect(seen).toHaveLength(2)
  })

  it('retries failures with doubling backoff', async () => {
    const attempts: number[] = []
    let fail = 3
    const errors: string[] = []
    const republisher = new Republisher({
      retryMs: 1000,
      publish: async () => {
        attempts.push(Date.now())
        if (fail-- > 0) throw new Error('no relay')
        return result(1)
      }
    })
    republisher.addEventListener('publish:error', (e) => errors.push(e.detail.message))
    const done = new Promise((resolve) => republisher.addEventListener('publish:done', resolve))
    republisher.start()
    await vi.advanceTimersByTimeAsync(7000)
    await done
    expect(errors).toEqual(['no relay', 'no relay', 'no relay'])
    const gaps = attempts.slice(1).map((t, i) => t - (attempts[i] as number))
    expect(gaps).toEqual([1000, 2000, 4000])
    republisher.stop()
  })

  it('aborts an in-flight publish on stop', async () => {
    let signal: AbortSignal | undefined
    const republisher = new Republisher({ publish: async (_seq, s) => { signal = s; return new Promise<PublishResult>(() => {}) } })
    republisher.start()
    await vi.advanceTimersByTimeAsync(0)
    republisher.stop()
    expect(signal?.aborted).toBe(true)
  })
})
