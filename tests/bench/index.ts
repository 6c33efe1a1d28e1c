/**
 * `npm run bench [-- SUITE... [--minutes N]]`: runs the benchmarks and prints
 * one JSON object. Each figure sits next to its raw-stack baseline from the
 * same run. With no suite named, every suite runs but the soak, which runs
 * only when asked for (`--minutes`: its length, default 5).
 */
import '@openstudio/node/polyfill'
import { parseArgs } from 'node:util'
import { benchCalls } from './calls.ts'
import { benchConsole } from './console.ts'
import { benchRecording } from './recording.ts'
import { benchDht } from './dht.ts'
import { benchDirectoryScale } from './directory-scale.ts'
import { benchProgram } from './program.ts'
import { benchProtocol } from './protocol.ts'
import { benchRelayAbuse } from './relay-abuse.ts'
import { benchReservations } from './reservations.ts'
import { benchSoak } from './soak.ts'
import { benchStudio } from './studio.ts'
import { benchWeb } from './web.ts'

/** What the command line says beyond the suite names. */
export interface BenchOptions {
  minutes?: string
}

const suites: Record<string, (options: BenchOptions) => Promise<Record<string, unknown>>> = {
  protocol: benchProtocol,
  dht: benchDht,
  'directory-scale': benchDirectoryScale,
  reservations: benchReservations,
  'relay-abuse': benchRelayAbuse,
  web: benchWeb,
  calls: benchCalls,
  studio: benchStudio,
  program: benchProgram,
  console: benchConsole,
  recording: benchRecording,
  soak: benchSoak
}
const ON_DEMAND = new Set(['soak'])

let parsed: ReturnType<typeof parseOptions>
try {
  parsed = parseOptions()
} catch (err) {
  console.error(`${(err as Error).message} (usage: npm run bench -- [SUITE...] [--minutes N])`)
  process.exit(1)
}
const { positionals: requested, values: options } = parsed
const unknown = requested.filter((name) => !(name in suites))
if (unknown.length > 0) {
  console.error(`unknown benchmark suite: ${unknown.join(', ')} (have: ${Object.keys(suites).join(', ')})`)
  process.exit(1)
}
const results: Record<string, unknown> = { node: process.version, cpus: (await import('node:os')).cpus().length }
for (const name of requested.length > 0 ? requested : Object.keys(suites).filter((n) => !ON_DEMAND.has(n))) {
  process.stderr.write(`bench: ${name}…\n`)
  try {
    results[name] = await (suites[name] as (options: BenchOptions) => Promise<Record<string, unknown>>)(options)
  } catch (err) {
    results[name] = { error: (err as Error).message }
    process.stderr.write(`${name}: ${(err as Error).stack ?? ''}\n`)
    process.exitCode = 1
  }
}
console.log(JSON.stringify(results, null, 2))

function parseOptions (): { positionals: string[], values: BenchOptions } {
  return parseArgs({ args: process.argv.slice(2), options: { minutes: { type: 'string' } }, allowPositionals: true, strict: true })
}
