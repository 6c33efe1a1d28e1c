/**
 * `npm run bench [-- SUITE...]`: runs the benchmarks and prints one JSON
 * object. Each figure sits next to its raw-stack baseline from the same run.
 */
import '@openstudio/node/polyfill'
import { benchDht } from './dht.ts'
import { benchProtocol } from './protocol.ts'
import { benchReservations } from './reservations.ts'
import { benchStudio } from './studio.ts'
import { benchWeb } from './web.ts'

const suites: Record<string, () => Promise<Record<string, unknown>>> = {
  protocol: benchProtocol,
  dht: benchDht,
  reservations: benchReservations,
  web: benchWeb,
  studio: benchStudio
}

const requested = process.argv.slice(2).filter((a) => !a.startsWith('-'))
const unknown = requested.filter((name) => !(name in suites))
if (unknown.length > 0) {
  console.error(`unknown benchmark suite: ${unknown.join(', ')} (have: ${Object.keys(suites).join(', ')})`)
  process.exit(1)
}
const results: Record<string, unknown> = { node: process.version, cpus: (await import('node:os')).cpus().length }
for (const name of requested.length > 0 ? requested : Object.keys(suites)) {
  process.stderr.write(`bench: ${name}…\n`)
  try {
    results[name] = await (suites[name] as () => Promise<Record<string, unknown>>)()
  } catch (err) {
    results[name] = { error: (err as Error).message }
    process.exitCode = 1
  }
}
console.log(JSON.stringify(results, null, 2))
