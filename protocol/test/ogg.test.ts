import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { base64pad } from 'multiformats/bases/base64'
import { isOpusHeaderPage, MAX_OGG_PAGE_BYTES, OGG_FLAG, opusHead, opusTags, readOggPage, writeOggPage, type OggPage } from '../src/index.ts'
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
