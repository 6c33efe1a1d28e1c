/**
 * Where recordings live: the Origin Private File System, one directory per
 * recording. Track files are written in place through sync access handles,
 * which only a dedicated Worker may open: each write lands on disk where it
 * belongs (no swap file that a crash would lose), so a page that dies
 * mid-show leaves everything written so far. The Worker ships as source text
 * from a blob URL, like the audio worklets.
 *
 * Reading (listing, downloading, the recovery's sizes) happens on the main
 * thread through the ordinary OPFS API.
 */
import { logger } from '@libp2p/logger'

const log = logger('openstudio:app:recording:storage')

/** One file being written: writes land at a byte position; gaps read as zeros. */
export interface TrackHandle {
  /** Writes `bytes` at byte `at` (past the end, the file grows with zeros). */
  write: (at: number, bytes: Uint8Array<ArrayBuffer>) => Promise<void>
  /** Sets the file's length: shorter cuts, longer pads with zeros. */
  truncate: (size: number) => Promise<void>
  /** Reads up to `length` bytes from byte `at` (fewer at the end). */
  read: (at: number, length: number) => Promise<Uint8Array<ArrayBuffer>>
  flush: () => Promise<void>
  /** Flushes and lets go of the file. Idempotent. */
  close: () => Promise<void>
}

/** A stored file: its name and size in bytes. */
export interface StoredFile {
  name: string
  size: number
}

/** The storage the recorder writes to and the studio lists: OPFS in the browser, memory in tests. */
export interface RecordingStorage {
  /** Opens (creating) `name` in directory `dir` (created too) for writing in place. */
  open: (dir: string, name: string) => Promise<TrackHandle>
  /** Replaces the whole of `name` in `dir` (a small file: the recording's manifest). */
  put: (dir: string, name: string, bytes: Uint8Array<ArrayBuffer>) => Promise<void>
  /** The recordings' directories. */
  dirs: () => Promise<string[]>
  /** The files of one directory, with their sizes. */
  files: (dir: string) => Promise<StoredFile[]>
  /** One file, to read or download. @throws {DOMException} NotFoundError when it is not there */
  read: (dir: string, name: string) => Promise<File>
  /** Deletes a directory and everything in it. */
  remove: (dir: string) => Promise<void>
  /** Deletes one file (no error when it is not there). */
  removeFile: (dir: string, name: string) => Promise<void>
  /** How much this origin stores, and may. */
  estimate: () => Promise<{ usage: number, quota: number }>
}

/** The Worker: holds one sync access handle per open file; every request is answered once, in order. */
const WORKER_SOURCE = `
const handles = new Map()
const root = navigator.storage.getDirectory()
async function fileHandle (dir, name) {
  const folder = await (await root).getDirectoryHandle(dir, { create: true })
  return folder.getFileHandle(name, { create: true })
}
const ops = {
  async open ({ key, dir, name }) {
    if (!handles.has(key)) handles.set(key, await (await fileHandle(dir, name)).createSyncAccessHandle())
  },
  async write ({ key, at, bytes }) {
    const handle = handles.get(key)
    let done = 0
    while (done < bytes.length) done += handle.write(bytes.subarray(done), { at: at + done })
  },
  async truncate ({ key, size }) { handles.get(key).truncate(size) },
  async read ({ key, at, length }) {
    const handle = handles.get(key)
    const bytes = new Uint8Array(Math.max(0, Math.min(length, handle.getSize() - at)))
    handle.read(bytes, { at })
    return bytes
  },
  async flush ({ key }) { handles.get(key).flush() },
  async close ({ key }) {
    const handle = handles.get(key)
    handles.delete(key)
    if (handle) { handle.flush(); handle.close() }
  },
  async put ({ dir, name, bytes }) {
    const handle = await (await fileHandle(dir, name)).createSyncAccessHandle()
    try {
      handle.truncate(0)
      handle.write(bytes, { at: 0 })
      handle.flush()
    } finally {
      handle.close()
    }
  }
}
let queue = Promise.resolve()
onmessage = (e) => {
  const { id, op } = e.data
  queue = queue.then(() => ops[op](e.data)).then(
    (value) => { postMessage({ id, ok: true, value }, value instanceof Uint8Array ? [value.buffer] : []) },
    (err) => { postMessage({ id, ok: false, name: err && err.name, message: String(err && err.message || err) }) }
  )
}
`

