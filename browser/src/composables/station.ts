/**
 * One station: its manifest from the relay's directory API, verified in the
 * page, or from the DHT (libp2p, loaded then) when the relay has no valid
 * record of it; then, on request, a dial by key (which loads libp2p). While
 * the relay answers, it is asked again every `pollMs` for the station's live
 * state, listeners and now-playing title (signed by the station, verified here).
 */
import type { ConnectionKind } from '@openstudio/network'
import { isNewerManifest, isStationId, type Manifest, type NowPlaying } from '@openstudio/protocol'
import { onScopeDispose, shallowRef, watch, type Ref, type ShallowRef } from 'vue'
import { createDirectoryHttp, type DirectoryHttp } from '../services/directory-http.ts'
import { humanError } from '../services/human-error.ts'
import type { NetworkService } from '../services/network.ts'
import { loadStampPolicy } from '../services/stamp-policy.ts'
import { useNetworkLoader } from './network.ts'

export type DialState =
  | { phase: 'idle' }
  | { phase: 'dialling' }
  | { phase: 'connected', kind: ConnectionKind, rttMs: number, totalMs: number }
  | { phase: 'failed', error: string }

/** Where the manifest shown came from: the relay's directory API, or the DHT. */
export type StationSource = 'relay' | 'network'

export interface StationState {
  manifest: ShallowRef<Manifest | undefined>
  source: ShallowRef<StationSource | undefined>
  loading: ShallowRef<boolean>
  error: ShallowRef<string | undefined>
  dial: ShallowRef<DialState>
  /** Listeners, as the relay's index has them (the relay's word); undefined when the relay did not say. */
  listeners: ShallowRef<number | undefined>
  /** The station's newest signed title that the relay passed on. */
  nowPlaying: ShallowRef<NowPlaying | undefined>
  callIn: () => Promise<void>
}

export interface StationInit {
  /** @default the page's relay (createDirectoryHttp, with the page's stamp policy) */
  http?: Pick<DirectoryHttp, 'station'>
  /**
   * The libp2p network, loaded when first asked (a DHT resolve, a dial).
   * @default the app's NetworkLoader
   */
  network?: () => Promise<Pick<NetworkService, 'resolve' | 'dial'>>
  /** How often the relay is asked again for the live state. @default 15 s */
  pollMs?: number
}

export function useStation (id: Ref<string>, init: StationInit = {}): StationState {
  const http = init.http ?? createDirectoryHttp({ beforeVerify: loadStampPolicy })
  const network = init.network ?? ((loader) => async () => await loader.get())(useNetworkLoader())
  const manifest = shallowRef<Manifest>()
  const source = shallowRef<StationSource>()
  const loading = shallowRef(false)
  const error = shallowRef<string>()
  const dial = shallowRef<DialState>({ phase: 'idle' })
  const listeners = shallowRef<number>()
  const nowPlaying = shallowRef<NowPlaying>()
  let lookup: AbortController | undefined

  /** The station's manifest: the relay's answer when it has one that verifies, else the DHT's. */
  const find = async (stationId: string, signal: AbortSignal): Promise<{ manifest: Manifest, source: StationSource }> => {
    try {
      const found = await http.station(stationId, { signal })
      if (found !== undefined) {
        listeners.value = found.listeners
        nowPlaying.value = found.nowPlaying
        return { manifest: found.manifest, source: 'relay' }
      }
    } catch {
      // An older relay (no directory API) or a failing one: the DHT answers instead.
      signal.throwIfAborted()
    }
    const resolved = await (await network()).resolve(stationId, { signal })
    return { manifest: resolved.manifest, source: 'network' }
  }

  const load = async (stationId: string): Promise<void> => {
    lookup?.abort()
    const controller = new AbortController()
    lookup = controller
    manifest.value = undefined
    source.value = undefined
    listeners.value = undefined
    nowPlaying.value = undefined
    error.value = undefined
    dial.value = { phase: 'idle' }
    if (!isStationId(stationId)) {
      loading.value = false
      error.value = 'That is not a station id. Station ids are long keys that start with 12D3KooW.'
      return
    }
    loading.value = true
    try {
      const found = await find(stationId, controller.signal)
      if (controller.signal.aborted) return
      manifest.value = found.manifest
      source.value = found.source
    } catch (err) {
      if (!controller.signal.aborted) error.value = humanError(err as Error)
    } finally {
      if (lookup === controller) loading.value = false
    }
  }
  watch(id, (value) => { void load(value) }, { immediate: true })

  /** The relay's newest word on a station it answered for: a newer manifest (on air or not), listeners, the title. */
  const refresh = async (): Promise<void> => {
    const current = manifest.value
    if (current === undefined || source.value !== 'relay' || lookup === undefined) return
    const signal = lookup.signal
    try {
      const found = await http.station(current.id, { signal })
      if (found === undefined || signal.aborted || manifest.value?.id !== current.id) return
      if (isNewerManifest(found.manifest, manifest.value)) manifest.value = found.manifest
      listeners.value = found.listeners
      if (found.nowPlaying !== undefined && (nowPlaying.value === undefined || found.nowPlaying.at > nowPlaying.value.at)) nowPlaying.value = found.nowPlaying
    } catch {
      // The next poll asks again; what is shown stays.
    }
  }
  const poll = setInterval(() => { void refresh() }, init.pollMs ?? 15_000)
  onScopeDispose(() => { lookup?.abort(); clearInterval(poll) })

  const callIn = async (): Promise<void> => {
    const target = manifest.value
    if (target === undefined || dial.value.phase === 'dialling') return
    dial.value = { phase: 'dialling' }
    try {
      const result = await (await network()).dial(target)
      dial.value = { phase: 'connected', kind: result.kind, rttMs: result.rttMs, totalMs: result.totalMs }
    } catch (err) {
      dial.value = { phase: 'failed', error: `The studio could not be reached: ${humanError(err as Error)}` }
    }
  }

  return { manifest, source, loading, error, dial, listeners, nowPlaying, callIn }
}
