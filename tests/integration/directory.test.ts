/**
 * The DHT directory through real relays on loopback: five relays in a chain,
 * stations published through one and found through another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listDirectory, resolveStation, type OpenStudioNode } from '@openstudio/node'
import type { Relay } from '@openstudio/relay'
import { clientOf, draftFor, publishThrough, startRelayChain, stopAll } from '../src/network.ts'

describe('directory over a chain of five relays', () => {
  let relays: Relay[]
  let client: OpenStudioNode

  beforeAll(async () => {
    relays = await startRelayChain(5)
    client = await clientOf(relays[4] as Relay)
  })

  afterAll(async () => {
    await client?.stop()
    await stopAll(relays ?? [])
  })

  it('resolves through relay 5 a station published through relay 1', async () => {
    const published = await publishThrough(relays[0] as Relay, draftFor(1))
    expect(published.storedOn).toBeGreaterThanOrEqual(1)
    const { manifest } = await resolveStation(client.services, published.id)
    expect(manifest).toEqual(published.manifest)
  })

  it('lists 30 stations published through various relays, and filters by tag', async () => {
    const published = []
    for (let i = 0; i < 30; i++) {
      const tags = i % 3 === 0 ? ['talk', 'news'] : ['music']
      published.push(await publishThrough(relays[i % 5] as Relay, draftFor(100 + i, tags)))
    }
    const all = await listDirectory(client.services)
    const ids = new Set(all.map((s) => s.manifest.id))
    for (const p of published) expect(ids.has(p.id), `station ${p.manifest.name}`).toBe(true)

    const news = await listDirectory(client.services, { tag: 'news' })
    const expected = published.filter((p) => p.manifest.tags.includes('news')).map((p) => p.id).sort()
    expect(news.map((s) => s.manifest.id).sort()).toEqual(expected)
    expect(news.every((s) => s.manifest.tags.includes('news'))).toBe(true)
  })

  it('a republished station resolves to its newest manifest', async () => {
    const first = await publishThrough(relays[1] as Relay, draftFor(500))
    const second = await publishThrough(relays[3] as Relay, { ...draftFor(500), name: 'Renamed Station' }, first.key)
    expect(second.seq).toBeGreaterThan(first.seq)
    const { manifest } = await resolveStation(client.services, first.id)
    expect(manifest.name).toBe('Renamed Station')
    expect(manifest.seq).toBe(second.seq)
  })
})
