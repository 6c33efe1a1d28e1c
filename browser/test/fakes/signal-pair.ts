/**
 * An in-memory signalling stream: two SignalEndpoints joined back to back.
 * Every message goes through the real codec (encodeSignal, decodeSignal), so
 * what crosses is what protocol/ lets through. Closing either end (or
 * `drop`, a stream lost under both) ends the stream for both: reads drain
 * what arrived, then return undefined.
 */
import { decodeSignal, encodeSignal, type SignalMessage } from '@openstudio/protocol'
import type { SignalEndpoint } from '../../src/services/call/signal-endpoint.ts'

/** Thrown by `send` on a stream that is closed. */
export class StreamClosedError extends Error {
  override readonly name = 'StreamClosedError'
}

interface Waiter { resolve: (message: SignalMessage | undefined) => void, reject: (err: unknown) => void }

export class MemorySignalEndpoint implements SignalEndpoint {
  /** Everything this end sent, decoded as the other end got it. */
  readonly sent: SignalMessage[] = []
  private readonly inbox: SignalMessage[] = []
  private readonly waiters: Waiter[] = []
  private ended = false
  other!: MemorySignalEndpoint

  constructor (private readonly remote: string) {}

  get remotePeer (): { toString: () => string } {
    return { toString: () => this.remote }
  }

  get open (): boolean {
    return !this.ended
  }

  async send (message: SignalMessage, options?: { signal?: AbortSignal }): Promise<void> {
    options?.signal?.throwIfAborted()
    if (this.ended) throw new StreamClosedError('the signalling stream is closed')
    const crossed = decodeSignal(encodeSignal(message))
    this.sent.push(crossed)
    this.other.deliver(crossed)
  }

  async read (options?: { signal?: AbortSignal }): Promise<SignalMessage | undefined> {
    options?.signal?.throwIfAborted()
    const next = this.inbox.shift()
    if (next !== undefined || this.ended) return next
    return new Promise((resolve, reject) => {
      const signal = options?.signal
      const onAbort = (): void => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1)
        reject(signal?.reason)
      }
      const waiter: Waiter = {
        resolve: (message) => { signal?.removeEventListener('abort', onAbort); resolve(message) },
        reject
      }
      this.waiters.push(waiter)
      signal?.addEventListener('abort', onAbort, { once: true })
    })
  }

  async * messages (options?: { signal?: AbortSignal }): AsyncGenerator<SignalMessage> {
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

  private deliver (message: SignalMessage): void {
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

/** A stream between `caller` and `studio` (peer id strings): [the caller's end, the studio's end]. */
export function signalPair (caller: string, studio: string): [MemorySignalEndpoint, MemorySignalEndpoint] {
  const callerEnd = new MemorySignalEndpoint(studio)
  const studioEnd = new MemorySignalEndpoint(caller)
  callerEnd.other = studioEnd
  studioEnd.other = callerEnd
  return [callerEnd, studioEnd]
}
