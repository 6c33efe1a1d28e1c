import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { base64pad } from 'multiformats/bases/base64'
import { isOpusHeaderPage, MAX_OGG_PAGE_BYTES, OGG_FLAG, oggCrc, OggRepager, opusHead, opusTags, readOggPage, writeOggPage, type OggPage } from '../src/index.ts'
import fixture from './fixtures/ogg-opus.json'

/** An Ogg Opus file written by ffmpeg (libogg computes its CRCs): an outside known answer. */
const file = base64pad.baseDecode(fixture.base64)

function pagesOf (bytes: Uint8Array): OggPage[] {
  const pages: OggPage[] = []
  for (let offset = 0; offset < bytes.length;) {
    const segments = bytes[offset + 26] as number
    const length = 27 + segments + bytes.subarray(offset + 27, offset + 27 + segments).reduce((n, l) => n + l, 0)
    pages.push(readOggPage(bytes.subarray(offset, offset + length)))
    offset += length
  }
  return pages
}

describe('Ogg pages', () => {
  const pages = pagesOf(file)

  it('reads every page libogg wrote, CRC included', () => {
    expect(pages.length).toBeGreaterThanOrEqual(4)
    expect(pages[0]?.flags).toBe(OGG_FLAG.bos)
    expect(pages.map((p) => p.sequence)).toEqual(pages.map((_, i) => i))
    expect(new Set(pages.map((p) => p.serial)).size).toBe(1)
    expect(pages.slice(0, 2).every(isOpusHeaderPage)).toBe(true)
    expect(pages.slice(2).some(isOpusHeaderPage)).toBe(false)
  })

  it('writes the same bytes as libogg for the same packets (one packet per page)', () => {
    for (const page of pages) {
      const rewritten = writeOggPage({ flags: page.flags, granule: page.granule, serial: page.serial, sequence: page.sequence, packets: [page.body] })
      expect(rewritten).toEqual(new Uint8Array(page.bytes))
    }
  })

  it('writes an OpusHead like libopus-based encoders do', () => {
    expect(opusHead({ channels: 1, preSkip: 312 })).toEqual(new Uint8Array(pages[0]?.body ?? []))
    const tags = opusTags('OpenStudio', ['TITLE=Morning show'])
    expect(String.fromCharCode(...tags.subarray(0, 8))).toBe('OpusTags')
    expect(new DataView(tags.buffer).getUint32(8, true)).toBe('OpenStudio'.length)
  })

  it('laces packets of 255 bytes and more with a terminating value', () => {
    const packets = [new Uint8Array(255).fill(1), new Uint8Array(600).fill(2), new Uint8Array(0)]
    const page = readOggPage(writeOggPage({ granule: 960n, serial: 7, sequence: 3, packets }))
    expect(page.body.length).toBe(855)
    expect(page.openEnded).toBe(false)
    expect(page.bytes[26]).toBe(2 + 3 + 1)
  })

  it('refuses a page too large to exist, one whose packets do not fit, and bytes that are no page', () => {
    expect(() => readOggPage(new Uint8Array(MAX_OGG_PAGE_BYTES + 1))).toThrow(expect.objectContaining({ name: 'TooLargeError' }))
    expect(() => writeOggPage({ granule: 0n, serial: 1, sequence: 0, packets: [new Uint8Array(255 * 255)] })).toThrow(expect.objectContaining({ name: 'TooLargeError' }))
    const page = pages[3]?.bytes as Uint8Array
    expect(() => readOggPage(page.subarray(0, page.length - 1))).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(() => readOggPage(new Uint8Array([...page, 0]))).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(() => readOggPage(new TextEncoder().encode('ID3 not an ogg page at all, really'))).toThrow(expect.objectContaining({ name: 'MalformedError' }))
  })

  it('refuses any single changed byte (the CRC covers the whole page)', () => {
    const page = new Uint8Array(pages[3]?.bytes as Uint8Array)
    fc.assert(fc.property(fc.integer({ min: 0, max: page.length - 1 }), fc.integer({ min: 1, max: 255 }), (i, x) => {
      const copy = new Uint8Array(page)
      copy[i] = (copy[i] as number) ^ x
      expect(() => readOggPage(copy)).toThrow()
    }))
  })

  it('round-trips any packets that fit one page', () => {
    fc.assert(fc.property(fc.array(fc.uint8Array({ maxLength: 700 }), { minLength: 1, maxLength: 20 }), fc.bigInt({ min: 0n, max: 2n ** 63n }), fc.nat({ max: 2 ** 32 - 1 }), (packets, granule, serial) => {
      const page = readOggPage(writeOggPage({ granule, serial, sequence: 9, packets }))
      expect(page.granule).toBe(granule)
      expect(page.serial).toBe(serial)
      expect(page.body).toEqual(Uint8Array.from(packets.flatMap((p) => [...p])))
    }))
  })
})

