/**
 * A studio and its callers on Node, for room tests over real libp2p nodes:
 * the signalling a studio page runs (hello, verdict, room envelopes both
 * ways), without the media.
 *
 * RoomStudio is the station's own node (its PeerId is the station id,
 * reachable through its relay reservation). It runs a RoomAuthority with an
 * InviteBook, and handles `/openstudio/signal/1`: it reads the hello (with a
 * timeout), lets the caller in or refuses it with the reason, hands it the
 * commands of its entry and a snapshot, and then judges every room envelope
 * the caller sends: a command it grants goes to every caller's stream (it is
 * on the topic already), a snapshot only to the caller that asked. Everything
 * the studio does runs one at a time, so callers get commands in count order.
 *
 * RoomCaller is a caller's node: its own RoomChannel on the room topic, fed
 * also with every envelope its signalling stream brings, asking for a
 * snapshot when commands arrive before the ones they follow.
 *
 * @example
 * ```ts
 * const studio = await RoomStudio.start(relay)
 * const ada = await RoomCaller.start(relay, studio.id)
 * await ada.call(studio, { name: 'Ada' })        // 'welcome', or the refusal's reason
 * await studio.command({ type: 'admit', peer: ada.id })
 * await waitUntil('Ada on air', () => ada.room.state.participants[ada.id]?.stage === 'on-air')
 * ```
 */
import { multiaddr } from '@multiformats/multiaddr'
import {
  handleSignal, InviteBook, memoryInviteStore, openClient, RoomAuthority, RoomChannel, RoomFullError, SignalChannel,
  type OpenStudioNode, type RequestRefusal
} from '@openstudio/node'
import {
  generateStationKey, hasGap, PROTOCOL, TOPIC, type RoomCommand, type RoomEvent, type RoomRequest, type RoomState, type SignalMessage,
  type StationKey
} from '@openstudio/protocol'
import { tcpAddr, type RelayAddresses } from './network.ts'
import { waitUntil } from './wait.ts'

export const ROOM_STUDIO_DEFAULTS = {
  /** A caller that has not said hello by then is dropped. */
  helloTimeoutMs: 5_000,
  /** A studio's verdict on a hello, and a dial to the studio, that take longer fail the call. */
  callTimeoutMs: 10_000
} as const

/** Why a hello did not get a caller in. */
export type CallRefusal = Extract<SignalMessage, { type: 'refused' }>['reason']

/** A request the studio refused, as its authority told it. */
export interface RefusedRequest {
  peer: string
  type?: string
  reason: RequestRefusal
}

/** The part of a room state every replica must agree on. */
export function replicatedState (state: RoomState): Pick<RoomState, 'room' | 'epoch' | 'n' | 'onAir' | 'participants'> {
  return { room: state.room, epoch: state.epoch, n: state.n, onAir: state.onAir, participants: state.participants }
}

/** The station's node, with its room authority and signalling handler. */
export class RoomStudio {
  /** The station's access policy, read at each hello. */
  access: 'open' | 'invite' = 'open'
  /** Every request the authority refused, in order. */
  readonly refused: RefusedRequest[] = []
  /** Each caller's current signalling stream. */
  private readonly callers = new Map<string, SignalChannel>()
  private queue: Promise<unknown> = Promise.resolve()
  private running = true

  readonly channel: RoomChannel
  readonly authority: RoomAuthority
  readonly invites: InviteBook

  private constructor (
    readonly key: StationKey,
    readonly node: OpenStudioNode,
    /** The address callers dial: the studio through its relay. */
    readonly circuit: string
  ) {
    this.channel = new RoomChannel(node.services, key.id, { id: key.id, secretKey: key.secretKey })
    this.invites = new InviteBook({ key, store: memoryInviteStore() })
    this.authority = new RoomAuthority({ channel: this.channel, invites: this.invites, access: () => this.access })
    this.authority.addEventListener('request:refuse', (e) => { this.refused.push(e.detail) })
  }

