/**
 * Gives components the app's one NetworkService, and its status as reactive
 * state. The service is created by the app plugin in main.ts.
 */
import { inject, onScopeDispose, shallowRef, type InjectionKey, type ShallowRef } from 'vue'
import type { NetworkService, NetworkStatus } from '../services/network.ts'

export const NETWORK: InjectionKey<NetworkService> = Symbol('openstudio:network')

export function useNetworkService (): NetworkService {
  const service = inject(NETWORK)
  if (service === undefined) throw new Error('NetworkService is not provided: install it in main.ts')
  return service
}

export interface NetworkState {
  status: ShallowRef<NetworkStatus>
  error: ShallowRef<string | undefined>
  relays: ShallowRef<number>
}

/** The network's live status; starts the network if it is idle. */
export function useNetwork (): NetworkState & { service: NetworkService } {
  const service = useNetworkService()
  const status = shallowRef(service.status)
  const error = shallowRef(service.error)
  const relays = shallowRef(service.relayCount)
  const onChange = (e: CustomEvent<{ status: NetworkStatus, error?: string, relays: number }>): void => {
    status.value = e.detail.status
    error.value = e.detail.error
    relays.value = e.detail.relays
  }
  service.addEventListener('status:change', onChange)
  onScopeDispose(() => { service.removeEventListener('status:change', onChange) })
  if (service.status === 'idle') service.start().catch(() => { /* reported through status:change */ })
  return { service, status, error, relays }
}
