/**
 * The recording's one-file download, as other tools read it: Python's
 * zipfile must list every track, find each CRC-32 right, and give back the
 * bytes stored.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { crc32, zipArchive } from '../../browser/src/services/recording/zip.ts'

describe('recording archive', () => {
  it('computes CRC-32 as ZIP does', () => {
    expect(crc32(new TextEncoder().encode('123456789'))).toBe(0xcbf4_3926)
    const bytes = new TextEncoder().encode('split anywhere, same answer')
    expect(crc32(bytes.subarray(9), crc32(bytes.subarray(0, 9)))).toBe(crc32(bytes))
  })

  it('stores every track so that zipfile reads each back whole, names and CRCs right', async () => {
    const tracks = [
      { name: 'evening-talk-2026-12-07-2000-program.wav', data: new Blob([new Uint8Array(300_000).map((_, i) => i * 7)]) },
      { name: 'evening-talk-2026-12-07-2000-zoë.opus', data: new Blob([new Uint8Array(5).fill(1)]) },
      { name: 'empty.wav', data: new Blob([]) }
    ]
    const shares: number[] = []
    const zip = await zipArchive(tracks, (s) => { shares.push(s) })
    expect(shares.at(-1)).toBe(1)
    const dir = mkdtempSync(join(tmpdir(), 'openstudio-zip-'))
    try {
      const file = join(dir, 'recording.zip')
      writeFileSync(file, new Uint8Array(await zip.arrayBuffer()))
      const script = 'import sys, zipfile, json\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps([[i.filename, i.file_size, i.compress_type, sum(z.read(i.filename))] for i in z.infolist()]))'
      const listed = JSON.parse(execFileSync('python3', ['-c', script, file], { encoding: 'utf8' })) as Array<[string, number, number, number]>
      const sums = await Promise.all(tracks.map(async (t) => new Uint8Array(await t.data.arrayBuffer()).reduce((n, b) => n + b, 0)))
      expect(listed).toEqual(tracks.map((t, i) => [t.name, t.data.size, 0, sums[i]]))
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
