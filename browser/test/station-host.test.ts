import { afterEach, describe, expect, it } from 'vitest'
import { NoRelayError, NotStoredError, REPUBLISH_DEFAULTS, type PublishResult } from '@openstudio/network'
import { generateStationKey, LIVE_CLAIM_REFRESH_MS, LIVE_CLAIM_TTL_MS, type ManifestDraftInput, type StationKey } from '@openstudio/protocol'
import { StationHost, type StampMinted, type StampProgress } from '../src/services/station-host.ts'
import { fakeStationParts, LIFETIME_MS, type FakeStationNode, type FakeStationParts, type PublishCall } from './fakes/station-parts.ts'
import { Gate } from './fakes/studio-parts.ts'
import { settle, until } from './fakes/wait.ts'
import { DRAFT } from '../../protocol/test/fixtures/draft.ts'

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0)
const station = generateStationKey()
const relayA = `/dns4/a.relay.test/tcp/443/wss/p2p/${generateStationKey().id}`
const relayB = `/dns4/b.relay.test/tcp/443/wss/p2p/${generateStationKey().id}`
const draft: ManifestDraftInput = DRAFT

const hosts: StationHost<FakeStationNode>[] = []
afterEach(async () => {
  await Promise.all(hosts.splice(0).map(async (h) => h.stop()))
})

interface Rig {
  host: StationHost<FakeStationNode>
  parts: FakeStationParts
  done: PublishResult[]
  errors: Error[]
  /** Every event but errors, in order, as a line: `publish:step stamp`, `stamp:progress 40/256`, `stamp:minted 417 for the station`, `publish:done #1`. */
  told: string[]
}

/** A station host on in-memory parts, with its events kept. */
function rig (key: StationKey = station): Rig {
  const parts = fakeStationParts(key, () => T0)
  const host = new StationHost(parts.components, { key, relays: [relayA, relayB] })
  hosts.push(host)
  const done: PublishResult[] = []
  const errors: Error[] = []
  const told: string[] = []
  host.addEventListener('publish:done', (e) => { done.push(e.detail); told.push(`publish:done #${e.detail.seq}`) })
  host.addEventListener('publish:error', (e) => { errors.push(e.detail) })
  host.addEventListener('publish:step', (e) => { told.push(`publish:step ${e.detail}`) })
  host.addEventListener('stamp:progress', (e: CustomEvent<StampProgress>) => { told.push(`stamp:progress ${e.detail.tried}/${e.detail.expected}`) })
  host.addEventListener('stamp:minted', (e: CustomEvent<StampMinted>) => { told.push(`stamp:minted ${e.detail.stamp} for ${e.detail.id === key.id ? 'the station' : e.detail.id}`) })
  return { host, parts, done, errors, told }
}

/** The next publish the host begins. */
async function nextPublish (parts: FakeStationParts, n: number): Promise<PublishCall> {
  return until(`publish #${n}`, () => parts.publishes[n - 1])
}

/** The wait the republisher is in, once it is in one. */
async function nextWait (parts: FakeStationParts): Promise<number> {
  return until('the republisher to wait', () => parts.pauses.waiting[0]?.ms)
}

