/**
 * The architecture's boundaries are lint rules, not comments: this test lints
 * forbidden imports placed in each folder and expects ESLint to refuse them.
 */
import { describe, expect, it } from 'vitest'
import { ESLint } from 'eslint'

const eslint = new ESLint()

async function ruleIds (filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath })
  return (result?.messages ?? []).map((m) => m.ruleId ?? m.message)
}

describe('lint boundaries', () => {
  it.each([
    ["import { readFile } from 'node:fs'", 'no-restricted-imports'],
    ["import path from 'path'", 'no-restricted-imports'],
    ["import { createLibp2p } from 'libp2p'", 'no-restricted-imports'],
    ["import { kadDHT } from '@libp2p/kad-dht'", 'no-restricted-imports'],
    ["import { ref } from 'vue'", 'no-restricted-imports'],
    ["import { x } from '@openstudio/node'", 'no-restricted-imports'],
    ["import { x } from '../../relay/src/index.ts'", 'no-restricted-imports'],
    ["import { x } from '../../browser/src/index.ts'", 'no-restricted-imports'],
    ['export const t = Date.now() + setTimeout.length', 'no-restricted-globals'],
    ['export const w = window.location.href', 'no-restricted-globals'],
    ['export const d = document.title', 'no-restricted-globals'],
    ['export const p = process.env.HOME', 'no-restricted-globals'],
    ['export const b = Buffer.from([])', 'no-restricted-globals']
  ])('protocol/ refuses %s', async (code, rule) => {
    expect(await ruleIds('protocol/src/forbidden.ts', `${code}\n`)).toContain(rule)
  })

  it('protocol/ accepts pure libraries', async () => {
    const code = "import { sha256 } from '@noble/hashes/sha2.js'\nimport { z } from 'zod'\nexport const x = [sha256, z]\n"
    expect(await ruleIds('protocol/src/allowed.ts', code)).toEqual([])
  })

  it.each([
    "import { x } from '@openstudio/node'",
    "import { x } from '@openstudio/relay'",
    "import { x } from '../../node/src/index.ts'",
    "import { readFile } from 'node:fs'"
  ])('browser/ refuses %s', async (code) => {
    expect(await ruleIds('browser/src/forbidden.ts', `${code}\n`)).toContain('no-restricted-imports')
  })

  it.each([
    ["import { readFile } from 'node:fs'", 'no-restricted-imports'],
    ["import { x } from '@openstudio/node'", 'no-restricted-imports'],
    ["import { x } from '../../browser/src/index.ts'", 'no-restricted-imports'],
    ['export const w = window.location.href', 'no-restricted-globals'],
    ['export const p = process.env.HOME', 'no-restricted-globals']
  ])('network/ (shared by Node and browsers) refuses %s', async (code, rule) => {
    expect(await ruleIds('network/src/forbidden.ts', `${code}\n`)).toContain(rule)
  })

  it.each([
    ['node/src/forbidden.ts', "import { x } from '@openstudio/browser'"],
    ['relay/src/forbidden.ts', "import { x } from '../../browser/src/index.ts'"]
  ])('%s refuses browser/ code', async (file, code) => {
    expect(await ruleIds(file, `${code}\n`)).toContain('no-restricted-imports')
  })
})