  /** Starts a studio reachable through `relay` (a reservation there). */
  static async start (relay: RelayAddresses, key: StationKey = generateStationKey()): Promise<RoomStudio> {
    const node = await openClient({ bootstrap: [tcpAddr(relay)], stationKey: key, allowPrivate: true })
    let circuit: string
    try {
      circuit = await waitUntil('the studio\'s reservation on its relay', () =>
        node.getMultiaddrs().map(String).find((a) => a.includes('/p2p-circuit') && a.includes(relay.peerId.toString())))
    } catch (err) {
      await node.stop()
      throw err
    }
    const studio = new RoomStudio(key, node, circuit)
    try {
      studio.authority.start()
      await handleSignal(node, (signal) => { void studio.serve(signal) })
      return studio
    } catch (err) {
      await studio.stop()
      throw err
    }
  }

  get id (): string {
    return this.key.id
  }

  get state (): RoomState {
    return this.channel.state
  }

  /** The producer: signs a command, publishes it, and hands it to every caller. */
  async command (message: Exclude<RoomCommand, { type: 'snapshot' }>): Promise<Uint8Array> {
    return this.exclusive(async () => {
      const envelope = await this.authority.command(message)
      await this.fanOut(envelope)
      return envelope
    })
  }

  /** The producer revokes an invite, and the grants of the co-hosts who came in with it. */
  async revokeInvite (nonce: string): Promise<Uint8Array[]> {
    return this.exclusive(async () => {
      const sent = await this.authority.revokeInvite(nonce)
      for (const envelope of sent) await this.fanOut(envelope)
      return sent
    })
  }

  /** Refusals of requests from `peer`, but for snapshot requests (a caller makes those of its own accord, on a gap). */
  refusedFrom (peer: string): RequestRefusal[] {
    return this.refused.filter((r) => r.peer === peer && r.type !== 'snapshot-request').map((r) => r.reason)
  }

  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    this.authority.stop()
    await Promise.all([...this.callers.values()].map(async (signal) => signal.close()))
    this.callers.clear()
    await this.node.stop()
  }

  /** One caller's signalling stream, from its hello until it ends. */
  private async serve (signal: SignalChannel): Promise<void> {
    const peer = signal.remotePeer.toString()
    let entered = false
    try {
      const hello = await signal.read({ signal: AbortSignal.timeout(ROOM_STUDIO_DEFAULTS.helloTimeoutMs) })
      if (hello?.type !== 'hello') {
        signal.abort(new Error(`expected a hello, got ${hello?.type ?? 'nothing'}`))
        return
      }
      const admission = this.authority.admit(peer, hello.invite)
      const refusal = admission.ok
        ? await this.exclusive(async () => this.enter(peer, hello.name, admission, signal))
        : admission.reason
      if (refusal !== undefined) {
        await signal.send({ type: 'refused', reason: refusal })
        return
      }
      entered = true
      for await (const message of signal.messages()) {
        if (message.type === 'bye') break
        if (message.type === 'room') await this.exclusive(async () => this.judge(peer, signal, message.envelope))
      }
    } catch (err) {
      if (this.running) process.stderr.write(`room studio: stream of ${peer} ended: ${(err as Error).message}\n`)
    } finally {
      if (entered && this.callers.get(peer) === signal) {
        this.callers.delete(peer)
        if (this.running) {
          await this.exclusive(async () => {
            const envelope = await this.authority.absent(peer)
            if (envelope !== undefined) await this.fanOut(envelope)
          })
        }
      }
      await signal.close()
    }
  }

  /** Lets an admitted caller in: welcome, its entry's commands to everyone, a snapshot to it. */
  private async enter (peer: string, name: string, admission: { ok: true, grantUntil?: number }, signal: SignalChannel): Promise<CallRefusal | undefined> {
    let sent: Uint8Array[]
    try {
      sent = await this.authority.enter(peer, name, admission)
    } catch (err) {
      if (err instanceof RoomFullError) return 'full'
      throw err
    }
    await signal.send({ type: 'welcome' })
    this.callers.set(peer, signal)
    for (const envelope of sent) await this.fanOut(envelope)
    await signal.send({ type: 'room', envelope: this.authority.snapshot() })
    return undefined
  }

  /** A room envelope on `peer`'s stream: a command for everyone, a snapshot for it, or nothing. */
  private async judge (peer: string, signal: SignalChannel, envelope: Uint8Array): Promise<void> {
    const outcome = await this.authority.request(envelope, peer)
    if (outcome.kind === 'command') for (const command of outcome.envelopes) await this.fanOut(command)
    if (outcome.kind === 'snapshot') await signal.send({ type: 'room', envelope: outcome.envelope })
  }

  private async fanOut (envelope: Uint8Array): Promise<void> {
    await Promise.all([...this.callers].map(async ([peer, signal]) => {
      if (!signal.open) return
      await signal.send({ type: 'room', envelope }).catch((err: Error) => {
        process.stderr.write(`room studio: could not send to ${peer}: ${err.message}\n`)
      })
    }))
  }

  /** Runs `work` after everything the studio started before it. */
  private async exclusive<T> (work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work)
    this.queue = run.catch(() => undefined)
    return run
  }
}

