/**
 * In-memory parts for a station's own node: a node that counts its stops, a
 * ping handler and a relay join that a `Gate` can hold back (they do not
 * look at the abort: the host must clean up whatever arrives late), and
 * publishes the test settles one by one, each signing a real manifest (and
 * minting a stamp, when the test says so, as publishStation does).
 */
import type { PublishResult } from '@openstudio/network'
import { buildManifest, signManifest, type StationKey } from '@openstudio/protocol'
import type { StationHostComponents, StationNode, StationPublishInit } from '../../src/services/station-host.ts'
import { ManualPauses } from './caller-parts.ts'
import type { Gate } from './studio-parts.ts'

/** A station's node: its addresses are what the test (or the relay join) gives it. */
export class FakeStationNode implements StationNode {
  readonly addresses: string[] = []
  stops = 0

  getMultiaddrs (): Array<{ toString: () => string }> {
    return this.addresses.map((address) => ({ toString: () => address }))
  }

  async stop (): Promise<void> {
    this.stops++
  }
}

/** One publish the host began: the test says how it ends. */
export interface PublishCall {
  init: StationPublishInit
  signal?: AbortSignal
  /** Mints the key's stamp as publishStation does: the 'stamp' step, then each `[tried, expected]`. */
  mint: (...progress: Array<[tried: number, expected: number]>) => void
  /**
   * Stores the manifest: signs it as publishStation would, with seq
   * `lastSeq + 1` and the key's stamp, or `minted` (a stamp it just made).
   */
  succeed: (minted?: number) => PublishResult
  fail: (err: Error) => void
}

export interface FakeStationParts {
  components: StationHostComponents<FakeStationNode>
  /** Every node started, in order. */
  nodes: FakeStationNode[]
  /** Holds the node's start back. */
  nodeGate?: Gate
  /** Holds the ping handler's registration back. */
  pingGate?: Gate
  /** Holds the relay join back. */
  relayGate?: Gate
  /** The relay join fails with this. */
  relayError?: Error
  pingsHandled: number
  pingsUnhandled: number
  /** The relays each join was given. */
  joins: Array<readonly string[]>
  publishes: PublishCall[]
  pauses: ManualPauses
}

/** The manifest's lifetime in these tests (publishStation's default too). */
export const LIFETIME_MS = 24 * 60 * 60_000

/** Parts for `key`'s node; `now` is the clock the manifests are signed with. */
export function fakeStationParts (key: StationKey, now: () => number): FakeStationParts {
  const parts: FakeStationParts = {
    nodes: [],
    pingsHandled: 0,
    pingsUnhandled: 0,
    joins: [],
    publishes: [],
    pauses: new ManualPauses(),
    components: {
      now,
      createNode: async () => {
        await parts.nodeGate?.promise
        const node = new FakeStationNode()
        parts.nodes.push(node)
        return node
      },
      handlePing: async () => {
        await parts.pingGate?.promise
        parts.pingsHandled++
        return async () => { parts.pingsUnhandled++ }
      },
      connectToRelays: async (node, relays) => {
        parts.joins.push(relays)
        await parts.relayGate?.promise
        if (parts.relayError !== undefined) throw parts.relayError
        // A reservation on the first relay: the node now has an address through it.
        node.addresses.push(`${relays[0]}/p2p-circuit`)
      },
      publish: async (_node, init, { signal }) => new Promise<PublishResult>((resolve, reject) => {
        parts.publishes.push({
          init,
          signal,
          mint: (...progress) => {
            init.onProgress?.('stamp')
            for (const [tried, expected] of progress) init.onStampProgress?.(tried, expected)
          },
          succeed: (minted) => {
            const seq = (init.lastSeq ?? 0) + 1
            const stamp = minted ?? init.key.stamp ?? 0
            if (minted !== undefined) init.onStamp?.(minted)
            init.onProgress?.('lookup')
            const manifest = buildManifest(init.key.id, init.draft, { seq, now: now(), lifetimeMs: LIFETIME_MS, relays: init.relays, studio: init.studio })
            const { record } = signManifest(manifest, init.key, stamp)
            const result: PublishResult = { id: init.key.id, seq, stamp, storedOn: 3, providedKeys: 1, manifest, record }
            resolve(result)
            return result
          },
          fail: reject
        })
      }),
      pause: async (ms, options) => parts.pauses.pause(ms, options)
    }
  }
  return parts
}
