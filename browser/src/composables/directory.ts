/**
 * The directory as the UI sees it, with no libp2p node: saved stations at
 * once, then the first page of the relay's directory API (live first), more
 * on request, and the first page again every `pollMs` while the page is
 * visible. Search and filters go to the relay (after `searchDelayMs` of
 * quiet); until it answers, the stations at hand are filtered here. Every
 * record is verified in the page (directory-http.ts).
 *
 * When the relay's API fails (an older relay: 404), the libp2p listing
 * takes over, loaded then: DHT, snapshots and announcements, as before. A
 * relay that is only busy (429, 503) is asked again at the next poll.
 *
 * @example
 * ```ts
 * const { visible, phase, query, loadMore, hasMore } = useDirectory()
 * const directory = useDirectory({ http, cache, network, visibility })   // a test's parts
 * ```
 */
import type { ResolvedStation } from '@openstudio/network'
import type { ListenerReport, Manifest } from '@openstudio/protocol'
import { computed, onScopeDispose, ref, shallowRef, watch, type ComputedRef, type Ref, type ShallowRef } from 'vue'
import type { AbortOptions } from '../services/abort.ts'
import { DirectoryCache } from '../services/directory-cache.ts'
import { createDirectoryHttp, type DirectoryHttp, type StationsQuery } from '../services/directory-http.ts'
import { byName, filterLocally, keepNewest, shownTitle, type KnownStation, type StationFilter } from '../services/directory-order.ts'
import { humanError } from '../services/human-error.ts'
import { listenersFor } from '../services/listeners.ts'
import type { NetworkService } from '../services/network.ts'
import { loadStampPolicy } from '../services/stamp-policy.ts'
import { useNetworkLoader } from './network.ts'
import { useNow } from './now.ts'

export const DIRECTORY_DEFAULTS = {
  /** The first page is asked again this often while the page is visible: live stations come and go. */
  pollMs: 15_000,
  /** Search and filters go to the relay after this long without typing. */
  searchDelayMs: 250,
  /** Stations asked per page. */
  pageSize: 30
} as const

export type DirectoryPhase = 'cache' | 'loading' | 'ready' | 'error'

/** Where the list comes from: this relay's directory API, or the peer-to-peer network when the relay has none. */
export type DirectorySource = 'relay' | 'network'

/** The libp2p listing, as the directory uses it when the relay's API fails. */
export type DirectoryNetwork = Pick<NetworkService, 'start' | 'list' | 'listenerReports' | 'nowPlayingOf' | 'addEventListener' | 'removeEventListener'>

/** Whether the page is seen; `watch` calls back on changes and returns its undo. */
export interface PageVisibility {
  visible: () => boolean
  watch: (onChange: () => void) => () => void
}

export interface DirectoryInit {
  /** @default the page's relay (createDirectoryHttp, with the page's stamp policy) */
  http?: Pick<DirectoryHttp, 'list'>
  /** @default the page's DirectoryCache (IndexedDB) */
  cache?: Pick<DirectoryCache, 'load' | 'save'>
  /**
   * Runs before saved records are verified again.
   * @default loadStampPolicy
   */
  beforeVerify?: (options: AbortOptions) => Promise<void>
  /**
   * The libp2p network, loaded when first asked.
   * @default the app's NetworkLoader
   */
  network?: () => Promise<DirectoryNetwork>
  /** @default the document's visibilityState */
  visibility?: PageVisibility
  /** @default DIRECTORY_DEFAULTS.pollMs */
  pollMs?: number
  /** @default DIRECTORY_DEFAULTS.searchDelayMs */
  searchDelayMs?: number
  /** @default DIRECTORY_DEFAULTS.pageSize */
  pageSize?: number
}