/** A caller's node: its own view of the room, and its signalling stream to the studio. */
export class RoomCaller {
  /** Every verified room message its channel heard, from the topic or the stream. */
  readonly heard: RoomEvent[] = []
  /** Every envelope published on the room topic that reached this node, before any check of its own. */
  readonly topicBytes: Uint8Array[] = []
  /** The signalling stream of the current call. */
  signal?: SignalChannel
  private asking = false
  private stopped = false

  private constructor (readonly key: StationKey, readonly node: OpenStudioNode, readonly room: RoomChannel) {
    room.addEventListener('message:receive', (e) => { this.heard.push(e.detail) })
    room.addEventListener('state:gap', () => { void this.askForSnapshot() })
    room.addEventListener('state:change', (e) => { if (!hasGap(e.detail.state)) this.asking = false })
    node.services.pubsub.addEventListener('message', (e) => { if (e.detail.topic === room.topic) this.topicBytes.push(e.detail.data) })
  }

  /**
   * Starts a caller node joined through `relay`, in the room of `stationId`
   * (subscribed to its topic). Its PeerId is `key`'s id, so the envelopes it
   * signs are its own.
   */
  static async start (relay: RelayAddresses, stationId: string, key: StationKey = generateStationKey()): Promise<RoomCaller> {
    const node = await openClient({ bootstrap: [tcpAddr(relay)], stationKey: key, allowPrivate: true })
    const caller = new RoomCaller(key, node, new RoomChannel(node.services, stationId, { id: key.id, secretKey: key.secretKey }))
    caller.room.start()
    return caller
  }

  get id (): string {
    return this.key.id
  }

  get topic (): string {
    return TOPIC.room(this.room.room)
  }

  /**
   * Calls the studio through its relay: a new signalling stream and a hello.
   * @returns 'welcome' once in (the stream then feeds the room channel), or the reason it was refused
   */
  async call (studio: Pick<RoomStudio, 'circuit'>, hello: { name: string, invite?: string }): Promise<'welcome' | CallRefusal> {
    const signal = await this.open(studio.circuit)
    await signal.send({ type: 'hello', ...hello })
    const verdict = await signal.read({ signal: AbortSignal.timeout(ROOM_STUDIO_DEFAULTS.callTimeoutMs) })
    if (verdict?.type === 'refused') {
      await signal.close()
      return verdict.reason
    }
    if (verdict?.type !== 'welcome') {
      signal.abort(new Error(`expected the studio's verdict, got ${verdict?.type ?? 'nothing'}`))
      throw new Error(`the studio answered a hello with ${verdict?.type ?? 'nothing'}`)
    }
    const previous = this.signal
    this.signal = signal
    await previous?.close()
    void this.follow(signal)
    return 'welcome'
  }

