/**
 * Ogg pages (RFC 3533) and the Ogg Opus headers (RFC 7845): the container of
 * the program stream. The studio writes one page per Opus packet, so a page
 * leaves the encoder as soon as the packet does (a muxer that gathers packets
 * into pages holds audio back); the relay reads every page it is sent,
 * checks its CRC, gathers the pages into longer ones for listeners
 * (`OggRepager`), and replays the pages Icecast missed (the fallback source
 * writes pages of its own here too).
 */
import { MalformedError, TooLargeError } from './errors.ts'

/** Page header flags. */
export const OGG_FLAG = { continued: 0x01, bos: 0x02, eos: 0x04 } as const

/** The header size before the lacing table, and the largest page: 255 segments of 255 bytes. */
const HEADER_BYTES = 27
export const MAX_OGG_PAGE_BYTES = HEADER_BYTES + 255 + 255 * 255
/** Granule position of a page on which no packet ends. */
export const NO_GRANULE = 0xffff_ffff_ffff_ffffn

const CAPTURE = [0x4f, 0x67, 0x67, 0x53] // "OggS"

/** CRC-32 of Ogg: polynomial 0x04c11db7, not reflected, zero initial value, no final xor. */
const CRC_TABLE = (() => {
  const table = new Uint32Array(256)
  for (let i = 0; i < 256; i++) {
    let r = i << 24
    for (let b = 0; b < 8; b++) r = (r & 0x8000_0000) !== 0 ? (r << 1) ^ 0x04c1_1db7 : r << 1
    table[i] = r >>> 0
  }
  return table
})()

export function oggCrc (bytes: Uint8Array): number {
  let crc = 0
  for (const byte of bytes) crc = ((crc << 8) ^ (CRC_TABLE[((crc >>> 24) ^ byte) & 0xff] as number)) >>> 0
  return crc
}

/** A page as read from the wire. */
export interface OggPage {
  flags: number
  granule: bigint
  serial: number
  sequence: number
  /** The whole page, header included. */
  bytes: Uint8Array
  /** The packet data (the payload after the lacing table). */
  body: Uint8Array
  /** Whether the last packet on this page continues on the next. */
  openEnded: boolean
}

export interface OggPageInit {
  /** @default 0 */
  flags?: number
  /** Granule position after the last packet that ends on this page (48 kHz samples for Opus). */
  granule: bigint
  serial: number
  sequence: number
  /** Whole packets; their lacing must fit one page (255 lacing values). */
  packets: readonly Uint8Array[]
}

/**
 * Writes one page holding whole packets.
 * @throws {TooLargeError} when the packets do not fit one page
 */
export function writeOggPage (init: OggPageInit): Uint8Array<ArrayBuffer> {
  const lacing: number[] = []
  for (const packet of init.packets) {
    for (let left = packet.length; ; left -= 255) {
      lacing.push(Math.min(left, 255))
      if (left < 255) break
    }
  }
  const bodyLength = init.packets.reduce((n, p) => n + p.length, 0)
  if (lacing.length > 255) throw new TooLargeError('Ogg page', HEADER_BYTES + lacing.length + bodyLength, MAX_OGG_PAGE_BYTES)
  const page = new Uint8Array(HEADER_BYTES + lacing.length + bodyLength)
  const view = new DataView(page.buffer)
  page.set(CAPTURE, 0)
  page[5] = init.flags ?? 0
  view.setBigUint64(6, init.granule, true)
  view.setUint32(14, init.serial >>> 0, true)
  view.setUint32(18, init.sequence >>> 0, true)
  page[26] = lacing.length
  page.set(lacing, HEADER_BYTES)
  let offset = HEADER_BYTES + lacing.length
  for (const packet of init.packets) {
    page.set(packet, offset)
    offset += packet.length
  }
  view.setUint32(22, oggCrc(page), true)
  return page
}

/**
 * Reads exactly one page from untrusted bytes: size first, then the capture
 * pattern, version, lengths and CRC.
 * @throws {TooLargeError | MalformedError}
 */