export interface DirectoryState {
  /** Every station known, by name (for the filters' choices). */
  stations: ShallowRef<Manifest[]>
  /** What the query finds: the relay's answer in its order, or (until it answers) the stations at hand filtered here. */
  visible: ComputedRef<Manifest[]>
  phase: ShallowRef<DirectoryPhase>
  message: ShallowRef<string>
  error: ShallowRef<string | undefined>
  source: ShallowRef<DirectorySource>
  /** Why the list comes over the peer-to-peer network, when it does. */
  fallback: ShallowRef<string | undefined>
  fromCache: ShallowRef<boolean>
  /** Records the relay sent that failed verification, in what is shown. */
  rejected: ComputedRef<number>
  /** Stations that match the query, as the relay counts them. */
  total: ShallowRef<number | undefined>
  hasMore: ComputedRef<boolean>
  loadingMore: ShallowRef<boolean>
  query: Ref<string>
  tag: Ref<string>
  language: Ref<string>
  tags: ComputedRef<string[]>
  languages: ComputedRef<string[]>
  refresh: () => Promise<void>
  loadMore: () => Promise<void>
  /** The listeners a relay reported, when one did (the relay's word, not the station's). */
  listenersOf: (station: Manifest) => { count: number, relay?: string } | undefined
  /** What the station's show is on now, signed by the station, while it is on air. */
  nowPlayingOf: (station: Manifest) => string | undefined
}

/** The relay's answer for one query: station ids in its order. */
interface Results {
  key: string
  ids: string[]
  next?: string
  pages: number
  /** Records that failed verification: of the first page, and of the pages after it. */
  rejectedFirst: number
  rejectedMore: number
}

