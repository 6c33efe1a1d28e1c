/**
 * Publishing a station: sign the manifest (seq beyond any known), put it in
 * the DHT and count the servers that really stored it, add directory
 * provider records, and announce it on the directory topic.
 */
import { logger } from '@libp2p/logger'
import {
  buildManifest, directoryCid, encodeAnnouncement, mintStamp, signManifest, stationRecordKey, TOPIC, verifyStamp,
  type Manifest, type ManifestDraftInput, type StationKey, type Studio
} from '@openstudio/protocol'
import { NotStoredError } from '../errors.ts'
import { resolveStation } from './resolve.ts'
import type { GossipSub } from '@libp2p/gossipsub'
import type { KadDHT } from '@libp2p/kad-dht'
import type { PeerId } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'

const log = logger('openstudio:publish')

/** How long a publish looks for the current record before it signs a new one. */
export const PREVIOUS_LOOKUP_TIMEOUT_MS = 5_000
/**
 * A put that fewer servers stored is made again once the provides are done.
 * A put's walk follows only servers closer to the key than the one that
 * answered, so a new node that knows one relay, the closest to the key,
 * puts to that relay alone (measured: 3 of 30 publishes through a settled
 * chain of 5 relays stored on 1). The provides' walks towards other keys
 * meet more servers, and the second put starts from them.
 */
const WELL_STORED = 2

export interface PublishComponents {
  peerId: PeerId
  dht: Pick<KadDHT, 'get' | 'put' | 'provide'>
  pubsub: Pick<GossipSub, 'publish'>
}

export type PublishStep = 'stamp' | 'lookup' | 'put' | 'provide' | 'announce'

export interface PublishInit {
  /** The station key; a key without a valid `stamp` has one minted first (once per key: keep `PublishResult.stamp`). */
  key: StationKey
  draft: ManifestDraftInput
  /** Relay multiaddrs to list in the manifest. @default [] */
  relays?: string[]
  studio?: Studio
  /** @default 24 hours */
  lifetimeMs?: number
  /** The highest seq this process published before, if any. */
  lastSeq?: number
  signal?: AbortSignal
  onProgress?: (step: PublishStep) => void
  /** While a stamp is minted: hashes tried, and the number expected on average. */
  onStampProgress?: (tried: number, expected: number) => void
  /** A stamp was minted for the key: told at once, so it is kept even when this publish then fails. */
  onStamp?: (stamp: number) => void
}

export interface PublishResult {
  id: string
  seq: number
  /** The key's proof-of-work stamp, minted now or given with the key. */
  stamp: number
  /** DHT servers that confirmed they stored the record. */
  storedOn: number
  /** Directory provider keys that at least one server accepted. */
  providedKeys: number
  manifest: Manifest
  record: Uint8Array
}

/**
 * Publishes a station manifest.
 * @throws {MalformedError} when the draft is invalid
 * @throws {NotStoredError} when no DHT server stored the record
 */
export async function publishStation (components: PublishComponents, init: PublishInit): Promise<PublishResult> {
  const stamp = await stampOf(init)
  init.onProgress?.('lookup')
  const previousSeq = await currentSeq(components, init)
  const now = Date.now()
  const seq = Math.max(now, previousSeq + 1, (init.lastSeq ?? 0) + 1)
  const manifest = buildManifest(init.key.id, init.draft, {
    seq, now, lifetimeMs: init.lifetimeMs, relays: init.relays, studio: init.studio
  })
  const { record } = signManifest(manifest, init.key, stamp)

  // The record and the directory provider records go out together.
  init.onProgress?.('put')
  const dhtKey = stationRecordKey(init.key.id)
  const stored = putCounted(components, dhtKey, record, init.signal)
  init.onProgress?.('provide')
  const keys = [directoryCid(), ...manifest.tags.map((tag) => directoryCid(tag))]
  const provided = Promise.all(keys.map(async (cid) => provideCounted(components, cid, init.signal)))
  const [put, providedCounts] = await Promise.all([stored, provided])
  if (put.storedBy.size < WELL_STORED) {
    const again = await putCounted(components, dhtKey, record, init.signal)
    for (const server of again.storedBy) put.storedBy.add(server)
    put.errors.push(...again.errors)
  }
  if (put.storedBy.size === 0) {
    throw new NotStoredError(put.errors.length > 0
      ? `no DHT server stored the record (${put.errors.length} refused or failed)`
      : 'no DHT server stored the record (no servers reachable)', put.errors)
  }
  log('record stored on %d peers, %d errors', put.storedBy.size, put.errors.length)
  const storedOn = put.storedBy.size

  init.onProgress?.('announce')
  await announce(components, record)
  return { id: init.key.id, seq, stamp, storedOn, providedKeys: providedCounts.filter((n) => n > 0).length, manifest, record }
}

/** The key's stamp, minted when it has none that does the work this node requires (docs/directory.md). */
async function stampOf (init: PublishInit): Promise<number> {
  const given = init.key.stamp
  if (given !== undefined && verifyStamp(init.key.id, given)) return given
  init.onProgress?.('stamp')
  const stamp = await mintStamp(init.key.id, {
    signal: init.signal,
    onProgress: init.onStampProgress,
    yieldTurn: async () => { await new Promise((resolve) => setTimeout(resolve, 0)) }
  })
  log('minted a stamp for %s', init.key.id)
  init.onStamp?.(stamp)
  return stamp
}

async function currentSeq (components: PublishComponents, init: PublishInit): Promise<number> {
  try {
    const { manifest } = await resolveStation(components, init.key.id, { timeoutMs: PREVIOUS_LOOKUP_TIMEOUT_MS, signal: init.signal })
    return manifest.seq
  } catch (err) {
    log('no current record for %s: %s', init.key.id, (err as Error).message)
    return 0
  }
}

/** Puts a record: the remote servers that answered PUT_VALUE (a rejection resets the stream instead), and the errors. */
async function putCounted (components: PublishComponents, key: Uint8Array, record: Uint8Array, signal?: AbortSignal): Promise<{ storedBy: Set<string>, errors: string[] }> {
  const storedBy = new Set<string>()
  const errors: string[] = []
  for await (const event of components.dht.put(key, record, { signal })) {
    if (event.name === 'PEER_RESPONSE' && event.messageName === 'PUT_VALUE' && !event.from.equals(components.peerId)) {
      storedBy.add(event.from.toString())
    } else if (event.name === 'QUERY_ERROR') {
      errors.push(`${event.from.toString()}: ${event.error.message}`)
    }
  }
  return { storedBy, errors }
}

async function provideCounted (components: PublishComponents, cid: CID, signal?: AbortSignal): Promise<number> {
  let accepted = 0
  try {
    for await (const event of components.dht.provide(cid, { signal })) {
      // ADD_PROVIDER has no reply: count the servers it was sent to.
      if (event.name === 'SEND_QUERY' && event.messageName === 'ADD_PROVIDER') accepted++
    }
  } catch (err) {
    log.error('provide %s failed: %s', cid, (err as Error).message)
  }
  return accepted
}

async function announce (components: PublishComponents, record: Uint8Array): Promise<void> {
  try {
    await components.pubsub.publish(TOPIC.directory, encodeAnnouncement({ type: 'station', record }))
  } catch (err) {
    log('announcement not sent: %s', (err as Error).message)
  }
}
