/**
 * Gives components the app's NetworkLoader (main.ts), and the network's
 * status as reactive state. The network service, and libp2p with it, loads
 * only when a page needs it (network-loader.ts).
 */
import { inject, onScopeDispose, shallowRef, watch, type InjectionKey, type Ref, type ShallowRef } from 'vue'
import type { NetworkLoader } from '../services/network-loader.ts'
import type { NetworkService, NetworkStatus, NetworkStatusChange } from '../services/network.ts'

export const NETWORK: InjectionKey<NetworkLoader> = Symbol('openstudio:network')

/** The app's network loader: `await useNetworkLoader().get()` loads the service when a page needs libp2p. */
export function useNetworkLoader (): NetworkLoader {
  const loader = inject(NETWORK)
  if (loader === undefined) throw new Error('the NetworkLoader is not provided: install it in main.ts')
  return loader
}

/** The network's status, or 'unloaded' while the page runs without libp2p. */
export type PageNetworkStatus = NetworkStatus | 'unloaded'

export interface NetworkState {
  status: ShallowRef<PageNetworkStatus>
  error: ShallowRef<string | undefined>
  relays: ShallowRef<number>
}

export interface UseNetworkInit {
  /**
   * While true, the network is loaded and started (pages that need libp2p).
   * @default never: the status is watched, nothing is loaded
   */
  start?: Readonly<Ref<boolean>>
}

/** The network's live status. Loads and starts the network only while `init.start` is true. */
export function useNetwork (init: UseNetworkInit = {}): NetworkState {
  const loader = useNetworkLoader()
  const status = shallowRef<PageNetworkStatus>('unloaded')
  const error = shallowRef<string>()
  const relays = shallowRef(0)
  const show = (change: NetworkStatusChange): void => {
    status.value = change.status
    error.value = change.error
    relays.value = change.relays
  }
  const onChange = (e: CustomEvent<NetworkStatusChange>): void => { show(e.detail) }
  let watched: NetworkService | undefined
  const follow = (service: NetworkService): void => {
    if (watched === service) return
    watched = service
    service.addEventListener('status:change', onChange)
    show({ status: service.status, error: service.error, relays: service.relayCount })
  }
  const onLoad = (e: CustomEvent<NetworkService>): void => { follow(e.detail) }
  loader.addEventListener('network:load', onLoad)
  if (loader.current !== undefined) follow(loader.current)

  if (init.start !== undefined) {
    watch(init.start, async (start) => {
      if (!start) return
      try {
        const service = await loader.get()
        if (service.status === 'idle') await service.start()
      } catch (err) {
        // A start's failure shows through status:change; a failed load has no service to say it.
        if (loader.current === undefined) show({ status: 'error', error: `The network could not be loaded: ${(err as Error).message}`, relays: 0 })
      }
    }, { immediate: true })
  }

  onScopeDispose(() => {
    loader.removeEventListener('network:load', onLoad)
    watched?.removeEventListener('status:change', onChange)
  })
  return { status, error, relays }
}
