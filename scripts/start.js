// `npm start`: a local OpenStudio network. Three relays bootstrapped together
// on fixed loopback ports (data in ./.openstudio/), and a demo station
// published to their DHT. Ctrl-C stops everything cleanly.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const cli = `${root}relay/bin/openstudio.js`
const state = `${root}.openstudio`
mkdirSync(state, { recursive: true })

const RELAYS = [
  { name: 'relay-1', tcp: 4001, ws: 4002, http: 8080 },
  { name: 'relay-2', tcp: 4011, ws: 4012, http: 8081 },
  { name: 'relay-3', tcp: 4021, ws: 4022, http: 8082 }
]
const children = []

function run (args, { onLine } = {}) {
  const child = spawn(process.execPath, [cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  createInterface({ input: child.stdout }).on('line', (line) => onLine?.(line))
  createInterface({ input: child.stderr }).on('line', (line) => process.stderr.write(`  ${line}\n`))
  return child
}

async function startRelay (relay, bootstrap) {
  const args = [
    'relay', '--allow-private', '--data', `${state}/${relay.name}`,
    '--listen', `/ip4/127.0.0.1/tcp/${relay.tcp}`, '--listen', `/ip4/127.0.0.1/tcp/${relay.ws}/ws`,
    '--http', `127.0.0.1:${relay.http}`,
    ...bootstrap.flatMap((b) => ['--bootstrap', b])
  ]
  const addrs = []
  const child = run(args, { onLine: (line) => { if (line.startsWith('listening ')) addrs.push(line.slice(10)) } })
  await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).on('line', (line) => { if (line === 'ready') resolve() })
    child.once('exit', (code) => reject(new Error(`${relay.name} exited with code ${code} (is port ${relay.tcp} free?)`)))
  })
  return addrs
}

async function runToEnd (args) {
  const child = run(args)
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  const code = await new Promise((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`openstudio ${args.slice(0, 2).join(' ')} failed (exit ${code})`)
  return out.trim()
}

async function publishDemo (bootstrap) {
  const keyFile = `${state}/demo-station.key`
  if (!existsSync(keyFile)) await runToEnd(['key', 'generate', '--out', keyFile])
  const manifestFile = `${state}/demo-station.json`
  writeFileSync(manifestFile, JSON.stringify({
    name: 'OpenStudio Demo Radio',
    description: 'The demo station of a local OpenStudio network.',
    tags: ['demo', 'talk'],
    language: 'en',
    country: 'GB',
    homepage: 'https://openstudio.example/',
    streams: [{ url: 'http://127.0.0.1:8000/demo.ogg', codec: 'opus', bitrate: 96, mount: '/demo.ogg' }],
    access: 'open'
  }, null, 2))
  const result = JSON.parse(await runToEnd(['station', 'publish', '--key', keyFile, '--manifest', manifestFile, '--bootstrap', bootstrap, '--json']))
  return result
}

let stopping = false
async function stop (code = 0) {
  if (stopping) return
  stopping = true
  process.stderr.write('\nstopping OpenStudio…\n')
  await Promise.all(children.filter((c) => c.exitCode === null).map((c) => new Promise((resolve) => {
    c.once('exit', resolve)
    c.kill('SIGTERM')
  })))
  process.exit(code)
}
process.on('SIGINT', () => { void stop() })
process.on('SIGTERM', () => { void stop() })

try {
  console.log('starting a local OpenStudio network…')
  const first = await startRelay(RELAYS[0], [])
  const bootstrap = first.find((a) => a.includes(`/tcp/${RELAYS[0].tcp}/p2p/`))
  for (const relay of RELAYS.slice(1)) await startRelay(relay, [bootstrap])
  const demo = await publishDemo(bootstrap)
  console.log(`
OpenStudio is running.
  relays       ${RELAYS.map((r) => `127.0.0.1:${r.tcp}`).join(', ')} (WebSockets on ${RELAYS.map((r) => r.ws).join(', ')})
  bootstrap    ${bootstrap}
  health       http://127.0.0.1:${RELAYS[0].http}/health   metrics: http://127.0.0.1:${RELAYS[0].http}/metrics
  demo station ${demo.id} (stored on ${demo.storedOn} relays)

Try:  npx openstudio directory list --bootstrap ${bootstrap}
Press Ctrl-C to stop.`)
} catch (err) {
  console.error(`openstudio: ${err.message}`)
  await stop(1)
}
