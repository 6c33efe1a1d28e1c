/**
 * My station: generate or import a station key (stored encrypted), unlock it,
 * edit the manifest with the protocol's field checks, and publish from the
 * browser; republished while the page is open. The first publish of a key
 * mints its proof-of-work stamp (seconds, shown as `stamping`), which is then
 * stored with the key: paid once per key.
 */
import { logger } from '@libp2p/logger'
import {
  generateStationKey, manifestDraftSchema, requiredStampBits, type ManifestDraft, type ManifestDraftInput, type StationKey
} from '@openstudio/protocol'
import { shallowRef, type ShallowRef } from 'vue'
import { KeyStore, type EncryptedKey } from '../services/key-store.ts'
import { humanError } from '../services/human-error.ts'
import { StationHost, type StampMinted } from '../services/station-host.ts'
import { useNetworkLoader } from './network.ts'

const log = logger('openstudio:app:my-station')

export interface PublishStatus {
  phase: 'idle' | 'publishing' | 'published' | 'error'
  seq?: number
  storedOn?: number
  at?: number
  error?: string
}

/** The key's proof of work, from the publish that mints it (once per key) until the key is locked. */
export interface StampStatus {
  /** Hashes tried, and the number expected on average: a random search, it may take fewer or more. */
  tried: number
  expected: number
  /** `tried / expected` in whole percent, at most 99 until the stamp is found; 100 then. */
  percent: number
  /** More hashes tried than expected: a slow draw, not a fault. */
  overdue: boolean
  /** The stamp was found. */
  done: boolean
}

/** The stamp search's status after `tried` of `expected` hashes. */
export function stampStatus (tried: number, expected: number): StampStatus {
  const percent = expected > 0 ? Math.min(99, Math.floor(100 * tried / expected)) : 0
  return { tried, expected, percent, overdue: tried > expected, done: false }
}

export interface MyStation {
  keys: ShallowRef<EncryptedKey[]>
  unlocked: ShallowRef<StationKey | undefined>
  busy: ShallowRef<string | undefined>
  error: ShallowRef<string | undefined>
  status: ShallowRef<PublishStatus>
  /** The key's stamp being minted (or just minted); undefined when the key came with one. */
  stamping: ShallowRef<StampStatus | undefined>
  refreshKeys: () => Promise<void>
  generate: (passphrase: string) => Promise<void>
  importFile: (file: File, passphrase: string) => Promise<void>
  exportFile: (id: string) => Promise<void>
  unlock: (id: string, passphrase: string) => Promise<void>
  lock: () => Promise<void>
  validate: (draft: unknown) => { ok: true, draft: ManifestDraft } | { ok: false, errors: Record<string, string> }
  publish: (draft: ManifestDraftInput) => Promise<void>
}

/**
 * The unlocked station outlives the page that unlocked it: the studio and the
 * station page share it, and it stops only when the key is locked.
 */
const keys = shallowRef<EncryptedKey[]>([])
const unlocked = shallowRef<StationKey>()
const busy = shallowRef<string>()
const error = shallowRef<string>()
const status = shallowRef<PublishStatus>({ phase: 'idle' })
const stamping = shallowRef<StampStatus>()
const hostRef = shallowRef<StationHost>()

/** The running station node of the unlocked key, if any. */
export function useStationHost (): ShallowRef<StationHost | undefined> {
  return hostRef
}

export function useMyStation (): MyStation {
  const loader = useNetworkLoader()
  const store = new KeyStore()
  let host = hostRef.value

  const task = async (what: string, fn: () => Promise<void>): Promise<void> => {
    busy.value = what
    error.value = undefined
    try {
      await fn()
    } catch (err) {
      error.value = humanError(err as Error)
    } finally {
      busy.value = undefined
    }
  }

  const refreshKeys = async (): Promise<void> => { keys.value = await store.list() }

  /** Stores a minted stamp with the key. Should that fail, this page still uses it; the next unlock pays again. */
  const keepStamp = async ({ id, stamp }: StampMinted): Promise<void> => {
    try {
      await store.saveStamp(id, stamp)
      await refreshKeys()
    } catch (err) {
      log.error('the stamp of %s was not stored: %s', id, (err as Error).message)
    }
  }

  const startHost = async (key: StationKey): Promise<void> => {
    await host?.stop()
    stamping.value = undefined
    const network = await loader.get()
    const config = network.config ?? (await network.start(), network.config)
    if (config === undefined) throw new Error('the network is not configured')
    host = await StationHost.start({ key, config })
    hostRef.value = host
    host.addEventListener('publish:done', (e) => {
      status.value = { phase: 'published', seq: e.detail.seq, storedOn: e.detail.storedOn, at: Date.now() }
    })
    host.addEventListener('publish:error', (e) => {
      status.value = { ...status.value, phase: 'error', error: humanError(e.detail) }
      // A publish that failed while minting tries again from the start.
      if (stamping.value?.done === false) stamping.value = undefined
    })
    host.addEventListener('publish:step', (e) => {
      // Publishing the stamp this process requires: the search starts at 0 of 2^bits hashes.
      if (e.detail === 'stamp') stamping.value = stampStatus(0, 2 ** requiredStampBits())
      else if (stamping.value?.done === false) stamping.value = { ...stamping.value, percent: 100, overdue: false, done: true }
    })
    host.addEventListener('stamp:progress', (e) => { stamping.value = stampStatus(e.detail.tried, e.detail.expected) })
    host.addEventListener('stamp:minted', (e) => { void keepStamp(e.detail) })
    unlocked.value = key
  }

  const download = (name: string, text: string): void => {
    const url = URL.createObjectURL(new Blob([text], { type: 'application/json' }))
    const a = document.createElement('a')
    a.href = url
    a.download = name
    a.click()
    URL.revokeObjectURL(url)
  }

  void refreshKeys()

  return {
    keys,
    unlocked,
    busy,
    error,
    status,
    stamping,
    refreshKeys,
    generate: async (passphrase) => task('generating a station key…', async () => {
      const key = generateStationKey()
      await store.save(key, passphrase)
      await refreshKeys()
      await startHost(key)
    }),
    importFile: async (file, passphrase) => task('importing the key…', async () => {
      const key = await store.importFile(await file.text(), passphrase)
      await refreshKeys()
      await startHost(key)
    }),
    exportFile: async (id) => task('exporting…', async () => {
      download(`openstudio-${id.slice(-8)}.key.json`, await store.exportFile(id))
    }),
    unlock: async (id, passphrase) => task('unlocking…', async () => {
      await startHost(await store.unlock(id, passphrase))
    }),
    lock: async () => task('locking…', async () => {
      await host?.stop()
      host = undefined
      hostRef.value = undefined
      unlocked.value = undefined
      status.value = { phase: 'idle' }
      stamping.value = undefined
    }),
    validate: (draft) => {
      const result = manifestDraftSchema.safeParse(draft)
      if (result.success) return { ok: true, draft: result.data }
      const errors: Record<string, string> = {}
      for (const issue of result.error.issues) errors[issue.path.join('.') || 'form'] ??= issue.message
      return { ok: false, errors }
    },
    publish: async (draft) => {
      if (host === undefined || status.value.phase === 'publishing') return
      status.value = { ...status.value, phase: 'publishing', error: undefined }
      try {
        await host.publish(draft)
      } catch (err) {
        status.value = { ...status.value, phase: 'error', error: humanError(err as Error) }
      }
    }
  }
}
