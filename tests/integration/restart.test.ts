/**
 * A relay restarted with the same data directory keeps its peer id and still
 * serves the records it stored, and lists them in its directory index.
 */
import { afterAll, describe, expect, it } from 'vitest'
import { resolveStation } from '@openstudio/node'
import type { Relay } from '@openstudio/relay'
import { clientOf, draftFor, publishThrough, removeDir, startRelay, tempDir } from '../src/network.ts'

describe('relay restart', () => {
  const cleanup: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn()
  })

  it('keeps its identity and the records it stored', async () => {
    const dataDir = await tempDir()
    cleanup.push(async () => removeDir(dataDir))
    const first = await startRelay({ dataDir })
    const published = await publishThrough(first, draftFor(7))
    expect(published.storedOn).toBe(1)
    const peerId = first.peerId
    expect((await first.health()).records).toBe(1)
    await first.stop()

    const second: Relay = await startRelay({ dataDir })
    cleanup.push(async () => second.stop())
    expect(second.peerId).toBe(peerId)
    expect((await second.health()).records).toBe(1)
    // Its directory index holds the station again, from its own store.
    expect(second.directory.index.get(published.id)?.manifest).toEqual(published.manifest)
    const client = await clientOf(second)
    cleanup.push(async () => client.stop())
    const { manifest } = await resolveStation(client.services, published.id)
    expect(manifest).toEqual(published.manifest)
  })
})