  /** Signs a request with the room channel and sends it on the signalling stream. */
  async request (message: RoomRequest): Promise<void> {
    await this.send(this.room.request(message))
  }

  /** Sends any envelope on the signalling stream, as it is. */
  async send (envelope: Uint8Array): Promise<void> {
    if (this.signal === undefined) throw new Error(`${this.id} is not in a call`)
    await this.signal.send({ type: 'room', envelope })
  }

  /** Publishes any bytes on the room topic, as they are (what a misbehaving peer can do). */
  async publish (bytes: Uint8Array): Promise<void> {
    await this.node.services.pubsub.publish(this.topic, bytes)
  }

  async stop (): Promise<void> {
    if (this.stopped) return
    this.stopped = true
    this.room.stop()
    await this.signal?.close()
    await this.node.stop()
  }

  private async open (circuit: string): Promise<SignalChannel> {
    const connection = await this.node.dial(multiaddr(circuit), { signal: AbortSignal.timeout(ROOM_STUDIO_DEFAULTS.callTimeoutMs) })
    const stream = await connection.newStream(PROTOCOL.signal, { runOnLimitedConnection: true, signal: AbortSignal.timeout(ROOM_STUDIO_DEFAULTS.callTimeoutMs) })
    return new SignalChannel(stream, connection.remotePeer)
  }

  /** Feeds the room channel with what the studio sends on `signal`, until it ends. */
  private async follow (signal: SignalChannel): Promise<void> {
    try {
      for await (const message of signal.messages()) {
        if (message.type === 'bye') break
        if (message.type === 'room') this.room.receive(message.envelope, signal.remotePeer.toString())
      }
    } catch (err) {
      if (!this.stopped) process.stderr.write(`room caller ${this.id}: stream ended: ${(err as Error).message}\n`)
    }
  }

  /** Commands came before the ones they follow: one snapshot request until the gap closes. */
  private async askForSnapshot (): Promise<void> {
    if (this.asking || this.signal?.open !== true) return
    this.asking = true
    await this.request({ type: 'snapshot-request' }).catch((err: Error) => {
      this.asking = false
      process.stderr.write(`room caller ${this.id}: snapshot request failed: ${err.message}\n`)
    })
  }
}

/** What gossipsub's router has beyond its public interface, and room tests read. */
export interface GossipRouterView {
  getScore: (peer: string) => number
  getMeshPeers: (topic: string) => string[]
}

export function gossipRouterOf (node: OpenStudioNode): GossipRouterView {
  const pubsub: object = node.services.pubsub
  if (!('getScore' in pubsub) || typeof pubsub.getScore !== 'function' || !('getMeshPeers' in pubsub) || typeof pubsub.getMeshPeers !== 'function') {
    throw new Error('this gossipsub exposes no getScore/getMeshPeers')
  }
  return pubsub as GossipRouterView
}

/** Gossipsub's message cache (internal): recent messages, newest window first; the first `gossip` windows are offered to peers (IHAVE). */
interface MessageCacheView {
  gossip: number
  history: Array<Array<{ msgIdStr: string, topic: string }>>
  msgs: Map<string, { message: { data?: Uint8Array } }>
}

/**
 * True while `node` still offers `data`, published on `topic`, to its peers
 * in gossip (IHAVE): a peer that joins now may still be handed it that way.
 */
export function offersInGossip (node: OpenStudioNode, topic: string, data: Uint8Array): boolean {
  const pubsub: object = node.services.pubsub
  if (!('mcache' in pubsub) || typeof pubsub.mcache !== 'object' || pubsub.mcache === null || !('history' in pubsub.mcache)) {
    throw new Error('this gossipsub has no message cache to read')
  }
  const cache = pubsub.mcache as MessageCacheView
  return cache.history.slice(0, cache.gossip).some((window) => window.some((entry) => {
    const cached = cache.msgs.get(entry.msgIdStr)?.message.data
    return entry.topic === topic && cached !== undefined && cached.length === data.length && cached.every((x, i) => x === data[i])
  }))
}
