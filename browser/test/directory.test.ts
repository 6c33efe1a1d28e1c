import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { effectScope, type EffectScope } from 'vue'
import type { ResolvedStation } from '@openstudio/network'
import { DIRECTORY_DEFAULTS, useDirectory, type DirectoryInit, type DirectoryNetwork, type DirectoryState, type PageVisibility } from '../src/composables/directory.ts'
import { DirectoryUnavailableError } from '../src/services/directory-http.ts'
import { httpStation, MemoryDirectoryApi, signedStation } from './fakes/directory-relay.ts'

/** Yields to everything queued that is not a (fake) timer. */
async function flush (): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise((resolve) => { setImmediate(resolve) })
}

/** A page whose visibility the test sets. */
function fakeVisibility (): PageVisibility & { set: (visible: boolean) => void } {
  let visible = true
  const listeners = new Set<() => void>()
  return {
    visible: () => visible,
    watch: (onChange) => {
      listeners.add(onChange)
      return () => { listeners.delete(onChange) }
    },
    set: (value) => {
      visible = value
      for (const l of listeners) l()
    }
  }
}

/** The libp2p listing, in memory: counts loads and lists. */
function fakeNetwork (found: ResolvedStation[]): { load: () => Promise<DirectoryNetwork>, loads: number, lists: number } {
  const fake = {
    loads: 0,
    lists: 0,
    load: async (): Promise<DirectoryNetwork> => {
      fake.loads++
      const service = new EventTarget() as EventTarget & DirectoryNetwork
      return Object.assign(service, {
        listenerReports: [],
        start: async () => service,
        list: async () => {
          fake.lists++
          return found
        }
      }) as unknown as DirectoryNetwork
    }
  }
  return fake
}

const names = (directory: DirectoryState): string[] => directory.visible.value.map((m) => m.name)

let scope: EffectScope
let api: MemoryDirectoryApi
let visibility: ReturnType<typeof fakeVisibility>
let network: ReturnType<typeof fakeNetwork>
let saved: ResolvedStation[]

function open (init: DirectoryInit = {}): DirectoryState {
  scope = effectScope()
  const directory = scope.run(() => useDirectory({
    http: api,
    cache: { load: async () => saved, save: async () => {} },
    beforeVerify: async () => {},
    network: network.load,
    visibility,
    ...init
  }))
  if (directory === undefined) throw new Error('no directory')
  return directory
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  api = new MemoryDirectoryApi()
  visibility = fakeVisibility()
  network = fakeNetwork([])
  saved = []
})

afterEach(() => {
  scope?.stop()
  vi.useRealTimers()
})

