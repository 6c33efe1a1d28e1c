import { describe, expect, it } from 'vitest'
import { oggCrc, opusHead, opusTags, writeOggPage } from '@openstudio/protocol'
import { oggPackets, opusPacketFrames } from '../src/services/recording/opus-file.ts'

/** A page with the lacing given, as a muxer that splits packets over pages writes it. */
function rawPage (flags: number, granule: bigint, sequence: number, lacing: number[], body: Uint8Array): Uint8Array<ArrayBuffer> {
  const page = new Uint8Array(27 + lacing.length + body.length)
  const view = new DataView(page.buffer)
  page.set([0x4f, 0x67, 0x67, 0x53], 0)
  page[5] = flags
  view.setBigUint64(6, granule, true)
  view.setUint32(14, 9, true)
  view.setUint32(18, sequence, true)
  page[26] = lacing.length
  page.set(lacing, 27)
  page.set(body, 27 + lacing.length)
  view.setUint32(22, oggCrc(page), true)
  return page
}

async function all (file: Blob): Promise<Uint8Array[]> {
  const out: Uint8Array[] = []
  for await (const packet of oggPackets(file)) out.push(packet)
  return out
}

describe('reading Ogg Opus back', () => {
  it('counts the samples of Opus packets by their TOC byte', () => {
    // CELT 20 ms (config 31), one frame; two frames (code 1); SILK 60 ms (config 3); code 3 with 3 frames of CELT 2.5 ms (config 16).
    expect(opusPacketFrames(Uint8Array.of(31 << 3))).toBe(960)
    expect(opusPacketFrames(Uint8Array.of((31 << 3) | 1))).toBe(1920)
    expect(opusPacketFrames(Uint8Array.of(3 << 3))).toBe(2880)
    expect(opusPacketFrames(Uint8Array.of((16 << 3) | 3, 3))).toBe(360)
    // Hybrid 10 ms (config 12).
    expect(opusPacketFrames(Uint8Array.of(12 << 3))).toBe(480)
    expect(opusPacketFrames(new Uint8Array(0))).toBe(0)
  })

  it('gives every packet whole, those continued over pages included, reading a slice at a time', async () => {
    const big = Uint8Array.from({ length: 700 }, (_, i) => i & 0xff)
    const small = Uint8Array.of(31 << 3, 1, 2, 3)
    const file = new Blob([
      writeOggPage({ flags: 2, granule: 0n, serial: 9, sequence: 0, packets: [opusHead({ channels: 1, preSkip: 312 })] }),
      writeOggPage({ granule: 0n, serial: 9, sequence: 1, packets: [opusTags('test')] }),
      // 700 bytes: 255 + 255 on this page (open-ended), 190 on the next, then a small packet.
      rawPage(0, 0xffff_ffff_ffff_ffffn, 2, [255, 255], big.subarray(0, 510)),
      rawPage(1, 960n, 3, [190, 4], new Uint8Array([...big.subarray(510), ...small])),
      // Many small pages: more than one read's worth of the file.
      ...Array.from({ length: 20 }, (_, i) => writeOggPage({ granule: BigInt(1920 + i * 960), serial: 9, sequence: 4 + i, packets: [new Uint8Array(60_000).fill(i)] }))
    ])
    expect(file.size).toBeGreaterThan(1024 * 1024)
    const packets = await all(file)
    expect(packets).toHaveLength(2 + 2 + 20)
    expect([...packets[2] as Uint8Array]).toEqual([...big])
    expect([...packets[3] as Uint8Array]).toEqual([...small])
    expect(packets.slice(4).map((p) => [p.length, p[0]])).toEqual(Array.from({ length: 20 }, (_, i) => [60_000, i]))
  })

  it('says what is wrong with a cut file, garbage after the pages, a bad page, or an endless packet', async () => {
    const page = writeOggPage({ granule: 0n, serial: 9, sequence: 0, packets: [opusHead({ channels: 1, preSkip: 312 })] })
    await expect(all(new Blob([page.subarray(0, page.length - 3)]))).rejects.toThrow(/ends inside an Ogg page/)
    await expect(all(new Blob([page, Uint8Array.of(1, 2)]))).rejects.toThrow(/after the last Ogg page/)
    const corrupt = page.slice()
    corrupt[40] = (corrupt[40] as number) ^ 0xff
    await expect(all(new Blob([corrupt]))).rejects.toMatchObject({ name: 'MalformedError' })
    // A packet continued page after page past the bound (1 MiB) is refused, not gathered.
    const endless = Array.from({ length: 20 }, (_, i) => rawPage(i === 0 ? 0 : 1, 0xffff_ffff_ffff_ffffn, i, Array.from({ length: 255 }, () => 255), new Uint8Array(255 * 255)))
    await expect(all(new Blob(endless))).rejects.toMatchObject({ name: 'TooLargeError' })
  })
})
