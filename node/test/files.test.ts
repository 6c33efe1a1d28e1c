import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { readSmallTextFile } from '../src/files.ts'

class TestError extends Error {
  override readonly name = 'TestError'
}
const fail = (message: string): Error => new TestError(message)

describe('readSmallTextFile', () => {
  let dir: string
  beforeAll(async () => { dir = await mkdtemp(join(tmpdir(), 'files-')) })
  afterAll(async () => { await rm(dir, { recursive: true, force: true }) })

  it('reads a small file', async () => {
    await writeFile(join(dir, 'a.json'), '{"a":1}')
    expect(await readSmallTextFile(join(dir, 'a.json'), 'manifest file', 100, fail)).toBe('{"a":1}')
  })

  it('refuses missing, oversized and non-regular files with the caller\'s error', async () => {
    await writeFile(join(dir, 'big.json'), 'x'.repeat(200))
    await expect(readSmallTextFile(join(dir, 'nope.json'), 'manifest file', 100, fail)).rejects.toThrow(/no manifest file at/)
    await expect(readSmallTextFile(join(dir, 'big.json'), 'manifest file', 100, fail)).rejects.toThrow(/too large/)
    await expect(readSmallTextFile(dir, 'manifest file', 100, fail)).rejects.toThrow(/not a file/)
    await expect(readSmallTextFile('/dev/zero', 'key file', 100, fail)).rejects.toMatchObject({ name: 'TestError' })
  })
})