describe('the directory page', () => {
  it('shows saved stations at once, then the relay page in its order, and never loads libp2p', async () => {
    const live = signedStation('Zulu Live')
    const quiet = signedStation('Alpha Quiet')
    saved = [{ manifest: quiet.manifest, record: quiet.record }]
    let answer!: () => void
    const held = new Promise<void>((resolve) => { answer = resolve })
    const list = api.list.bind(api)
    api.list = async (query, options) => { await held; return await list(query, options) }
    api.stations = [httpStation(live, 12), httpStation(quiet)]
    api.rejected = 1

    const directory = open()
    await flush()
    expect(names(directory)).toEqual(['Alpha Quiet'])
    expect(directory.fromCache.value).toBe(true)
    expect(directory.phase.value).toBe('loading')

    answer()
    await flush()
    // The relay's evidence order (live first), not the page's alphabetical one.
    expect(names(directory)).toEqual(['Zulu Live', 'Alpha Quiet'])
    expect(directory.phase.value).toBe('ready')
    expect(directory.fromCache.value).toBe(false)
    expect(directory.message.value).toBe('found 2 stations · via this relay')
    expect(directory.rejected.value).toBe(1)
    expect(directory.listenersOf(live.manifest)).toEqual({ count: 12 })
    expect(directory.listenersOf(quiet.manifest)).toBeUndefined()
    expect(api.queries).toEqual([{ text: '', tag: '', language: '', limit: DIRECTORY_DEFAULTS.pageSize }])
    expect(network.loads).toBe(0)
  })

  it('sends search and filters to the relay once typing stops, filtering what it has meanwhile', async () => {
    api.stations = [httpStation(signedStation('Jazz After Midnight', { tags: ['music'] })), httpStation(signedStation('Morning Talk', { tags: ['talk'] }))]
    const directory = open()
    await flush()
    directory.query.value = 'ja'
    await flush()
    await vi.advanceTimersByTimeAsync(100)
    directory.query.value = 'jazz'
    await flush()
    // Before the relay is asked, the page filters the stations it has.
    expect(names(directory)).toEqual(['Jazz After Midnight'])
    expect(api.queries).toHaveLength(1)
    await vi.advanceTimersByTimeAsync(DIRECTORY_DEFAULTS.searchDelayMs)
    await flush()
    expect(api.queries.slice(1)).toEqual([{ text: 'jazz', tag: '', language: '', limit: DIRECTORY_DEFAULTS.pageSize }])
    expect(names(directory)).toEqual(['Jazz After Midnight'])

    directory.query.value = ''
    directory.tag.value = 'talk'
    await vi.advanceTimersByTimeAsync(DIRECTORY_DEFAULTS.searchDelayMs)
    await flush()
    expect(api.queries.at(-1)).toMatchObject({ text: '', tag: 'talk' })
    expect(names(directory)).toEqual(['Morning Talk'])
    expect(directory.tags.value).toEqual(['music', 'talk'])
  })

  it('loads more pages with the cursor until there are none', async () => {
    api.stations = ['A', 'B', 'C', 'D', 'E'].map((n) => httpStation(signedStation(`Station ${n}`)))
    const directory = open({ pageSize: 2 })
    await flush()
    expect(names(directory)).toEqual(['Station A', 'Station B'])
    expect(directory.hasMore.value).toBe(true)
    expect(directory.total.value).toBe(5)
    await directory.loadMore()
    await directory.loadMore()
    expect(names(directory)).toEqual(['Station A', 'Station B', 'Station C', 'Station D', 'Station E'])
    expect(api.queries.map((q) => q.cursor)).toEqual([undefined, '2', '4'])
    expect(directory.hasMore.value).toBe(false)
  })

  it('asks for the first page again while the page is seen, keeping the newest manifest of each station', async () => {
    const first = signedStation('Renamed Radio', { seq: 1 })
    api.stations = [httpStation(first)]
    const directory = open()
    await flush()
    expect(api.queries).toHaveLength(1)

    // The station renamed itself, and a new one came on air.
    const newer = signedStation('Renamed Radio, Live', { key: first.key, seq: 2 })
    const arrived = signedStation('New Arrival')
    api.stations = [httpStation(arrived, 3), httpStation(newer)]
    await vi.advanceTimersByTimeAsync(DIRECTORY_DEFAULTS.pollMs)
    await flush()
    expect(names(directory)).toEqual(['New Arrival', 'Renamed Radio, Live'])

    // A relay that lags behind never rolls a station back.
    api.stations = [httpStation(arrived), httpStation(first)]
    await vi.advanceTimersByTimeAsync(DIRECTORY_DEFAULTS.pollMs)
    await flush()
    expect(names(directory)).toEqual(['New Arrival', 'Renamed Radio, Live'])

    // Hidden, the page asks nothing; seen again after a while, it asks at once.
    visibility.set(false)
    const asked = api.queries.length
    await vi.advanceTimersByTimeAsync(3 * DIRECTORY_DEFAULTS.pollMs)
    expect(api.queries).toHaveLength(asked)
    visibility.set(true)
    await flush()
    expect(api.queries).toHaveLength(asked + 1)
  })

  it('asks a busy relay again at the next poll, without loading libp2p', async () => {
    api.stations = [httpStation(signedStation('Patient Radio'))]
    api.failure = new DirectoryUnavailableError('the relay answered 429', 429)
    const directory = open()
    await flush()
    expect(directory.phase.value).toBe('error')
    expect(directory.error.value).toMatch(/busy/)
    api.failure = undefined
    await vi.advanceTimersByTimeAsync(DIRECTORY_DEFAULTS.pollMs)
    await flush()
    expect(directory.phase.value).toBe('ready')
    expect(names(directory)).toEqual(['Patient Radio'])
    expect(directory.source.value).toBe('relay')
    expect(network.loads).toBe(0)
  })

  it('falls back to the libp2p listing when the relay has no directory API, and says so', async () => {
    const heard = signedStation('Heard Over libp2p')
    network = fakeNetwork([{ manifest: heard.manifest, record: heard.record }])
    api.failure = new DirectoryUnavailableError('the relay answered 404', 404)
    const directory = open()
    await flush()
    expect(network.loads).toBe(1)
    expect(network.lists).toBe(1)
    expect(directory.source.value).toBe('network')
    expect(directory.fallback.value).toMatch(/404/)
    expect(directory.phase.value).toBe('ready')
    expect(names(directory)).toEqual(['Heard Over libp2p'])
    // Polls and searches no longer go to the relay.
    directory.query.value = 'heard'
    await vi.advanceTimersByTimeAsync(DIRECTORY_DEFAULTS.pollMs)
    await flush()
    expect(api.queries).toHaveLength(1)
    expect(names(directory)).toEqual(['Heard Over libp2p'])
  })
})
