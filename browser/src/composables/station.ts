/**
 * One station: resolve and verify its manifest, then dial it by key.
 */
import type { ConnectionKind } from '@openstudio/network'
import { isStationId, type Manifest } from '@openstudio/protocol'
import { shallowRef, watch, type Ref, type ShallowRef } from 'vue'
import { humanError } from '../services/network.ts'
import { useNetworkService } from './network.ts'

export type DialState =
  | { phase: 'idle' }
  | { phase: 'dialling' }
  | { phase: 'connected', kind: ConnectionKind, rttMs: number, totalMs: number }
  | { phase: 'failed', error: string }

export interface StationState {
  manifest: ShallowRef<Manifest | undefined>
  loading: ShallowRef<boolean>
  error: ShallowRef<string | undefined>
  dial: ShallowRef<DialState>
  callIn: () => Promise<void>
}

export function useStation (id: Ref<string>): StationState {
  const service = useNetworkService()
  const manifest = shallowRef<Manifest>()
  const loading = shallowRef(false)
  const error = shallowRef<string>()
  const dial = shallowRef<DialState>({ phase: 'idle' })

  const load = async (stationId: string): Promise<void> => {
    manifest.value = undefined
    error.value = undefined
    dial.value = { phase: 'idle' }
    if (!isStationId(stationId)) {
      error.value = 'That is not a station id. Station ids are long keys that start with 12D3KooW.'
      return
    }
    loading.value = true
    try {
      const resolved = await service.resolve(stationId)
      if (id.value === stationId) manifest.value = resolved.manifest
    } catch (err) {
      if (id.value === stationId) error.value = humanError(err as Error)
    } finally {
      loading.value = false
    }
  }
  watch(id, (value) => { void load(value) }, { immediate: true })

  const callIn = async (): Promise<void> => {
    const target = manifest.value
    if (target === undefined || dial.value.phase === 'dialling') return
    dial.value = { phase: 'dialling' }
    try {
      const result = await service.dial(target)
      dial.value = { phase: 'connected', kind: result.kind, rttMs: result.rttMs, totalMs: result.totalMs }
    } catch (err) {
      dial.value = { phase: 'failed', error: `The studio could not be reached: ${humanError(err as Error)}` }
    }
  }

  return { manifest, loading, error, dial, callIn }
}
