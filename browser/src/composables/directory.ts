/**
 * The directory as the UI sees it: cached stations at once, then the network's
 * verified list, then live announcements; with search and filters.
 */
import { byName, type ResolvedStation } from '@openstudio/network'
import { isNewerManifest, isOnAir, type ListenerReport, type Manifest } from '@openstudio/protocol'
import { useNow } from './now.ts'
import { computed, onScopeDispose, ref, shallowRef, type ComputedRef, type Ref, type ShallowRef } from 'vue'
import { DirectoryCache } from '../services/directory-cache.ts'
import { listenersFor, type ShownListeners } from '../services/listeners.ts'
import { humanError } from '../services/network.ts'
import { useNetworkService } from './network.ts'

export type DirectoryPhase = 'cache' | 'connecting' | 'searching' | 'ready' | 'error'

export interface DirectoryState {
  stations: ShallowRef<Manifest[]>
  /** Stations after search and filters: live ones first, then by name. */
  visible: ComputedRef<Manifest[]>
  phase: ShallowRef<DirectoryPhase>
  message: ShallowRef<string>
  error: ShallowRef<string | undefined>
  fromCache: ShallowRef<boolean>
  query: Ref<string>
  tag: Ref<string>
  language: Ref<string>
  tags: ComputedRef<string[]>
  languages: ComputedRef<string[]>
  refresh: () => Promise<void>
  /** The listener count a relay of the station reported, when one did lately. */
  listenersOf: (station: Manifest) => ShownListeners | undefined
}

export function useDirectory (): DirectoryState {
  const service = useNetworkService()
  const cache = new DirectoryCache()
  const known = new Map<string, ResolvedStation>()
  const stations = shallowRef<Manifest[]>([])
  const phase = shallowRef<DirectoryPhase>('cache')
  const message = shallowRef('loading saved stations…')
  const error = shallowRef<string>()
  const fromCache = shallowRef(false)
  const query = ref('')
  const tag = ref('')
  const language = ref('')

  const publish = (): void => {
    stations.value = [...known.values()].map((s) => s.manifest).sort(byName)
  }
  const merge = (list: Iterable<ResolvedStation>): void => {
    for (const s of list) {
      const current = known.get(s.manifest.id)
      if (current === undefined || isNewerManifest(s.manifest, current.manifest)) known.set(s.manifest.id, s)
    }
    publish()
  }

  const onAnnounce = (e: CustomEvent<ResolvedStation>): void => {
    merge([e.detail])
    void cache.save([e.detail])
  }
  service.addEventListener('station:announce', onAnnounce)
  const reports = shallowRef<ListenerReport[]>(service.listenerReports)
  const onReport = (): void => { reports.value = service.listenerReports }
  service.addEventListener('listeners:report', onReport)
  onScopeDispose(() => {
    service.removeEventListener('station:announce', onAnnounce)
    service.removeEventListener('listeners:report', onReport)
  })
  const listenersOf = (station: Manifest): ShownListeners | undefined => listenersFor(station, reports.value, Date.now())

  let running: Promise<void> | undefined
  const refresh = async (): Promise<void> => {
    running ??= (async () => {
      error.value = undefined
      try {
        phase.value = 'connecting'
        message.value = 'connecting to relay…'
        await service.start()
        phase.value = 'searching'
        message.value = 'searching the directory…'
        const found = await service.list({
          onProgress: ({ found: n, resolved }) => { message.value = `found ${n} station${n === 1 ? '' : 's'}, verified ${resolved}…` },
          // Show each station as soon as its signature checks out.
          onStation: (station) => { merge([station]) }
        })
        merge(found)
        await cache.save(found)
        fromCache.value = false
        phase.value = 'ready'
        message.value = `found ${known.size} station${known.size === 1 ? '' : 's'}`
      } catch (err) {
        phase.value = 'error'
        error.value = humanError(err as Error)
      } finally {
        running = undefined
      }
    })()
    return running
  }

  void cache.load().then((cached) => {
    if (cached.length > 0 && known.size === 0) fromCache.value = true
    merge(cached)
  }).finally(() => { void refresh() })

  // Live stations first, and only while their claims hold.
  const now = useNow()
  const visible = computed(() => {
    const q = query.value.trim().toLowerCase()
    return stations.value
      .filter((m) => q === '' || m.name.toLowerCase().includes(q) || m.description.toLowerCase().includes(q))
      .filter((m) => tag.value === '' || m.tags.includes(tag.value))
      .filter((m) => language.value === '' || m.language === language.value)
      .sort((a, b) => Number(isOnAir(b, now.value)) - Number(isOnAir(a, now.value)))
  })
  const tags = computed(() => [...new Set(stations.value.flatMap((m) => m.tags))].sort())
  const languages = computed(() => [...new Set(stations.value.map((m) => m.language))].sort())

  return { stations, visible, phase, message, error, fromCache, query, tag, language, tags, languages, refresh, listenersOf }
}
