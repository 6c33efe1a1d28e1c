/**
 * A gate in front of kad-dht's inbound streams. kad-dht stores what any peer
 * puts, and tells its validators and its datastore nothing of who put it;
 * the relay's limits count by host and by peer (docs/directory.md). The gate
 * wraps kad-dht's stream handler (`wrapKadHandler` of createOpenStudioNode)
 * so that it runs in an AsyncLocalStorage context holding the stream's
 * source: the record validator and the datastore, called from that handler,
 * read it with `sourceOfPut`.
 *
 * (libp2p's stream middleware cannot do this: its chain calls the handler
 * outside any middleware's call, and its registrar in 3.3 appends the
 * handler to the middleware array on every inbound stream, and runs
 * middleware on outbound streams too; js-libp2p#3534.)
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import type { Connection, StreamHandler } from '@libp2p/interface'

export class KadGate<Source> {
  private readonly context = new AsyncLocalStorage<Source>()

  constructor (private readonly sourceOf: (connection: Connection) => Source) {}

  /** Wraps kad-dht's inbound stream handler. */
  readonly wrap = (handler: StreamHandler): StreamHandler => async (stream, connection) => {
    await this.context.run(this.sourceOf(connection), async () => { await handler(stream, connection) })
  }

  /** The source of the kad stream whose handling is calling now, or undefined outside one (this node's own work). */
  sourceOfPut (): Source | undefined {
    return this.context.getStore()
  }
}