describe('StationHost', () => {
  it('starts once however often asked: a node on the station key, the ping handler, a reservation on a relay', async () => {
    const { host, parts } = rig()
    await Promise.all([host.start(), host.start()])
    await host.start()
    expect(parts.nodes).toHaveLength(1)
    expect(parts.pingsHandled).toBe(1)
    expect(parts.joins).toEqual([[relayA, relayB]])
    expect(host.node).toBe(parts.nodes[0])
    expect(host.isRunning).toBe(true)
    // The manifest lists the relay the node holds a reservation on.
    expect(host.relays).toEqual([relayA])
  })

  it('stops once however often asked: the ping handler goes, the node stops, and nothing works after', async () => {
    const { host, parts } = rig()
    await host.start()
    await Promise.all([host.stop(), host.stop()])
    await host.stop()
    expect(parts.pingsUnhandled).toBe(1)
    expect(parts.nodes[0]?.stops).toBe(1)
    expect(host.isRunning).toBe(false)
    expect(() => host.node).toThrow(expect.objectContaining({ name: 'StationHostNotRunningError' }))
    await expect(host.publish(draft)).rejects.toMatchObject({ name: 'StationHostNotRunningError' })
    await expect(host.start()).rejects.toMatchObject({ name: 'StationHostStoppedError' })
    expect(parts.nodes).toHaveLength(1)
  })

  it('a stop while the node starts leaves nothing running: the node that comes up late is stopped', async () => {
    const { host, parts } = rig()
    parts.nodeGate = new Gate()
    const starting = host.start()
    await settle()
    const stopping = host.stop()
    parts.nodeGate.open()
    await expect(starting).rejects.toMatchObject({ name: 'StationHostStoppedError' })
    await stopping
    expect(parts.nodes).toHaveLength(1)
    expect(parts.nodes[0]?.stops).toBe(1)
    expect(parts.pingsHandled).toBe(0)
    expect(parts.joins).toHaveLength(0)
  })

  it('a stop while the ping handler registers removes it once it is there, and stops the node', async () => {
    const { host, parts } = rig()
    parts.pingGate = new Gate()
    const starting = host.start()
    await until('the node', () => parts.nodes[0])
    const stopping = host.stop()
    parts.pingGate.open()
    await expect(starting).rejects.toMatchObject({ name: 'StationHostStoppedError' })
    await stopping
    expect(parts.pingsHandled).toBe(1)
    expect(parts.pingsUnhandled).toBe(1)
    expect(parts.nodes[0]?.stops).toBe(1)
    expect(parts.joins).toHaveLength(0)
  })

  it('a stop while it joins the relays removes the ping handler and stops the node', async () => {
    const { host, parts } = rig()
    parts.relayGate = new Gate()
    const starting = host.start()
    await until('the relay join', () => parts.joins[0])
    const stopping = host.stop()
    parts.relayGate.open()
    await expect(starting).rejects.toMatchObject({ name: 'StationHostStoppedError' })
    await stopping
    expect(parts.pingsUnhandled).toBe(1)
    expect(parts.nodes[0]?.stops).toBe(1)
    expect(() => host.node).toThrow(expect.objectContaining({ name: 'StationHostNotRunningError' }))
  })

  it('a start abandoned through its signal rejects with the signal\'s reason and leaves nothing running', async () => {
    const { host, parts } = rig()
    parts.relayGate = new Gate()
    const abort = new AbortController()
    const starting = host.start({ signal: abort.signal })
    await until('the relay join', () => parts.joins[0])
    abort.abort(new DOMException('the page was closed', 'AbortError'))
    parts.relayGate.open()
    await expect(starting).rejects.toMatchObject({ name: 'AbortError' })
    expect(parts.pingsUnhandled).toBe(parts.pingsHandled)
    expect(parts.nodes[0]?.stops).toBe(1)
    await expect(host.start()).rejects.toMatchObject({ name: 'StationHostStoppedError' })
  })

  it('rolls back a start whose relays cannot be reached, and rejects with the typed error', async () => {
    const { host, parts } = rig()
    parts.relayError = new NoRelayError('no relay could be reached')
    await expect(host.start()).rejects.toMatchObject({ name: 'NoRelayError' })
    expect(parts.pingsUnhandled).toBe(1)
    expect(parts.nodes[0]?.stops).toBe(1)
    expect(host.isRunning).toBe(false)
  })

  it('publishes at once, then republishes at half the manifest\'s lifetime, each with a higher seq', async () => {
    const { host, parts, done } = rig()
    await host.start()
    const publishing = host.publish(draft)
    const first = await nextPublish(parts, 1)
    expect(first.init).toEqual({
      key: station, draft, relays: [relayA], studio: undefined, lastSeq: undefined, onProgress: expect.any(Function), onStampProgress: expect.any(Function), onStamp: expect.any(Function)
    })
    const result = first.succeed()
    await expect(publishing).resolves.toBe(result)
    expect(done).toEqual([result])
    expect(host.lastPublished).toBe(result)
    expect(host.published).toBe(draft)

    expect(await nextWait(parts)).toBe(LIFETIME_MS * REPUBLISH_DEFAULTS.fraction)
    expect(parts.publishes).toHaveLength(1)
    parts.pauses.elapse()
    const second = await nextPublish(parts, 2)
    expect(second.init.lastSeq).toBe(result.seq)
    const again = second.succeed()
    await until('the republish to be done', () => done.length === 2)
    expect(host.lastPublished).toBe(again)
    expect(await nextWait(parts)).toBe(LIFETIME_MS * REPUBLISH_DEFAULTS.fraction)
    expect(parts.publishes).toHaveLength(2)
  })

  it('mints the key\'s stamp once: tells its progress and the stamp, and every publish after carries it', async () => {
    const { host, parts, told } = rig()
    await host.start()
    const publishing = host.publish(draft)
    const first = await nextPublish(parts, 1)
    expect(first.init.key.stamp).toBeUndefined()
    first.mint([40, 256], [300, 256])
    const result = first.succeed(417)
    await expect(publishing).resolves.toBe(result)
    // The stamp is told as soon as it is minted, before the publish goes on: the page stores it even if the publish then fails.
    expect(told).toEqual(['publish:step stamp', 'stamp:progress 40/256', 'stamp:progress 300/256', 'stamp:minted 417 for the station', 'publish:step lookup', 'publish:done #1'])
    expect(host.key).toEqual({ ...station, stamp: 417 })

    // The republish, and a publish asked for, use the stamp: nothing is minted or told again.
    await nextWait(parts)
    parts.pauses.elapse()
    const second = await nextPublish(parts, 2)
    expect(second.init.key).toEqual({ ...station, stamp: 417 })
    expect(second.succeed().stamp).toBe(417)
    const renamed = host.publish({ ...draft, name: 'Radio Kestrel Live' })
    const third = await nextPublish(parts, 3)
    expect(third.init.key.stamp).toBe(417)
    third.succeed()
    await renamed
    expect(told.slice(6)).toEqual(['publish:step lookup', 'publish:done #2', 'publish:step lookup', 'publish:done #3'])
  })

  it('a key that comes with its stamp is published with it, and nothing is minted', async () => {
    const { host, parts, told } = rig({ ...station, stamp: 5 })
    await host.start()
    const publishing = host.publish(draft)
    const first = await nextPublish(parts, 1)
    expect(first.init.key.stamp).toBe(5)
    first.succeed()
    expect((await publishing).stamp).toBe(5)
    expect(told).toEqual(['publish:step lookup', 'publish:done #1'])
  })

  it('a failed publish rejects with its typed error, and is retried with a doubling backoff that a success resets', async () => {
    const { host, parts, errors, done } = rig()
    await host.start()
    const publishing = host.publish(draft)
    ;(await nextPublish(parts, 1)).fail(new NotStoredError('no DHT server stored the record'))
    await expect(publishing).rejects.toMatchObject({ name: 'NotStoredError' })
    expect(errors.map((e) => e.name)).toEqual(['NotStoredError'])

    expect(await nextWait(parts)).toBe(REPUBLISH_DEFAULTS.retryMs)
    parts.pauses.elapse()
    ;(await nextPublish(parts, 2)).fail(new NotStoredError('still not stored'))
    expect(await nextWait(parts)).toBe(REPUBLISH_DEFAULTS.retryMs * 2)
    parts.pauses.elapse()
    ;(await nextPublish(parts, 3)).succeed()
    await until('the retry to be done', () => done.length === 1)
    expect(await nextWait(parts)).toBe(LIFETIME_MS * REPUBLISH_DEFAULTS.fraction)
    expect(errors).toHaveLength(2)
  })

  it('an on-air change republishes at once with the studio\'s state, and every republish after carries it', async () => {
    const { host, parts } = rig()
    await host.start()
    await expect(host.publishStudio({ peer: station.id, onAir: true })).rejects.toMatchObject({ name: 'NotPublishedError' })
    const publishing = host.publish(draft)
    ;(await nextPublish(parts, 1)).succeed()
    await publishing
    await nextWait(parts)

    // The studio went on air while the republisher waited: it publishes now, not at the schedule.
    const onAir = host.publishStudio({ peer: station.id, onAir: true })
    const live = await nextPublish(parts, 2)
    expect(parts.pauses.waiting).toHaveLength(0)
    // An on-air claim holds for LIVE_CLAIM_TTL_MS, and is renewed every LIVE_CLAIM_REFRESH_MS while on air.
    const claim = { peer: station.id, onAir: true, liveUntil: T0 + LIVE_CLAIM_TTL_MS }
    expect(live.init.studio).toEqual(claim)
    expect(live.init.draft).toBe(draft)
    const result = live.succeed()
    await expect(onAir).resolves.toBe(result)
    expect(result.manifest.studio).toEqual(claim)

    expect(await nextWait(parts)).toBe(LIVE_CLAIM_REFRESH_MS)
    parts.pauses.elapse()
    ;(await nextPublish(parts, 3)).succeed()
    expect(parts.publishes[2]?.init.studio).toEqual(claim)

    // Off air: no claim, and the schedule of the manifest's lifetime again.
    const offAir = host.publishStudio({ peer: station.id, onAir: false })
    ;(await nextPublish(parts, 4)).succeed()
    await offAir
    expect(parts.publishes[3]?.init.studio).toEqual({ peer: station.id, onAir: false })
    expect(await nextWait(parts)).toBeGreaterThan(LIVE_CLAIM_REFRESH_MS)
  })

  it('one publish at a time: what is asked during one is published next, once, with the newest fields', async () => {
    const { host, parts } = rig()
    await host.start()
    const first = host.publish(draft)
    const inFlight = await nextPublish(parts, 1)
    const renamed = { ...draft, name: 'Radio Kestrel Live' }
    const second = host.publish(renamed)
    const third = host.publishStudio({ peer: station.id, onAir: true })
    await settle()
    expect(parts.publishes).toHaveLength(1)
    const firstResult = inFlight.succeed()
    await expect(first).resolves.toBe(firstResult)
    const next = await nextPublish(parts, 2)
    expect(next.init).toMatchObject({ draft: renamed, studio: { peer: station.id, onAir: true }, lastSeq: firstResult.seq })
    const nextResult = next.succeed()
    await expect(second).resolves.toBe(nextResult)
    await expect(third).resolves.toBe(nextResult)
    await nextWait(parts)
    expect(parts.publishes).toHaveLength(2)
  })

  it('a stop during a publish aborts it, tells whoever waits, and ends the schedule', async () => {
    const { host, parts, done } = rig()
    await host.start()
    const publishing = host.publish(draft)
    const inFlight = await nextPublish(parts, 1)
    await host.stop()
    expect(inFlight.signal?.aborted).toBe(true)
    await expect(publishing).rejects.toMatchObject({ name: 'StationHostStoppedError' })
    // The publish ends late, after all: nothing more happens.
    inFlight.succeed()
    await settle()
    expect(done).toHaveLength(0)
    expect(host.lastPublished).toBeUndefined()
    expect(parts.pauses.waiting).toHaveLength(0)
    expect(parts.nodes[0]?.stops).toBe(1)
  })

  it('a stop while the republisher waits ends the wait', async () => {
    const { host, parts } = rig()
    await host.start()
    const publishing = host.publish(draft)
    ;(await nextPublish(parts, 1)).succeed()
    await publishing
    await nextWait(parts)
    await host.stop()
    expect(parts.pauses.waiting).toHaveLength(0)
    await settle()
    expect(parts.publishes).toHaveLength(1)
  })

  it('a signal abandons the wait for a publish, not the publish', async () => {
    const { host, parts, done } = rig()
    await host.start()
    const abort = new AbortController()
    const publishing = host.publish(draft, { signal: abort.signal })
    const call = await nextPublish(parts, 1)
    abort.abort(new DOMException('the form was closed', 'AbortError'))
    await expect(publishing).rejects.toMatchObject({ name: 'AbortError' })
    expect(call.signal?.aborted).toBe(false)
    const result = call.succeed()
    await until('the publish to be done', () => done.length === 1)
    expect(host.lastPublished).toBe(result)
  })
})
