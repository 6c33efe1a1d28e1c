/**
 * My station: generate or import a station key (stored encrypted), unlock it,
 * edit the manifest with the protocol's field checks, and publish from the
 * browser; republished while the page is open.
 */
import { generateStationKey, manifestDraftSchema, type ManifestDraft, type ManifestDraftInput, type StationKey } from '@openstudio/protocol'
import { shallowRef, type ShallowRef } from 'vue'
import { KeyStore, type EncryptedKey } from '../services/key-store.ts'
import { humanError } from '../services/network.ts'
import { StationHost } from '../services/station-host.ts'
import { useNetworkService } from './network.ts'

export interface PublishStatus {
  phase: 'idle' | 'publishing' | 'published' | 'error'
  seq?: number
  storedOn?: number
  at?: number
  error?: string
}

export interface MyStation {
  keys: ShallowRef<EncryptedKey[]>
  unlocked: ShallowRef<StationKey | undefined>
  busy: ShallowRef<string | undefined>
  error: ShallowRef<string | undefined>
  status: ShallowRef<PublishStatus>
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
const hostRef = shallowRef<StationHost>()

/** The running station node of the unlocked key, if any. */
export function useStationHost (): ShallowRef<StationHost | undefined> {
  return hostRef
}

export function useMyStation (): MyStation {
  const network = useNetworkService()
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

  const startHost = async (key: StationKey): Promise<void> => {
    await host?.stop()
    const config = network.config ?? (await network.start(), network.config)
    if (config === undefined) throw new Error('the network is not configured')
    host = await StationHost.start({ key, config })
    hostRef.value = host
    host.addEventListener('publish:done', (e) => {
      status.value = { phase: 'published', seq: e.detail.seq, storedOn: e.detail.storedOn, at: Date.now() }
    })
    host.addEventListener('publish:error', (e) => {
      status.value = { ...status.value, phase: 'error', error: humanError(e.detail) }
    })
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
    }),
    validate: (draft) => {
      const result = manifestDraftSchema.safeParse(draft)
      if (result.success) return { ok: true, draft: result.data }
      const errors: Record<string, string> = {}
      for (const issue of result.error.issues) errors[issue.path.join('.') || 'form'] ??= issue.message
      return { ok: false, errors }
    },
    publish: async (draft) => {
      if (host === undefined) return
      status.value = { ...status.value, phase: 'publishing', error: undefined }
      try {
        await host.publish(draft)
      } catch (err) {
        status.value = { ...status.value, phase: 'error', error: humanError(err as Error) }
      }
    }
  }
}
