/**
 * `window.openstudioDiagnostics` hands a page's services (the studio, the
 * call, the network) to whoever runs script in it: tests and benchmarks need
 * it, production must not ship it. The production build (`npm run build`,
 * what `npm start` and the relay image serve from browser/dist) is built
 * here in memory and must not mention it; the test build must, or this test
 * would prove nothing.
 */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { build, type Rolldown } from 'vite'

const CONFIG = fileURLToPath(new URL('../../browser/vite.config.ts', import.meta.url))
/** Two builds of the whole app take a few seconds; a loaded machine may take longer. */
const BUILD_TIMEOUT_MS = 90_000

/** The text of every file `vite build --mode <mode>` would write (JS, CSS, HTML), without writing it. */
async function bundleText (mode: 'production' | 'test'): Promise<Map<string, string>> {
  const result = await build({ configFile: CONFIG, mode, logLevel: 'silent', build: { write: false, reportCompressedSize: false } })
  const outputs = (Array.isArray(result) ? result : [result]) as Rolldown.RolldownOutput[]
  const files = new Map<string, string>()
  for (const output of outputs) {
    for (const item of output.output) {
      files.set(item.fileName, item.type === 'chunk' ? item.code : typeof item.source === 'string' ? item.source : new TextDecoder().decode(item.source))
    }
  }
  return files
}

function mentioning (files: Map<string, string>, text: string): string[] {
  return [...files].filter(([, content]) => content.includes(text)).map(([name]) => name)
}

describe('diagnostics in the web app builds', () => {
  it('the production build has no openstudioDiagnostics; the test build has them', async () => {
    const production = await bundleText('production')
    expect(production.size).toBeGreaterThan(0)
    expect(mentioning(production, 'openstudioDiagnostics')).toEqual([])
    expect(mentioning(production, '__OPENSTUDIO_DIAGNOSTICS__')).toEqual([])

    const test = await bundleText('test')
    expect(mentioning(test, 'openstudioDiagnostics').length).toBeGreaterThan(0)
  }, BUILD_TIMEOUT_MS)
})
