/**
 * The recordings kept in this browser: listing them, finishing one that a
 * crash or a reload left open, handing out their files, deleting them.
 * Every manifest read back is checked (manifest.ts); a directory without a
 * valid one is listed as unreadable, never trusted.
 */
import { decodeManifest, encodeManifest, MANIFEST_NAME, trackFileName, type RecordingManifest } from './manifest.ts'
import type { RecordingStorage, StoredFile } from './storage.ts'
import { WAV_HEADER_BYTES, WAV_SAMPLE_BYTES, wavHeader, wavOffset } from './wav.ts'
import { zipArchive } from './zip.ts'

export interface StoredRecording {
  dir: string
  /** Undefined when the manifest is missing or not valid. */
  manifest?: RecordingManifest
  files: StoredFile[]
  /** Bytes of all its files. */
  bytes: number
  /** Seconds of its longest track, from the files' sizes. */
  seconds: number
  /** It never stopped: a crash, or a reload mid-show. */
  unfinished: boolean
}

export class RecordingLibrary {
  constructor (private readonly storage: RecordingStorage) {}

  /** Every recording, newest first; `running` (the one being recorded now) is left out. */
  async list (running?: string): Promise<StoredRecording[]> {
    const dirs = (await this.storage.dirs()).filter((d) => d.startsWith('recording-') && d !== running)
    const all = await Promise.all(dirs.map(async (dir) => this.read(dir)))
    return all.sort((a, b) => (b.manifest?.startedAt ?? 0) - (a.manifest?.startedAt ?? 0))
  }

  /**
   * Finishes a recording that never stopped: each track's header takes the
   * length its file holds, every track is made as long as the longest, and
   * the manifest is marked finished.
   */
  async finish (dir: string, now = Date.now()): Promise<StoredRecording> {
    const found = await this.read(dir)
    const manifest = found.manifest
    if (manifest === undefined) throw new Error(`${dir} has no readable manifest: its files can still be downloaded`)
    const sizes = new Map(found.files.map((f) => [f.name, f.size]))
    const framesOf = (file: string, channels: number): number => Math.max(0, Math.floor(((sizes.get(file) ?? WAV_HEADER_BYTES) - WAV_HEADER_BYTES) / (channels * WAV_SAMPLE_BYTES)))
    const end = Math.max(0, ...manifest.tracks.map((t) => framesOf(t.file, t.channels)))
    for (const track of manifest.tracks) {
      const format = { sampleRate: manifest.sampleRate, channels: track.channels }
      const handle = await this.storage.open(dir, track.file)
      try {
        await handle.truncate(wavOffset(format, end))
        await handle.write(0, wavHeader(format, wavOffset(format, end) - WAV_HEADER_BYTES))
      } finally {
        await handle.close()
      }
    }
    await this.storage.put(dir, MANIFEST_NAME, encodeManifest({ ...manifest, finishedAt: now }))
    return this.read(dir)
  }

  /** One file of a recording, to download. */
  async file (dir: string, name: string): Promise<File> {
    return this.storage.read(dir, name)
  }

  /**
   * Every track of a recording in one ZIP (`<show>-<date>.zip`), stored as
   * they are; the files are not read into memory, only through for their CRCs.
   * @throws {ArchiveTooLargeError} past 4 GiB
   */
  async archive (dir: string, onProgress?: (share: number) => void): Promise<File> {
    const found = await this.read(dir)
    const entries = await Promise.all(found.files.map(async (f) => ({ name: f.name, data: await this.storage.read(dir, f.name) })))
    const name = found.manifest === undefined ? `${dir}.zip` : trackFileName(found.manifest.show, found.manifest.startedAt, 'tracks').replace(/\.wav$/, '.zip')
    return new File([await zipArchive(entries, onProgress)], name, { type: 'application/zip' })
  }

  async remove (dir: string): Promise<void> {
    await this.storage.remove(dir)
  }

  private async read (dir: string): Promise<StoredRecording> {
    const files = await this.storage.files(dir)
    const manifestFile = files.find((f) => f.name === MANIFEST_NAME)
    const manifest = manifestFile === undefined ? undefined : decodeManifest(new Uint8Array(await (await this.storage.read(dir, MANIFEST_NAME)).arrayBuffer()))
    // A caller's upload in progress (`.part`) is not a track yet, and a placed take's marker (`.placed`) is none.
    const tracks = files.filter((f) => f.name !== MANIFEST_NAME && !f.name.endsWith('.part') && !f.name.endsWith('.placed'))
    const rate = manifest?.sampleRate ?? 48_000
    const seconds = manifest?.seconds ?? Math.max(0, ...(manifest?.tracks ?? []).map((t) => {
      const size = tracks.find((f) => f.name === t.file)?.size ?? WAV_HEADER_BYTES
      return (size - WAV_HEADER_BYTES) / (t.channels * WAV_SAMPLE_BYTES * rate)
    }))
    return {
      dir,
      manifest,
      files: tracks,
      bytes: files.reduce((n, f) => n + f.size, 0),
      seconds,
      unfinished: manifest !== undefined && manifest.finishedAt === undefined
    }
  }
}
