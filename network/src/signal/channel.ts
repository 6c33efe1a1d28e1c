/**
 * Length-prefixed messages on one libp2p stream, decoded and schema-checked
 * by protocol/: `/openstudio/signal/1` (which may run on a relayed, limited
 * connection, so its handler and dial both allow it) and
 * `/openstudio/upload/1` (direct connections only).
 */
import { logger } from '@libp2p/logger'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import {
  decodeSignal, decodeUpload, encodeSignal, encodeUpload, MAX_SIGNAL_BYTES, MAX_UPLOAD_MESSAGE_BYTES, PROTOCOL, type SignalMessage, type UploadMessage
} from '@openstudio/protocol'
import type { AbortOptions, Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'

const log = logger('openstudio:signal')

export const SIGNAL_DEFAULTS = {
  /** Signalling streams a studio accepts at once on one connection (a redial may overlap the old one). */
  maxInboundStreams: 4,
  /** A dial (and the caller's first exchange) that takes longer is abandoned. */
  openTimeoutMs: 10_000
} as const

/** How one protocol's messages become bytes and back. */
export interface MessageCodec<M> {
  /** What the messages are, in logs. */
  what: string
  maxBytes: number
  /** @throws {MalformedError | TooLargeError} */
  encode: (message: M) => Uint8Array
  /** @throws {MalformedError | TooLargeError} */
  decode: (bytes: Uint8Array) => M
}

/** One end of a stream of length-prefixed messages. */
export class MessageChannel<M> {
  private readonly lp: LengthPrefixedStream<Stream>
  private closed = false

  constructor (readonly stream: Stream, readonly remotePeer: PeerId, private readonly codec: MessageCodec<M>) {
    this.lp = lpStream(stream, { maxDataLength: codec.maxBytes })
  }

  /** True while the stream can carry messages both ways. */
  get open (): boolean {
    return !this.closed && this.stream.status === 'open'
  }

  /**
   * Sends one message.
   * @throws {MalformedError | TooLargeError} for a message protocol/ refuses
   */
  async send (message: M, options?: AbortOptions): Promise<void> {
    await this.lp.write(this.codec.encode(message), options)
  }

  /**
   * Reads the next message.
   * @returns undefined when the remote closed the stream
   * @throws {MalformedError | TooLargeError} for bytes that are not such a message; the stream is aborted
   */
  async read (options?: AbortOptions): Promise<M | undefined> {
    let bytes
    try {
      bytes = await this.lp.read(options)
    } catch (err) {
      if ((err as Error).name === 'UnexpectedEOFError') return undefined
      throw err
    }
    try {
      return this.codec.decode(bytes.subarray())
    } catch (err) {
      log('bad %s from %p: %s', this.codec.what, this.remotePeer, (err as Error).message)
      this.abort(err as Error)
      throw err
    }
  }

  /** Yields messages until the remote closes the stream or sends garbage. */
  async * messages (options?: AbortOptions): AsyncGenerator<M> {
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

const SIGNAL_CODEC: MessageCodec<SignalMessage> = { what: 'signalling message', maxBytes: MAX_SIGNAL_BYTES, encode: encodeSignal, decode: decodeSignal }
const UPLOAD_CODEC: MessageCodec<UploadMessage> = { what: 'upload message', maxBytes: MAX_UPLOAD_MESSAGE_BYTES, encode: encodeUpload, decode: decodeUpload }

/** One end of a signalling stream. */
export class SignalChannel extends MessageChannel<SignalMessage> {
  constructor (stream: Stream, remotePeer: PeerId) {
    super(stream, remotePeer, SIGNAL_CODEC)
  }
}

/** One end of an upload stream (a caller's own recording, to the studio). */
export class UploadChannel extends MessageChannel<UploadMessage> {
  constructor (stream: Stream, remotePeer: PeerId) {
    super(stream, remotePeer, UPLOAD_CODEC)
  }
}

/** Thrown when only a relayed (limited) connection to the studio is open: no room there for an upload. */
export class NoDirectConnectionError extends Error {
  override readonly name = 'NoDirectConnectionError'
}

/**
 * Registers the studio's upload handler: direct connections only, one
 * upload at a time per connection.
 * @returns `unhandle`, which unregisters it
 */
export async function handleUpload (node: Pick<Libp2p, 'handle' | 'unhandle'>, onChannel: (channel: UploadChannel, connection: Connection) => void): Promise<() => Promise<void>> {
  await node.handle(PROTOCOL.upload, (stream, connection) => {
    onChannel(new UploadChannel(stream, connection.remotePeer), connection)
  }, { maxInboundStreams: 1 })
  return async () => { await node.unhandle(PROTOCOL.upload) }
}

/**
 * Opens an upload stream to a studio over a direct connection already open
 * to it.
 * @throws {NoDirectConnectionError} when there is none
 */
export async function openUpload (node: Pick<Libp2p, 'getConnections'>, peer: PeerId, options: AbortOptions = {}): Promise<UploadChannel> {
  const direct = node.getConnections(peer).find((c) => c.status === 'open' && c.limits === undefined)
  if (direct === undefined) throw new NoDirectConnectionError('no direct connection to the studio')
  return new UploadChannel(await direct.newStream(PROTOCOL.upload, { signal: options.signal ?? AbortSignal.timeout(SIGNAL_DEFAULTS.openTimeoutMs) }), peer)
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
