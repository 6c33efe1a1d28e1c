/**
 * One archive of a recording's tracks, for a producer who wants a single
 * download: a ZIP with every file stored as it is (WAV and Opus gain nothing
 * from deflate). The archive is a Blob made of the stored files themselves,
 * so it never holds their bytes in memory; only their CRC-32 is computed,
 * reading each file a slice at a time. Plain ZIP: sizes and offsets are
 * 32-bit, so an archive stops short of 4 GiB (ArchiveTooLargeError).
 */

/** Bytes read at a time for the CRC. */
const CRC_SLICE_BYTES = 4 * 1024 * 1024
const MAX_ZIP_BYTES = 0xffff_ffff

export class ArchiveTooLargeError extends Error {
  override readonly name = 'ArchiveTooLargeError'
}

const CRC_TABLE = ((): Uint32Array => {
  const table = new Uint32Array(256)
  for (let n = 0; n < 256; n++) {
    let c = n
    for (let k = 0; k < 8; k++) c = (c & 1) !== 0 ? 0xedb8_8320 ^ (c >>> 1) : c >>> 1
    table[n] = c >>> 0
  }
  return table
})()

/** CRC-32 (ISO 3309, as ZIP uses it) of `bytes`, continuing from `crc`. */
export function crc32 (bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0
  for (const b of bytes) c = (CRC_TABLE[(c ^ b) & 0xff] as number) ^ (c >>> 8)
  return ~c >>> 0
}

export interface ArchiveEntry {
  name: string
  data: Blob
}

/**
 * The ZIP of `entries`, stored, with their CRC-32s.
 * @param onProgress the share (0…1) of the bytes read so far
 * @throws {ArchiveTooLargeError} when it would pass 4 GiB
 */
export async function zipArchive (entries: readonly ArchiveEntry[], onProgress: (share: number) => void = () => {}): Promise<Blob> {
  const total = entries.reduce((n, e) => n + e.data.size, 0)
  const encoder = new TextEncoder()
  const parts: BlobPart[] = []
  const central: Uint8Array[] = []
  let offset = 0
  let read = 0
  for (const entry of entries) {
    const name = encoder.encode(entry.name)
    let crc = 0
    for (let at = 0; at < entry.data.size; at += CRC_SLICE_BYTES) {
      const slice = new Uint8Array(await entry.data.slice(at, at + CRC_SLICE_BYTES).arrayBuffer())
      crc = crc32(slice, crc)
      read += slice.length
      onProgress(total === 0 ? 1 : read / total)
    }
    const size = entry.data.size
    if (offset + 30 + name.length + size > MAX_ZIP_BYTES) throw new ArchiveTooLargeError('the tracks together pass 4 GiB: download them one by one')
    const local = header(30 + name.length, (v) => {
      v.setUint32(0, 0x0403_4b50, true)
      fields(v, 4, crc, size, name.length)
    })
    local.set(name, 30)
    central.push(centralEntry(name, crc, size, offset))
    parts.push(local, entry.data)
    offset += local.length + size
  }
  const directory = central.reduce((n, c) => n + c.length, 0)
  const end = header(22, (v) => {
    v.setUint32(0, 0x0605_4b50, true)
    v.setUint16(8, entries.length, true)
    v.setUint16(10, entries.length, true)
    v.setUint32(12, directory, true)
    v.setUint32(16, offset, true)
  })
  return new Blob([...parts, ...central, end] as BlobPart[], { type: 'application/zip' })
}

/** A header of `length` bytes, filled in by `fill`. */
function header (length: number, fill: (view: DataView) => void): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(length)
  fill(new DataView(bytes.buffer))
  return bytes
}

/** Version, flags (UTF-8 names), method (stored), time, date, CRC, sizes, name length: from `at` in a local or central header. */
function fields (v: DataView, at: number, crc: number, size: number, nameLength: number): void {
  v.setUint16(at, 20, true)
  v.setUint16(at + 2, 0x0800, true)
  v.setUint16(at + 4, 0, true)
  v.setUint16(at + 6, 0, true)
  v.setUint16(at + 8, 0x21, true)
  v.setUint32(at + 10, crc, true)
  v.setUint32(at + 14, size, true)
  v.setUint32(at + 18, size, true)
  v.setUint16(at + 22, nameLength, true)
}

function centralEntry (name: Uint8Array, crc: number, size: number, offset: number): Uint8Array {
  const entry = header(46 + name.length, (v) => {
    v.setUint32(0, 0x0201_4b50, true)
    v.setUint16(4, 20, true)
    fields(v, 6, crc, size, name.length)
    v.setUint32(42, offset, true)
  })
  entry.set(name, 46)
  return entry
}