export function readOggPage (bytes: Uint8Array): OggPage {
  if (bytes.length > MAX_OGG_PAGE_BYTES) throw new TooLargeError('Ogg page', bytes.length, MAX_OGG_PAGE_BYTES)
  if (bytes.length < HEADER_BYTES || CAPTURE.some((b, i) => bytes[i] !== b)) throw new MalformedError('not an Ogg page (no OggS capture pattern)')
  if (bytes[4] !== 0) throw new MalformedError(`Ogg page version ${bytes[4]} is not 0`)
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const segments = bytes[26] as number
  const bodyStart = HEADER_BYTES + segments
  if (bytes.length < bodyStart) throw new MalformedError('Ogg page is shorter than its lacing table')
  const lacing = bytes.subarray(HEADER_BYTES, bodyStart)
  const bodyLength = lacing.reduce((n, l) => n + l, 0)
  if (bytes.length !== bodyStart + bodyLength) throw new MalformedError(`Ogg page is ${bytes.length} bytes, its header says ${bodyStart + bodyLength}`)
  const crc = view.getUint32(22, true)
  // A copy (Node's Buffer.slice would share memory) with the CRC field zeroed, as it was computed.
  const zeroed = new Uint8Array(bytes)
  zeroed.fill(0, 22, 26)
  if (oggCrc(zeroed) !== crc) throw new MalformedError('Ogg page CRC does not match')
  return {
    flags: bytes[5] as number,
    granule: view.getBigUint64(6, true),
    serial: view.getUint32(14, true),
    sequence: view.getUint32(18, true),
    bytes,
    body: bytes.subarray(bodyStart),
    openEnded: segments > 0 && lacing[segments - 1] === 255
  }
}

export interface OpusHeadInit {
  channels: 1 | 2
  /** Samples (at 48 kHz) to drop at the start: the encoder's look-ahead. */
  preSkip: number
  /** The input's rate, for information; Opus always decodes at 48 kHz. @default 48000 */
  inputSampleRate?: number
}

/** The identification header packet (RFC 7845 §5.1), mapping family 0. */
export function opusHead (init: OpusHeadInit): Uint8Array {
  const head = new Uint8Array(19)
  const view = new DataView(head.buffer)
  head.set(new TextEncoder().encode('OpusHead'), 0)
  head[8] = 1
  head[9] = init.channels
  view.setUint16(10, init.preSkip, true)
  view.setUint32(12, init.inputSampleRate ?? 48_000, true)
  view.setInt16(16, 0, true)
  head[18] = 0
  return head
}

/** The comment header packet (RFC 7845 §5.2): vendor string and `KEY=value` comments. */
export function opusTags (vendor: string, comments: readonly string[] = []): Uint8Array {
  const utf8 = new TextEncoder()
  const parts = [utf8.encode('OpusTags'), u32(utf8.encode(vendor).length), utf8.encode(vendor), u32(comments.length)]
  for (const comment of comments) {
    const bytes = utf8.encode(comment)
    parts.push(u32(bytes.length), bytes)
  }
  return concatBytes(parts)
}

/** Whether a page's first packet is an Opus (or other codec) header rather than audio. */
export function isOpusHeaderPage (page: OggPage): boolean {
  const magic = String.fromCharCode(...page.body.subarray(0, 8))
  return (page.flags & OGG_FLAG.continued) === 0 && (magic === 'OpusHead' || magic === 'OpusTags')
}

/** A page the repager wrote, with the audio it carries. */
export interface RepagedPage {
  bytes: Uint8Array
  /** Milliseconds of audio: the page's granule less the previous page's, at 48 kHz. */
  ms: number
}

export interface OggRepagerInit {
  /** The audio each page gathers before it is written, in ms. */
  pageMs: number
  /** The sequence number of the first page written (after the header pages). */
  firstSequence: number
}

/** Limits of the repager: a page never grows past these, whatever `pageMs` asks. */
const REPAGE_MAX_BODY_BYTES = 64 * 1024
const REPAGE_MAX_LACING = 255

