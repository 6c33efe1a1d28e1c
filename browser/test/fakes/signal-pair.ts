/**
 * An in-memory message stream: two endpoints joined back to back, for
 * signalling (signalPair) and uploads (uploadPair). Every message goes
 * through the real codec, so what crosses is what protocol/ lets through.
 * Closing either end (or `drop`, a stream lost under both) ends the stream
 * for both: reads drain what arrived, then return undefined.
 */
import { decodeSignal, decodeUpload, encodeSignal, encodeUpload, type SignalMessage, type UploadMessage } from '@openstudio/protocol'

interface Codec<M> { encode: (message: M) => Uint8Array, decode: (bytes: Uint8Array) => M }

/** Thrown by `send` on a stream that is closed. */
export class StreamClosedError extends Error {
  override readonly name = 'StreamClosedError'
}

interface Waiter<M> { resolve: (message: M | undefined) => void, reject: (err: unknown) => void }

export class MemoryEndpoint<M> {
  /** Everything this end sent, decoded as the other end got it. */
  readonly sent: M[] = []
  private readonly inbox: M[] = []
  private readonly waiters: Array<Waiter<M>> = []
  private ended = false
  other!: MemoryEndpoint<M>

  constructor (private readonly remote: string, private readonly codec: Codec<M>) {}

  get remotePeer (): { toString: () => string } {
    return { toString: () => this.remote }
  }

  get open (): boolean {
    return !this.ended
  }

  async send (message: M, options?: { signal?: AbortSignal }): Promise<void> {
    options?.signal?.throwIfAborted()
    if (this.ended) throw new StreamClosedError('the stream is closed')
    const crossed = this.codec.decode(this.codec.encode(message))
    this.sent.push(crossed)
    this.other.deliver(crossed)
  }

  async read (options?: { signal?: AbortSignal }): Promise<M | undefined> {
    options?.signal?.throwIfAborted()
    const next = this.inbox.shift()
    if (next !== undefined || this.ended) return next
    return new Promise((resolve, reject) => {
      const signal = options?.signal
      const onAbort = (): void => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        reject(signal?.reason)
      }
      const waiter: Waiter<M> = {
        resolve: (message) => { signal?.removeEventListener('abort', onAbort); resolve(message) },
        reject
      }
      this.waiters.push(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  async * messages (options?: { signal?: AbortSignal }): AsyncGenerator<M> {
    for (;;) {
      const message = await this.read(options)
      if (message === undefined) return
      yield message
    }
  }

  async close (): Promise<void> {
    this.end()
    this.other.end()
  }

  abort (_err: Error): void {
    this.end()
    this.other.end()
  }

  /** The stream is lost under both ends (a relayed connection hit its limit, say). */
  drop (): void {
    void this.close()
  }

  private deliver (message: M): void {
    if (this.ended) return
    const waiter = this.waiters.shift()
    if (waiter !== undefined) waiter.resolve(message)
    else this.inbox.push(message)
  }

  private end (): void {
    if (this.ended) return
    this.ended = true
    for (const waiter of this.waiters.splice(0)) waiter.resolve(this.inbox.shift())
  }
}

export type MemorySignalEndpoint = MemoryEndpoint<SignalMessage>
export type MemoryUploadEndpoint = MemoryEndpoint<UploadMessage>

function pair<M> (caller: string, studio: string, codec: Codec<M>): [MemoryEndpoint<M>, MemoryEndpoint<M>] {
  const callerEnd = new MemoryEndpoint(studio, codec)
  const studioEnd = new MemoryEndpoint(caller, codec)
  callerEnd.other = studioEnd
  studioEnd.other = callerEnd
  return [callerEnd, studioEnd]
}

/** A signalling stream between `caller` and `studio` (peer id strings): [the caller's end, the studio's end]. */
export function signalPair (caller: string, studio: string): [MemorySignalEndpoint, MemorySignalEndpoint] {
  return pair(caller, studio, { encode: encodeSignal, decode: decodeSignal })
}

/** An upload stream between `caller` and `studio`: [the caller's end, the studio's end]. */
export function uploadPair (caller: string, studio: string): [MemoryUploadEndpoint, MemoryUploadEndpoint] {
  return pair(caller, studio, { encode: encodeUpload, decode: decodeUpload })
}