/** A failure the Worker reported, with the DOMException's name (QuotaExceededError, NoModificationAllowedError…). */
export class StorageWriteError extends Error {
  override readonly name = 'StorageWriteError'
  constructor (readonly reason: string, message: string) {
    super(message)
  }
}

/** The browser's: OPFS, written from a dedicated Worker. */
export function opfsRecordingStorage (): RecordingStorage {
  let worker: Worker | undefined
  let next = 1
  const pending = new Map<number, { resolve: (value: unknown) => void, reject: (err: Error) => void }>()
  const call = async (message: Record<string, unknown>, transfer: Transferable[] = []): Promise<unknown> => {
    if (worker === undefined) {
      const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }))
      worker = new Worker(url)
      URL.revokeObjectURL(url)
      worker.onmessage = (e: MessageEvent<{ id: number, ok: boolean, value?: unknown, name?: string, message?: string }>) => {
        const waiting = pending.get(e.data.id)
        pending.delete(e.data.id)
        if (e.data.ok) waiting?.resolve(e.data.value)
        else waiting?.reject(new StorageWriteError(e.data.name ?? 'Error', e.data.message ?? 'the recording storage failed'))
      }
      worker.onerror = (e) => { log.error('recording storage worker: %s', e.message) }
    }
    const id = next++
    const done = new Promise<unknown>((resolve, reject) => { pending.set(id, { resolve, reject }) })
    worker.postMessage({ id, ...message }, transfer)
    return done
  }
  const root = async (): Promise<FileSystemDirectoryHandle> => navigator.storage.getDirectory()
  const folder = async (dir: string): Promise<FileSystemDirectoryHandle> => (await root()).getDirectoryHandle(dir)
  let opened = 0
  return {
    open: async (dir, name) => {
      const key = `${dir}/${name}#${opened++}`
      await call({ op: 'open', key, dir, name })
      let closed = false
      return {
        write: async (at, bytes) => { await call({ op: 'write', key, at, bytes }, [bytes.buffer]) },
        truncate: async (size) => { await call({ op: 'truncate', key, size }) },
        read: async (at, length) => await call({ op: 'read', key, at, length }) as Uint8Array<ArrayBuffer>,
        flush: async () => { await call({ op: 'flush', key }) },
        close: async () => {
          if (closed) return
          closed = true
          await call({ op: 'close', key })
        }
      }
    },
    put: async (dir, name, bytes) => { await call({ op: 'put', dir, name, bytes }) },
    dirs: async () => {
      const names: string[] = []
      for await (const [name, handle] of (await root()).entries()) if (handle.kind === 'directory') names.push(name)
      return names
    },
    files: async (dir) => {
      const list: StoredFile[] = []
      for await (const [name, handle] of (await folder(dir)).entries()) {
        if (handle.kind === 'file') list.push({ name, size: (await (handle as FileSystemFileHandle).getFile()).size })
      }
      return list
    },
    read: async (dir, name) => (await (await folder(dir)).getFileHandle(name)).getFile(),
    remove: async (dir) => { await (await root()).removeEntry(dir, { recursive: true }) },
    removeFile: async (dir, name) => {
      try {
        await (await folder(dir)).removeEntry(name)
      } catch (err) {
        if ((err as DOMException).name !== 'NotFoundError') throw err
      }
    },
    estimate: async () => {
      const { usage = 0, quota = 0 } = await navigator.storage.estimate()
      return { usage, quota }
    }
  }
}
