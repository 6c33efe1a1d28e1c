/**
 * The page's network service, made on first need. Browsing and listening
 * need no libp2p node: the directory and station pages read relays over HTTP
 * (directory-http.ts). The service, and libp2p with it, is loaded (a dynamic
 * import, its own chunks) only when a page needs it: the studio, my station,
 * a call, or a dial.
 *
 * @example
 * ```ts
 * const network = new NetworkLoader(async () => (await import('./libp2p-network.ts')).createPageNetwork())
 * network.current                       // undefined: nothing loaded yet
 * const service = await network.get()   // loads once; every caller gets the same service
 * await service.start()
 * ```
 */
import { TypedEventEmitter } from 'main-event'
import { abandonable, type AbortOptions } from './abort.ts'
import type { NetworkService } from './network.ts'

/** What the loader needs of the service it loads. */
export type LoadedNetwork = Pick<NetworkService, 'stop'>

export interface NetworkLoaderEvents<S extends LoadedNetwork = NetworkService> {
  /** The service was loaded; it is not started. */
  'network:load': CustomEvent<S>
}

export class NetworkLoader<S extends LoadedNetwork = NetworkService> extends TypedEventEmitter<NetworkLoaderEvents<S>> {
  private readonly load: () => Promise<S>
  private service?: S
  private loading?: Promise<S>

  /** `load` makes the service (it imports libp2p); it runs once, or again after it failed. */
  constructor (load: () => Promise<S>) {
    super()
    this.load = load
  }

  /** The service, once loaded. */
  get current (): S | undefined {
    return this.service
  }

  /**
   * The service, loaded first when it is not yet. `signal` abandons this wait only.
   * @throws what loading threw (the next call loads again), or the signal's reason
   */
  async get (options: AbortOptions = {}): Promise<S> {
    if (this.service !== undefined) return this.service
    this.loading ??= this.load().then((service) => {
      this.service = service
      this.safeDispatchEvent('network:load', { detail: service })
      return service
    }, (err: unknown) => {
      this.loading = undefined
      throw err
    })
    return await abandonable(this.loading, options.signal)
  }

  /** Stops the service (once loaded, when it is loading). Idempotent; a later use starts it again. */
  async stop (): Promise<void> {
    const service = this.service ?? await this.loading?.catch(() => undefined)
    await service?.stop()
  }
}