describe('OggRepager', () => {
  const SERIAL = 0x5eed
  /** One 10 ms Opus packet per page, as the studio writes them: packet i holds byte i, `size` times. */
  const studioPages = (count: number, size = 120, from = 0): OggPage[] => Array.from({ length: count }, (_, i) => readOggPage(writeOggPage({
    granule: BigInt((from + i + 1) * 480), serial: SERIAL, sequence: 2 + from + i, packets: [new Uint8Array(size).fill((from + i) & 0xff)]
  })))
  /** The packets of a page, by its lacing table. */
  const packetsOf = (page: OggPage): Uint8Array[] => {
    const lacing = page.bytes.subarray(27, 27 + (page.bytes[26] as number))
    const packets: Uint8Array[] = []
    let start = 0
    let end = 0
    for (const l of lacing) {
      end += l
      if (l < 255) {
        packets.push(page.body.subarray(start, end))
        start = end
      }
    }
    return packets
  }
  const repage = (pages: OggPage[], pageMs: number): Array<{ page: OggPage, ms: number }> => {
    const repager = new OggRepager({ pageMs, firstSequence: 2 })
    const out = pages.flatMap((p) => repager.push(p))
    out.push(...repager.flush())
    return out.map(({ bytes, ms }) => ({ page: readOggPage(bytes), ms }))
  }

  it('gathers 10 ms pages into 200 ms pages, packets whole and in order, granules and sequence kept', () => {
    const input = studioPages(101)
    const out = repage(input, 200)
    // The first page starts the clock; then 20 packets (200 ms) a page.
    expect(out.map(({ page }) => packetsOf(page).length)).toEqual([1, 20, 20, 20, 20, 20])
    expect(out.map(({ ms }) => ms)).toEqual([0, 200, 200, 200, 200, 200])
    expect(out.map(({ page }) => page.sequence)).toEqual([2, 3, 4, 5, 6, 7])
    expect(out.every(({ page }) => page.serial === SERIAL && page.flags === 0)).toBe(true)
    expect(out.map(({ page }) => page.granule)).toEqual([1, 21, 41, 61, 81, 101].map((i) => BigInt(i * 480)))
    const packets = out.flatMap(({ page }) => packetsOf(page))
    expect(packets.map((p) => [p.length, p[0]])).toEqual(input.map((_, i) => [120, i]))
    // Header bytes per second of audio: 101 pages of 28 bytes before, 6 of 47 at most after.
    const overhead = (pages: OggPage[]): number => pages.reduce((n, p) => n + p.bytes.length - p.body.length, 0)
    expect(overhead(out.map(({ page }) => page))).toBeLessThan(overhead(input) / 9)
  })

  it('writes what it holds at the end of the stream, flagged EOS', () => {
    const input = studioPages(8)
    const last = readOggPage(writeOggPage({ flags: OGG_FLAG.eos, granule: 9n * 480n, serial: SERIAL, sequence: 10, packets: [new Uint8Array([9])] }))
    const out = repage([...input, last], 200)
    expect(out.map(({ page }) => [packetsOf(page).length, page.flags])).toEqual([[1, 0], [8, OGG_FLAG.eos]])
    expect(out.at(-1)?.page.granule).toBe(9n * 480n)
  })

  it('carries a packet that continues across input pages whole', () => {
    const big = new Uint8Array(700).map((_, i) => i & 0xff)
    // 700 bytes split 510 + 190: the first page ends open (two laces of 255), the second continues it.
    const first = readOggPage(writeOggPage({ granule: 0xffff_ffff_ffff_ffffn, serial: SERIAL, sequence: 2, packets: [] }))
    const open = readOggPage(concatPage(big.subarray(0, 510), [255, 255], { granule: 0xffff_ffff_ffff_ffffn, sequence: 3 }))
    const rest = readOggPage(concatPage(big.subarray(510), [190], { flags: OGG_FLAG.continued, granule: 960n, sequence: 4 }))
    expect(open.openEnded).toBe(true)
    const out = repage([first, open, rest], 200)
    expect(out).toHaveLength(1)
    expect(packetsOf(out[0]!.page)).toEqual([big])
    expect(out[0]!.page.granule).toBe(960n)
  })

  it('never grows a page past 255 lacing values or 64 KiB, closing pages where an input page ended', () => {
    const out = repage(studioPages(300, 1_000), 10_000)
    expect(out.length).toBeGreaterThan(4)
    for (const { page } of out) {
      expect(page.bytes[26]).toBeLessThanOrEqual(255)
      expect(page.body.length).toBeLessThanOrEqual(64 * 1024)
      // Every page's granule is the end of its last packet: 10 ms (480 samples) per packet of 1000 bytes.
      expect(Number(page.granule) % 480).toBe(0)
    }
    expect(out.flatMap(({ page }) => packetsOf(page))).toHaveLength(300)
  })

  it('holds at most 64 KiB when the granule never advances (a hostile studio\'s pages claim no audio)', () => {
    const repager = new OggRepager({ pageMs: 200, firstSequence: 2 })
    let written = 0
    for (let i = 0; i < 1_000; i++) {
      const page = readOggPage(writeOggPage({ granule: 960n, serial: SERIAL, sequence: 2 + i, packets: [new Uint8Array(4_096)] }))
      for (const out of repager.push(page)) {
        expect(out.bytes.length).toBeLessThanOrEqual(64 * 1024 + 27 + 255)
        written += 4_096 * packetsOf(readOggPage(out.bytes)).length
      }
      // What it holds is what was pushed less what it wrote: never more than one page's worth.
      expect(4_096 * (i + 1) - written).toBeLessThanOrEqual(64 * 1024)
    }
  })

  it('closes a page at once when the granule goes back, instead of holding it until 64 KiB', () => {
    const again = studioPages(3).map((p) => readOggPage(writeOggPage({ granule: p.granule, serial: SERIAL, sequence: p.sequence + 100, packets: [p.body] })))
    const out = repage([...studioPages(30), ...again], 200)
    // 1 + 20 packets, then the 9 held; the granule went back at the 31st: the next page closes with it.
    expect(out.map(({ page }) => packetsOf(page).length)).toEqual([1, 20, 10, 2])
  })

  it('closes the page of one stream before the next stream\'s packets', () => {
    const other = readOggPage(writeOggPage({ granule: 480n, serial: SERIAL + 1, sequence: 2, packets: [new Uint8Array([7])] }))
    const out = repage([...studioPages(5), other], 200)
    expect(out.map(({ page }) => [page.serial, packetsOf(page).length])).toEqual([[SERIAL, 1], [SERIAL, 4], [SERIAL + 1, 1]])
  })

  /** A page with a lacing table given by hand (writeOggPage laces whole packets only). */
  function concatPage (body: Uint8Array, lacing: number[], init: { flags?: number, granule: bigint, sequence: number }): Uint8Array {
    const page = new Uint8Array(27 + lacing.length + body.length)
    const view = new DataView(page.buffer)
    page.set([0x4f, 0x67, 0x67, 0x53], 0)
    page[5] = init.flags ?? 0
    view.setBigUint64(6, init.granule, true)
    view.setUint32(14, SERIAL, true)
    view.setUint32(18, init.sequence, true)
    page[26] = lacing.length
    page.set(lacing, 27)
    page.set(body, 27 + lacing.length)
    view.setUint32(22, oggCrc(page), true)
    return page
  }
})
