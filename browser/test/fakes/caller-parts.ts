/**
 * In-memory parts for a caller: a network that dials a fake studio over
 * in-memory signalling streams, the studio's side of those streams (the
 * station's own RoomChannel signs its commands), and pauses the test ends by
 * hand, so nothing waits on a real timer.
 */
import { RoomChannel } from '@openstudio/network'
import { buildManifest, type Manifest, type RoomCommand, type RoomEvent, type SignalMessage, type StationKey } from '@openstudio/protocol'
import type { CallerNetwork } from '../../src/services/call/caller.ts'
import { MemoryBus } from './room-bus.ts'
import { signalPair, type MemorySignalEndpoint } from './signal-pair.ts'
import type { Gate } from './studio-parts.ts'
import { DRAFT } from '../../../protocol/test/fixtures/draft.ts'

type Hello = Extract<SignalMessage, { type: 'hello' }>

/** Pauses that last until the test ends them (or their signal aborts). */
export class ManualPauses {
  readonly waiting: Array<{ ms: number, end: () => void }> = []

  readonly pause = async (ms: number, options: { signal?: AbortSignal } = {}): Promise<void> => {
    const { signal } = options
    signal?.throwIfAborted()
    await new Promise<void>((resolve, reject) => {
      const entry = {
        ms,
        end: () => {
          this.waiting.splice(this.waiting.indexOf(entry), 1)
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
      }
      const onAbort = (): void => {
        this.waiting.splice(this.waiting.indexOf(entry), 1)
        reject(signal?.reason)
      }
      this.waiting.push(entry)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  /** Ends every pause waiting now; returns how long each was. */
  elapse (): number[] {
    const ended = [...this.waiting]
    for (const entry of ended) entry.end()
    return ended.map((e) => e.ms)
  }
}

/**
 * The studio at the far end of the caller's streams: it welcomes each hello
 * (or answers what `answer` says), puts the caller in the room, hands it a
 * snapshot, answers its offers and keeps its requests.
 */
export class FakeStudio {
  readonly room: RoomChannel
  /** Every stream a caller opened. */
  readonly opened: MemorySignalEndpoint[] = []
  /** The streams it welcomed: room commands go on these. */
  readonly streams: MemorySignalEndpoint[] = []
  readonly hellos: Hello[] = []
  /** The caller's verified room requests, in order. */
  readonly requests: RoomEvent[] = []
  /** Negotiation messages the caller sent. */
  readonly negotiation: SignalMessage[] = []
  byes = 0
  answer: (hello: Hello) => SignalMessage = () => ({ type: 'welcome', pass: 'call-pass' })

  constructor (readonly key: StationKey) {
    // Not on any topic: what the caller learns, it learns on its stream.
    this.room = new RoomChannel({ pubsub: new MemoryBus().member() }, key.id, { id: key.id, secretKey: key.secretKey })
  }

  /** The host is in the room (a snapshot needs a first command). */
  async open (): Promise<void> {
    await this.room.command({ type: 'present', peer: this.key.id, name: 'Host' })
  }

  /** The stream welcomed last. */
  get current (): MemorySignalEndpoint | undefined {
    return this.streams.at(-1)
  }

  accept (end: MemorySignalEndpoint): void {
    this.opened.push(end)
    void this.serve(end)
  }

  /** A command of the station, sent on every open stream. */
  async command (message: Exclude<RoomCommand, { type: 'snapshot' }>): Promise<void> {
    const envelope = await this.room.command(message)
    for (const stream of this.streams) if (stream.open) await stream.send({ type: 'room', envelope })
  }

  private async serve (end: MemorySignalEndpoint): Promise<void> {
    const hello = await end.read()
    if (hello?.type !== 'hello') return
    this.hellos.push(hello)
    const answer = this.answer(hello)
    await end.send(answer)
    if (answer.type !== 'welcome') {
      await end.close()
      return
    }
    this.streams.push(end)
    const peer = end.remotePeer.toString()
    if (this.room.state.participants[peer]?.present !== true) await this.command({ type: 'present', peer, name: hello.name })
    await end.send({ type: 'room', envelope: this.room.snapshot() })
    for await (const message of end.messages()) {
      if (message.type === 'description' || message.type === 'candidate') this.negotiation.push(message)
      if (message.type === 'description' && message.description.type === 'offer') {
        await end.send({ type: 'description', description: { type: 'answer', sdp: 'v=0 fake answer' } })
      }
      if (message.type === 'room') {
        const event = this.room.verify(message.envelope, peer)
        if (event !== undefined) this.requests.push(event)
      }
      if (message.type === 'bye') this.byes++
    }
  }
}

/** The station's manifest, as the caller resolves it. */
export function manifestOf (key: StationKey, now: number): Manifest {
  return buildManifest(key.id, DRAFT, { seq: 1, now })
}

export interface FakeCallerNetwork extends CallerNetwork {
  /** The caller's room topic. */
  readonly bus: MemoryBus
  /** The caller's ends of the streams it opened. */
  readonly ends: MemorySignalEndpoint[]
  dials: number
  /** Dials still to fail. */
  failDials: number
  /** Holds `openSignal` back (it does not look at the abort: the caller must close what arrives late). */
  openGate?: Gate
}

/** A network on which `key` reaches `studio`. */
export function fakeCallerNetwork (key: StationKey, studio: FakeStudio, manifest: Manifest): FakeCallerNetwork {
  const bus = new MemoryBus()
  const network: FakeCallerNetwork = {
    identity: key,
    bus,
    ends: [],
    dials: 0,
    failDials: 0,
    start: async () => ({ pubsub: bus.member() }),
    resolve: async (_id, { signal }) => {
      signal?.throwIfAborted()
      return manifest
    },
    dial: async (_manifest, { signal }) => {
      signal?.throwIfAborted()
      network.dials++
      if (network.failDials > 0) {
        network.failDials--
        throw new Error('no route to the station')
      }
    },
    openSignal: async (peer) => {
      await network.openGate?.promise
      const [mine, theirs] = signalPair(key.id, peer)
      network.ends.push(mine)
      studio.accept(theirs)
      return mine
    }
  }
  return network
}
