/**
 * The studio's recorder on the page: its status (refreshed every second
 * while it records), the recordings kept in this browser, and what the
 * producer does with them: record, stop, finish one a crash left open,
 * download, delete.
 */
import { onScopeDispose, shallowRef, watch, type Ref, type ShallowRef } from 'vue'
import { RecordingLibrary, type StoredRecording } from '../services/recording/library.ts'
import type { RecorderStatus } from '../services/recording/recorder.ts'
import { opfsRecordingStorage } from '../services/recording/storage.ts'
import type { StudioService } from '../services/studio/studio.ts'

export interface RecordingState {
  /** The recorder's status; undefined while no studio runs. */
  status: ShallowRef<RecorderStatus | undefined>
  /** Recordings kept in this browser, newest first (not the one running). */
  recordings: ShallowRef<StoredRecording[]>
  error: ShallowRef<string | undefined>
  start: (show: string, format?: 'wav' | 'opus') => Promise<void>
  stop: () => Promise<void>
  /** Finishes a recording a crash or a reload left open. */
  finish: (dir: string) => Promise<void>
  /** Saves one file of a recording to the computer. */
  download: (dir: string, file: string) => Promise<void>
  /** Saves every track of a recording as one ZIP. */
  downloadAll: (dir: string) => Promise<void>
  /** The share (0…1) of an archive being made, while one is. */
  archiving: ShallowRef<number | undefined>
  remove: (dir: string) => Promise<void>
}

let library: RecordingLibrary | undefined

/** Hands `file` to the browser's downloads. */
function save (file: File): void {
  const url = URL.createObjectURL(file)
  const link = document.createElement('a')
  link.href = url
  link.download = file.name
  link.click()
  // The download has its bytes long before this; the URL must outlive the click.
  setTimeout(() => { URL.revokeObjectURL(url) }, 60_000)
}

export function useRecording (studio: Readonly<Ref<StudioService | undefined>>): RecordingState {
  library ??= new RecordingLibrary(opfsRecordingStorage())
  const books = library
  const status = shallowRef<RecorderStatus>()
  const recordings = shallowRef<StoredRecording[]>([])
  const error = shallowRef<string>()
  const archiving = shallowRef<number>()
  let timer: ReturnType<typeof setInterval> | undefined

  const attempt = async (work: () => Promise<void>): Promise<void> => {
    error.value = undefined
    try {
      await work()
    } catch (err) {
      error.value = (err as Error).message
    }
  }
  const refresh = async (): Promise<void> => {
    recordings.value = await books.list(status.value?.dir)
  }
  const show = (service: StudioService | undefined): void => {
    status.value = service?.recorder?.status
  }

  watch(studio, (service, _old, onCleanup) => {
    show(service)
    void attempt(refresh)
    const recorder = service?.recorder
    if (recorder === undefined) return
    const onStatus = (): void => {
      const was = status.value
      show(service)
      // A recording that stopped joins the list, and again once its Opus files are made.
      const stopped = was?.recording === true && status.value?.recording !== true
      const converted = was?.converting !== undefined && status.value?.converting === undefined
      if (stopped || converted) void attempt(refresh)
    }
    recorder.addEventListener('status:change', onStatus)
    // A caller's own recording, placed: it joins its recording's files.
    const onPlaced = (): void => { void attempt(refresh) }
    service?.uploads?.addEventListener('upload:place', onPlaced)
    clearInterval(timer)
    timer = setInterval(() => { if (recorder.recording) show(service) }, 1000)
    onCleanup(() => {
      service?.uploads?.removeEventListener('upload:place', onPlaced)
      recorder.removeEventListener('status:change', onStatus)
      clearInterval(timer)
    })
  }, { immediate: true })
  onScopeDispose(() => { clearInterval(timer) })

  return {
    status,
    recordings,
    error,
    start: async (name, format) => attempt(async () => { await studio.value?.startRecording({ show: name, format }) }),
    stop: async () => attempt(async () => { await studio.value?.stopRecording() }),
    finish: async (dir) => attempt(async () => {
      await books.finish(dir)
      await refresh()
    }),
    download: async (dir, file) => attempt(async () => { save(await books.file(dir, file)) }),
    downloadAll: async (dir) => attempt(async () => {
      archiving.value = 0
      try {
        save(await books.archive(dir, (share) => { archiving.value = share }))
      } finally {
        archiving.value = undefined
      }
    }),
    archiving,
    remove: async (dir) => attempt(async () => {
      await books.remove(dir)
      await refresh()
    })
  }
}
