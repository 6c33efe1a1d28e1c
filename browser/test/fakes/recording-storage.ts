/** Recording storage in memory: files as growing byte arrays, like OPFS's (gaps read as zeros). */
import { StorageWriteError, type RecordingStorage, type StoredFile, type TrackHandle } from '../../src/services/recording/storage.ts'

export class MemoryRecordingStorage implements RecordingStorage {
  readonly data = new Map<string, Uint8Array>()
  quota = 1e9
  /** While set, every track write fails as OPFS's do with this DOMException name. */
  failWrites?: string
  open = async (dir: string, name: string): Promise<TrackHandle> => {
    const key = `${dir}/${name}`
    if (!this.data.has(key)) this.data.set(key, new Uint8Array(0))
    return {
      write: async (at, bytes) => {
        if (this.failWrites !== undefined) throw new StorageWriteError(this.failWrites, `${this.failWrites}: the write failed`)
        const old = this.data.get(key) ?? new Uint8Array(0)
        const next = new Uint8Array(Math.max(old.length, at + bytes.length))
        next.set(old)
        next.set(bytes, at)
        this.data.set(key, next)
      },
      truncate: async (size) => {
        const old = this.data.get(key) ?? new Uint8Array(0)
        const next = new Uint8Array(size)
        next.set(old.subarray(0, size))
        this.data.set(key, next)
      },
      read: async (at, length) => (this.data.get(key) ?? new Uint8Array(0)).slice(at, at + length),
      flush: async () => {},
      close: async () => {}
    }
  }

  put = async (dir: string, name: string, bytes: Uint8Array): Promise<void> => { this.data.set(`${dir}/${name}`, bytes.slice()) }
  dirs = async (): Promise<string[]> => [...new Set([...this.data.keys()].map((k) => k.split('/')[0] as string))]
  files = async (dir: string): Promise<StoredFile[]> => [...this.data].filter(([k]) => k.startsWith(`${dir}/`)).map(([k, v]) => ({ name: k.slice(dir.length + 1), size: v.length }))
  read = async (dir: string, name: string): Promise<File> => {
    const bytes = this.data.get(`${dir}/${name}`)
    if (bytes === undefined) throw new DOMException(`${name} is not there`, 'NotFoundError')
    return new File([bytes.slice()], name)
  }

  remove = async (dir: string): Promise<void> => { for (const k of [...this.data.keys()]) if (k.startsWith(`${dir}/`)) this.data.delete(k) }
  removeFile = async (dir: string, name: string): Promise<void> => { this.data.delete(`${dir}/${name}`) }
  estimate = async (): Promise<{ usage: number, quota: number }> => ({ usage: [...this.data.values()].reduce((n, v) => n + v.length, 0), quota: this.quota })

  /** The bytes of one file. */
  bytes (dir: string, name: string): Uint8Array {
    const bytes = this.data.get(`${dir}/${name}`)
    if (bytes === undefined) throw new Error(`no ${dir}/${name}`)
    return bytes
  }
}
