/**
 * `/openstudio/signal/1` framing: length-prefixed signalling messages on one
 * libp2p stream, decoded and schema-checked by protocol/. The stream may run
 * on a relayed (limited) connection, so the handler and the dial both allow it.
 */
import { logger } from '@libp2p/logger'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import { decodeSignal, encodeSignal, MAX_SIGNAL_BYTES, PROTOCOL, type SignalMessage } from '@openstudio/protocol'
import type { AbortOptions, Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'

const log = logger('openstudio:signal')

export const SIGNAL_DEFAULTS = {
  /** Signalling streams a studio accepts at once on one connection (a redial may overlap the old one). */
  maxInboundStreams: 4,
  /** A dial (and the caller's first exchange) that takes longer is abandoned. */
  openTimeoutMs: 10_000
} as const

/** One end of a signalling stream. */
export class SignalChannel {
  private readonly lp: LengthPrefixedStream<Stream>
  private closed = false

  constructor (readonly stream: Stream, readonly remotePeer: PeerId) {
    this.lp = lpStream(stream, { maxDataLength: MAX_SIGNAL_BYTES })
  }

  /** True while the stream can carry messages both ways. */
  get open (): boolean {
    return !this.closed && this.stream.status === 'open'
  }

  /**
   * Sends one message.
   * @throws {MalformedError | TooLargeError} for a message protocol/ refuses
   */
  async send (message: SignalMessage, options?: AbortOptions): Promise<void> {
    await this.lp.write(encodeSignal(message), options)
  }

  /**
   * Reads the next message.
   * @returns undefined when the remote closed the stream
   * @throws {MalformedError | TooLargeError} for bytes that are not a signalling message; the stream is aborted
   */
  async read (options?: AbortOptions): Promise<SignalMessage | undefined> {
    let bytes
    try {
      bytes = await this.lp.read(options)
    } catch (err) {
      if ((err as Error).name === 'UnexpectedEOFError') return undefined
      throw err
    }
    try {
      return decodeSignal(bytes.subarray())
    } catch (err) {
      log('bad signalling message from %p: %s', this.remotePeer, (err as Error).message)
      this.abort(err as Error)
      throw err
    }
  }

  /** Yields messages until the remote closes the stream or sends garbage. */
  async * messages (options?: AbortOptions): AsyncGenerator<SignalMessage> {
    while (this.open) {
      const message = await this.read(options)
      if (message === undefined) return
      yield message
    }
  }

  async close (options?: AbortOptions): Promise<void> {
    if (this.closed) return
    this.closed = true
    await this.stream.close(options).catch((err: Error) => { this.stream.abort(err) })
  }

  abort (err: Error): void {
    this.closed = true
    this.stream.abort(err)
  }
}

/**
 * Registers the studio's signalling handler.
 * @returns `unhandle`, which unregisters it (streams already open carry on)
 */
export async function handleSignal (node: Pick<Libp2p, 'handle' | 'unhandle'>, onChannel: (channel: SignalChannel, connection: Connection) => void): Promise<() => Promise<void>> {
  await node.handle(PROTOCOL.signal, (stream, connection) => {
    onChannel(new SignalChannel(stream, connection.remotePeer), connection)
  }, { runOnLimitedConnection: true, maxInboundStreams: SIGNAL_DEFAULTS.maxInboundStreams })
  return async () => { await node.unhandle(PROTOCOL.signal) }
}

/**
 * Opens a signalling stream to a studio over the best connection already
 * open to it (a direct one before a relayed one), or dials when there is
 * none. It does not go through a dial while a connection is open: libp2p
 * joins a dial by peer id to any dial still pending to that peer, such as a
 * WebRTC upgrade in the background that may never succeed (behind NATs), and
 * the stream would wait for it (docs/calls.md).
 */
export async function openSignal (node: Pick<Libp2p, 'dialProtocol' | 'getConnections'>, peer: PeerId, options: AbortOptions = {}): Promise<SignalChannel> {
  const signal = options.signal ?? AbortSignal.timeout(SIGNAL_DEFAULTS.openTimeoutMs)
  const open = node.getConnections(peer).filter((c) => c.status === 'open')
  const best = open.find((c) => c.limits === undefined) ?? open[0]
  const stream = best !== undefined
    ? await best.newStream(PROTOCOL.signal, { runOnLimitedConnection: true, signal })
    : await node.dialProtocol(peer, PROTOCOL.signal, { runOnLimitedConnection: true, signal })
  return new SignalChannel(stream, peer)
}