/**
 * Gathers the audio pages of one Ogg stream into fewer, longer pages: the
 * studio's 10 ms pages cost every listener about 23 % more bytes at 96 kb/s
 * in page headers, and a listener's player buffers seconds anyway
 * (docs/icecast.md, "Lean pages for listeners").
 * Packets are carried whole and in order, split across pages never; a page
 * closes at an input page's end, so its granule position is the one that
 * input page gave. Sequence numbers are the repager's own, from
 * `firstSequence`. Feed it audio pages only: the header pages go to the
 * source as they came.
 */
export class OggRepager {
  private readonly pageMs: number
  private sequence: number
  private serial: number | undefined
  private lastGranule: bigint | undefined
  /** Whole packets waiting for their page, and the granule after the last of them. */
  private packets: Uint8Array[] = []
  private lacing = 0
  private bodyBytes = 0
  private granule: bigint | undefined
  /** A packet that continues on the next input page. */
  private partial: Uint8Array[] = []

  constructor (init: OggRepagerInit) {
    this.pageMs = init.pageMs
    this.sequence = init.firstSequence
  }

  /**
   * Takes one input page.
   * @returns the pages it completed, possibly none
   */
  push (page: OggPage): RepagedPage[] {
    const out: RepagedPage[] = []
    if (this.serial !== undefined && page.serial !== this.serial) out.push(...this.flush())
    this.serial = page.serial
    const lacing = page.bytes.subarray(HEADER_BYTES, HEADER_BYTES + (page.bytes[26] as number))
    const complete: Uint8Array[] = []
    let offset = 0
    for (const length of lacing) {
      this.partial.push(page.body.subarray(offset, offset + length))
      offset += length
      if (length === 255) continue
      complete.push(concatBytes(this.partial))
      this.partial = []
    }
    const laces = complete.reduce((n, p) => n + Math.floor(p.length / 255) + 1, 0)
    const bytes = complete.reduce((n, p) => n + p.length, 0)
    // A page closes only where an input page ended, so that its granule position is known.
    if (this.lacing + laces > REPAGE_MAX_LACING || this.bodyBytes + bytes > REPAGE_MAX_BODY_BYTES) out.push(...this.flush())
    this.packets.push(...complete)
    this.lacing += laces
    this.bodyBytes += bytes
    if (page.granule !== NO_GRANULE) this.granule = page.granule
    const eos = (page.flags & OGG_FLAG.eos) !== 0
    if (eos || this.heldMs() >= this.pageMs) out.push(...this.flush(eos))
    return out
  }

  /** Writes what is held, if anything: at the stream's end, or before another stream. */
  flush (eos = false): RepagedPage[] {
    if (this.packets.length === 0 || this.serial === undefined) return []
    const at = this.granule ?? NO_GRANULE
    const bytes = writeOggPage({ flags: eos ? OGG_FLAG.eos : 0, granule: at, serial: this.serial, sequence: this.sequence++, packets: this.packets })
    const ms = at !== NO_GRANULE && this.lastGranule !== undefined && at > this.lastGranule ? Number(at - this.lastGranule) / 48 : 0
    if (at !== NO_GRANULE) this.lastGranule = at
    this.packets = []
    this.lacing = 0
    this.bodyBytes = 0
    return [{ bytes, ms }]
  }

  /** The audio held, in ms, by granule positions (0 until one page has been written). */
  private heldMs (): number {
    if (this.granule === undefined) return 0
    if (this.lastGranule === undefined || this.granule < this.lastGranule) {
      // The first page starts the clock: it closes at once, so that later pages have a granule to count from.
      // So does a page whose granule went back (a stream that started over): waiting would hold it until 64 KiB.
      return this.pageMs
    }
    return Number(this.granule - this.lastGranule) / 48
  }
}

/** The parts, one after another, in one array (the part itself when there is one). */
export function concatBytes (parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1) return parts[0] as Uint8Array
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let offset = 0
  for (const part of parts) {
    out.set(part, offset)
    offset += part.length
  }
  return out
}

function u32 (n: number): Uint8Array {
  const b = new Uint8Array(4)
  new DataView(b.buffer).setUint32(0, n, true)
  return b
}