export function useDirectory (init: DirectoryInit = {}): DirectoryState {
  const http = init.http ?? createDirectoryHttp({ beforeVerify: loadStampPolicy })
  const cache = init.cache ?? new DirectoryCache()
  const beforeVerify = init.beforeVerify ?? loadStampPolicy
  const network = init.network ?? loaderOf(useNetworkLoader())
  const visibility = init.visibility ?? documentVisibility()
  const pollMs = init.pollMs ?? DIRECTORY_DEFAULTS.pollMs
  const searchDelayMs = init.searchDelayMs ?? DIRECTORY_DEFAULTS.searchDelayMs
  const pageSize = init.pageSize ?? DIRECTORY_DEFAULTS.pageSize

  const known = new Map<string, KnownStation>()
  const stations = shallowRef<Manifest[]>([])
  const results = shallowRef<Results>()
  const phase = shallowRef<DirectoryPhase>('cache')
  const message = shallowRef('loading saved stations…')
  const error = shallowRef<string>()
  const source = shallowRef<DirectorySource>('relay')
  const fallback = shallowRef<string>()
  const fromCache = shallowRef(false)
  const total = shallowRef<number>()
  const loadingMore = shallowRef(false)
  const reports = shallowRef<ListenerReport[]>([])
  const query = ref('')
  const tag = ref('')
  const language = ref('')
  const shutdown = new AbortController()

  const merge = (list: Iterable<KnownStation>): void => {
    if (keepNewest(known, list)) stations.value = [...known.values()].map((s) => s.manifest).sort(byName)
  }
  const save = (list: KnownStation[]): void => {
    // The cache only speeds up the next visit: a failed save costs nothing else.
    cache.save(list).catch(() => {})
  }
  const filter = (): StationFilter => ({ text: query.value.trim(), tag: tag.value, language: language.value })
  const keyOf = (f: StationFilter): string => JSON.stringify([f.text, f.tag, f.language])
  const askOf = (f: StationFilter): StationsQuery => ({ text: f.text, tag: f.tag, language: f.language, limit: pageSize })

  // Saved stations show while the relay is asked (verified again, under the relay's stamp policy).
  void (async () => {
    try {
      await beforeVerify({ signal: shutdown.signal })
      const cached = await cache.load()
      if (cached.length > 0 && results.value === undefined && source.value === 'relay') fromCache.value = true
      merge(cached)
    } catch {
      // No saved stations (a private window, a closed page): the relay's answer shows alone.
    }
  })()

  let listing: { controller: AbortController, key: string, work: Promise<void> } | undefined
  let more: AbortController | undefined
  let lastListed = 0

  /** Asks the relay for the first page of the query; a poll keeps the pages loaded after it; `fresh` skips the browser's cache. */
  const listFirst = async ({ poll = false, fresh = false } = {}): Promise<void> => {
    if (source.value === 'network') return poll ? undefined : await listOverNetwork()
    const f = filter()
    const key = keyOf(f)
    if (listing?.key === key) return await listing.work
    listing?.controller.abort()
    more?.abort()
    const controller = new AbortController()
    const signal = AbortSignal.any([controller.signal, shutdown.signal])
    const work = (async () => {
      if (!poll) {
        phase.value = 'loading'
        message.value = f.text === '' && f.tag === '' && f.language === '' ? 'asking this relay for stations…' : 'searching…'
        error.value = undefined
      }
      try {
        const page = await http.list(askOf(f), { signal, fresh })
        if (signal.aborted) return
        lastListed = Date.now()
        merge(page.stations)
        save(page.stations)
        const ids = page.stations.map((s) => s.manifest.id)
        const before = results.value
        results.value = poll && before?.key === key && before.pages > 1
          // Later pages stay; the relay's first page comes first.
          ? { ...before, ids: [...new Set([...ids, ...before.ids])], rejectedFirst: page.rejected }
          : { key, ids, next: page.next, pages: 1, rejectedFirst: page.rejected, rejectedMore: 0 }
        total.value = page.total
        fromCache.value = false
        phase.value = 'ready'
        message.value = `found ${page.total} station${page.total === 1 ? '' : 's'} · via this relay`
      } catch (err) {
        if (signal.aborted) return
        // A poll that fails leaves the list as it is; the next one asks again.
        if (poll) return
        if (isBusy(err as Error)) {
          // The relay has the API and will answer again: the next poll asks.
          phase.value = 'error'
          error.value = humanError(err as Error)
          return
        }
        source.value = 'network'
        fallback.value = humanError(err as Error)
        await listOverNetwork()
      }
    })()
    listing = { controller, key, work }
    try {
      await work
    } finally {
      if (listing?.work === work) listing = undefined
    }
  }

  const loadMore = async (): Promise<void> => {
    const current = results.value
    const f = filter()
    if (current?.next === undefined || current.key !== keyOf(f) || loadingMore.value || source.value !== 'relay') return
    more?.abort()
    const controller = new AbortController()
    more = controller
    const signal = AbortSignal.any([controller.signal, shutdown.signal])
    loadingMore.value = true
    error.value = undefined
    try {
      const page = await http.list({ ...askOf(f), cursor: current.next }, { signal })
      if (signal.aborted || results.value !== current) return
      merge(page.stations)
      save(page.stations)
      results.value = {
        ...current,
        ids: [...new Set([...current.ids, ...page.stations.map((s) => s.manifest.id)])],
        next: page.next,
        pages: current.pages + 1,
        rejectedMore: current.rejectedMore + page.rejected
      }
      total.value = page.total
    } catch (err) {
      if (!signal.aborted) error.value = humanError(err as Error)
    } finally {
      if (more === controller) loadingMore.value = false
    }
  }

  // The peer-to-peer listing, when the relay has no directory API.
  let service: DirectoryNetwork | undefined
  let networkRun: Promise<void> | undefined
  const onAnnounce = (e: CustomEvent<ResolvedStation>): void => {
    merge([e.detail])
    save([e.detail])
  }
  const onReport = (): void => { reports.value = service?.listenerReports ?? [] }
  // Titles heard on the network: counted, so that the cards read them again.
  const titlesHeard = shallowRef(0)
  const onNowPlaying = (): void => { titlesHeard.value++ }
  const listOverNetwork = async (): Promise<void> => {
    networkRun ??= (async () => {
      error.value = undefined
      phase.value = 'loading'
      message.value = 'joining the peer-to-peer network…'
      try {
        if (service === undefined) {
          service = await network()
          service.addEventListener('station:announce', onAnnounce)
          service.addEventListener('listeners:report', onReport)
          service.addEventListener('now-playing:change', onNowPlaying)
        }
        await service.start({ signal: shutdown.signal })
        message.value = 'searching the directory…'
        const found = await service.list({
          onProgress: ({ found: n, resolved }) => { message.value = `found ${n} station${n === 1 ? '' : 's'}, verified ${resolved}…` },
          // Show each station as soon as its signature checks out.
          onStation: (station) => { merge([station]) }
        })
        merge(found)
        save(found)
        fromCache.value = false
        phase.value = 'ready'
        message.value = `found ${known.size} station${known.size === 1 ? '' : 's'} · over the peer-to-peer network`
      } catch (err) {
        if (shutdown.signal.aborted) return
        phase.value = 'error'
        error.value = humanError(err as Error)
      } finally {
        networkRun = undefined
      }
    })()
    return networkRun
  }

  // Search and filters go to the relay once the typing stops.
  let searchTimer: ReturnType<typeof setTimeout> | undefined
  watch([query, tag, language], () => {
    clearTimeout(searchTimer)
    if (source.value === 'relay') searchTimer = setTimeout(() => { void listFirst() }, searchDelayMs)
  })
  // Live updates: the first page again while the page is seen, and at once when it is seen again after a while.
  const pollTimer = setInterval(() => { if (visibility.visible()) void listFirst({ poll: true }) }, pollMs)
  const unwatchVisibility = visibility.watch(() => {
    if (visibility.visible() && lastListed > 0 && Date.now() - lastListed >= pollMs) void listFirst({ poll: true })
  })
  onScopeDispose(() => {
    shutdown.abort()
    clearTimeout(searchTimer)
    clearInterval(pollTimer)
    unwatchVisibility()
    service?.removeEventListener('station:announce', onAnnounce)
    service?.removeEventListener('listeners:report', onReport)
    service?.removeEventListener('now-playing:change', onNowPlaying)
  })
  void listFirst()

  const now = useNow()
  const visible = computed(() => {
    const f = filter()
    const answer = results.value
    if (source.value === 'relay' && answer?.key === keyOf(f)) {
      // Read for its changes: a station's newest manifest is in `known`.
      void stations.value
      return answer.ids.flatMap((id) => { const s = known.get(id); return s === undefined ? [] : [s.manifest] })
    }
    return filterLocally(stations.value, f, now.value)
  })
  const hasMore = computed(() => source.value === 'relay' && results.value?.next !== undefined && results.value.key === keyOf(filter()))
  const rejected = computed(() => source.value === 'relay' && results.value !== undefined ? results.value.rejectedFirst + results.value.rejectedMore : 0)
  const tags = computed(() => [...new Set(stations.value.flatMap((m) => m.tags))].sort())
  const languages = computed(() => [...new Set(stations.value.map((m) => m.language))].sort())
  const listenersOf = (station: Manifest): { count: number, relay?: string } | undefined => {
    if (source.value === 'network') return listenersFor(station, reports.value, Date.now())
    void stations.value
    const count = known.get(station.id)?.listeners ?? 0
    return count > 0 ? { count } : undefined
  }

  const nowPlayingOf = (station: Manifest): string | undefined => {
    void stations.value
    void titlesHeard.value
    const signed = source.value === 'network' ? service?.nowPlayingOf(station.id) : known.get(station.id)?.nowPlaying
    return shownTitle(station, signed, now.value)
  }

  return {
    stations,
    visible,
    phase,
    message,
    error,
    source,
    fallback,
    fromCache,
    rejected,
    total,
    hasMore,
    loadingMore,
    query,
    tag,
    language,
    tags,
    languages,
    // A person who asks for a refresh wants what the relay holds now, not an answer the browser kept.
    refresh: async () => { await listFirst({ fresh: true }) },
    loadMore,
    listenersOf,
    nowPlayingOf
  }
}

/** A refusal for now (429, 503): the relay has a directory API, and answers again later. */
function isBusy (err: Error): boolean {
  const status = (err as { status?: number }).status
  return err.name === 'DirectoryUnavailableError' && (status === 429 || status === 503)
}

function loaderOf (loader: ReturnType<typeof useNetworkLoader>): () => Promise<DirectoryNetwork> {
  return async () => await loader.get()
}

function documentVisibility (): PageVisibility {
  return {
    visible: () => document.visibilityState === 'visible',
    watch: (onChange) => {
      document.addEventListener('visibilitychange', onChange)
      return () => { document.removeEventListener('visibilitychange', onChange) }
    }
  }
}
