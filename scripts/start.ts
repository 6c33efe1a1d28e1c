/**
 * `npm start`: a local OpenStudio network on this machine.
 *
 * - three relays bootstrapped together on fixed loopback ports, data in ./.openstudio/
 * - the web app, built if needed and served by the first relay
 * - a local Icecast (when icecast2 is installed) with a demo source (when ffmpeg is),
 *   the program mount every relay streams studios to, and a fallback
 *   source that keeps their listeners connected while no show is on air
 * - a local coturn on loopback (when turnserver is installed); the relays hand
 *   out its short-lived credentials for the calls of the stations it serves
 * - one demo station published to the DHT, its stream on that Icecast
 *
 * Ctrl-C stops everything cleanly.
 */
import '@openstudio/node/polyfill'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { fallbackMount, FallbackSource, mountWithFallback, mp3Mount, startIcecast, type LocalIcecast } from '@openstudio/node'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLI = join(ROOT, 'relay/bin/openstudio.js')
const STATE = join(ROOT, '.openstudio')
const APP = join(ROOT, 'browser/dist')
const ICECAST_PORT = 8000
const DEMO_MOUNT = '/demo.ogg'
/** Where the first relay streams a studio's program. */
const LIVE_MOUNT = '/live.ogg'
/** The MP3 rendition the relay makes of it with ffmpeg (MP3_DEFAULTS.mount), its ICY title the show's now playing. */
const MP3_MOUNT = '/live.mp3'
const TURN_PORT = 3478
const TURN_RELAY_PORTS = { min: 49160, max: 49260 }

const RELAYS = [
  { name: 'relay-1', tcp: 4001, ws: 4002, http: 8080 },
  { name: 'relay-2', tcp: 4011, ws: 4012, http: 8081 },
  { name: 'relay-3', tcp: 4021, ws: 4022, http: 8082 }
] as const

const children: ChildProcess[] = []
let icecast: LocalIcecast | undefined
let fallback: FallbackSource | undefined
/** The file holding Icecast's source password, for the relay's program ingest. */
let icecastPasswordFile: string | undefined
/** The local coturn's URL and the file holding its secret, when it runs. */
let turn: { url: string, secretFile: string } | undefined

function say (line: string): void {
  process.stdout.write(`${line}\n`)
}

function has (command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${command}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Newest modification time of the files under a directory. */
function newest (dir: string): number {
  let latest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    latest = Math.max(latest, entry.isDirectory() ? newest(path) : statSync(path).mtimeMs)
  }
  return latest
}

/** Writes a secret that only this user may read (also when the file was there), and returns its path. */
function writeSecret (file: string, secret: string): string {
  writeFileSync(file, `${secret}\n`, { mode: 0o600 })
  chmodSync(file, 0o600)
  return file
}

function buildAppIfStale (): void {
  const built = existsSync(join(APP, 'index.html')) ? statSync(join(APP, 'index.html')).mtimeMs : 0
  const sources = Math.max(newest(join(ROOT, 'browser/src')), newest(join(ROOT, 'network/src')), newest(join(ROOT, 'protocol/src')))
  if (built > sources) return
  say('building the web app…')
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] })
}

function cli (args: string[]): ChildProcess {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  children.push(child)
  createInterface({ input: child.stderr! }).on('line', (line) => { process.stderr.write(`  ${line}\n`) })
  return child
}

async function startRelay (relay: typeof RELAYS[number], bootstrap: string[], extra: string[] = []): Promise<string[]> {
  const child = cli([
    'relay', '--allow-private', '--data', join(STATE, relay.name), '--app', APP,
    '--listen', `/ip4/127.0.0.1/tcp/${relay.tcp}`, '--listen', `/ip4/127.0.0.1/tcp/${relay.ws}/ws`,
    '--http', `127.0.0.1:${relay.http}`,
    ...bootstrap.flatMap((b) => ['--bootstrap', b]),
    ...(turn === undefined ? [] : ['--turn-url', turn.url, '--turn-secret-file', turn.secretFile]),
    ...extra
  ])
  const addrs: string[] = []
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (line.startsWith('listening ')) addrs.push(line.slice('listening '.length))
      if (line === 'ready') resolve()
    })
    child.once('exit', (code) => { reject(new Error(`${relay.name} exited with code ${code} (are ports ${relay.tcp}, ${relay.ws} and ${relay.http} free?)`)) })
  })
  return addrs
}

async function runCli (args: string[]): Promise<string> {
  const child = cli(args)
  let out = ''
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`openstudio ${args.slice(0, 2).join(' ')} failed (exit ${code})`)
  return out.trim()
}

async function startIcecastWithDemo (): Promise<string | undefined> {
  if (!has('icecast2')) {
    say('icecast2 is not installed (Debian: apt-get install icecast2): running without a local stream')
    return undefined
  }
  // Listeners of the live and demo mounts move to the fallback mount while their source is away, instead of being
  // dropped, and back when it returns. The fallback is live silence: Icecast would send a file untimed.
  icecast = await startIcecast({ dir: join(STATE, 'icecast'), port: ICECAST_PORT, mounts: [mountWithFallback(LIVE_MOUNT), mountWithFallback(DEMO_MOUNT), fallbackMount(), mp3Mount(MP3_MOUNT)] })
  fallback = new FallbackSource({ url: icecast.url, password: icecast.sourcePassword })
  fallback.start()
  icecastPasswordFile = writeSecret(join(STATE, 'icecast-source-password'), icecast.sourcePassword)
  if (has('ffmpeg')) {
    // A soft two-note chime, so there is something to hear until a studio goes on air.
    const chime = 'aevalsrc=0.15*sin(2*PI*(330+110*mod(floor(t)\\,2))*t)*exp(-3*mod(t\\,1)):s=48000'
    const source = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', chime,
      '-c:a', 'libopus', '-b:a', '96k', '-page_duration', '20000', '-content_type', 'audio/ogg',
      '-ice_name', 'OpenStudio Demo Radio', '-f', 'ogg', `icecast://source:${icecast.sourcePassword}@127.0.0.1:${ICECAST_PORT}${DEMO_MOUNT}`], { stdio: 'ignore' })
    children.push(source)
  } else {
    say('ffmpeg is not installed: the demo mount stays silent until a studio goes on air')
  }
  return `${icecast.url}${DEMO_MOUNT}`
}

/**
 * A coturn on loopback with the shared-secret scheme and a fresh random
 * secret (in a 0600 file) that the relays read. TURN stays off, with one line
 * saying so, when turnserver is missing or does not start.
 */
async function startCoturn (): Promise<void> {
  if (!has('turnserver')) {
    say('turnserver is not installed (Debian: apt-get install coturn): TURN is off')
    return
  }
  const dir = join(STATE, 'coturn')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const secret = randomBytes(32).toString('hex')
  const secretFile = writeSecret(join(dir, 'secret'), secret)
  const child = spawn('turnserver', [
    '-n', '--listening-ip=127.0.0.1', `--listening-port=${TURN_PORT}`, '--relay-ip=127.0.0.1',
    '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=openstudio', '--allow-loopback-peers',
    '--no-cli', '--no-tls', '--no-dtls', `--min-port=${TURN_RELAY_PORTS.min}`, `--max-port=${TURN_RELAY_PORTS.max}`,
    `--pidfile=${join(dir, 'turnserver.pid')}`, '--log-file=stdout', '--simple-log'
  ], { stdio: ['ignore', 'pipe', 'ignore'] })
  children.push(child)
  const log: string[] = []
  const started = await new Promise<boolean>((resolve) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (log.length < 50) log.push(line)
      if (/listener opened on|Total General servers/i.test(line)) resolve(true)
    })
    child.once('exit', () => { resolve(false) })
    child.once('error', () => { resolve(false) })
  })
  if (!started) {
    const reason = log.findLast((line) => /error|cannot|in use/i.test(line)) ?? 'it exited at start'
    say(`coturn did not start on 127.0.0.1:${TURN_PORT} (${reason.trim()}): TURN is off`)
    return
  }
  turn = { url: `turn:127.0.0.1:${TURN_PORT}?transport=udp`, secretFile }
}

async function publishDemo (bootstrap: string, relayWs: string[], streamUrl: string): Promise<{ id: string, storedOn: number }> {
  const keyFile = join(STATE, 'demo-station.key')
  if (!existsSync(keyFile)) await runCli(['key', 'generate', '--out', keyFile])
  const manifestFile = join(STATE, 'demo-station.json')
  writeFileSync(manifestFile, JSON.stringify({
    name: 'OpenStudio Demo Radio',
    description: 'The demo station of your local OpenStudio network. Press Listen to hear its Icecast stream.',
    tags: ['demo', 'talk'],
    language: 'en',
    country: 'GB',
    homepage: 'https://openstudio.example/',
    streams: [{ url: streamUrl, codec: 'opus', bitrate: 96, mount: DEMO_MOUNT }],
    access: 'open'
  }, null, 2))
  return JSON.parse(await runCli(['station', 'publish', '--key', keyFile, '--manifest', manifestFile,
    '--bootstrap', bootstrap, ...relayWs.flatMap((r) => ['--relay', r]), '--json'])) as { id: string, storedOn: number }
}

let stopping = false
async function stop (code = 0): Promise<void> {
  if (stopping) return
  stopping = true
  process.stderr.write('\nstopping OpenStudio…\n')
  await Promise.all(children.filter((c) => c.exitCode === null && c.signalCode === null).map(async (c) => new Promise((resolve) => {
    c.once('exit', resolve)
    c.kill('SIGTERM')
  })))
  await fallback?.stop()
  await icecast?.stop()
  process.exit(code)
}
process.on('SIGINT', () => { void stop() })
process.on('SIGTERM', () => { void stop() })

try {
  mkdirSync(STATE, { recursive: true })
  buildAppIfStale()
  say('starting a local OpenStudio network…')
  const streamUrl = await startIcecastWithDemo() ?? `http://127.0.0.1:${ICECAST_PORT}${DEMO_MOUNT}`
  await startCoturn()
  // Every relay streams any local studio's program to Icecast: a studio streams through the first relay its manifest lists that takes it, and a browser's station lists the relays it holds reservations on, which need not include the first.
  // A local network serves any station: TURN for its calls, reserved capacity for its studio.
  const program = ['--station', '*', ...icecast === undefined || icecastPasswordFile === undefined
    ? []
    : ['--icecast', icecast.url, '--icecast-password-file', icecastPasswordFile, '--mount', LIVE_MOUNT]]
  const first = await startRelay(RELAYS[0], [], program)
  const bootstrap = first.find((a) => a.includes(`/tcp/${RELAYS[0].tcp}/p2p/`)) as string
  const ws = [first.find((a) => a.includes('/ws/')) as string]
  for (const relay of RELAYS.slice(1)) ws.push(...(await startRelay(relay, [bootstrap], program)).filter((a) => a.includes('/ws/')))
  const demo = await publishDemo(bootstrap, ws, streamUrl)
  say(`
OpenStudio is running.

  open         http://127.0.0.1:${RELAYS[0].http}/

  relays       ${RELAYS.map((r) => `127.0.0.1:${r.tcp}`).join(', ')} (WebSockets on ${RELAYS.map((r) => r.ws).join(', ')})
  bootstrap    ${bootstrap}
  health       http://127.0.0.1:${RELAYS[0].http}/health   metrics: http://127.0.0.1:${RELAYS[0].http}/metrics
  icecast      ${icecast === undefined ? 'not running' : `${icecast.url}/ (demo stream ${streamUrl})`}
  live mount   ${icecast === undefined ? 'off (no Icecast)' : `${icecast.url}${LIVE_MOUNT} (a studio's program, through any relay; silence while no show is on air)`}
  mp3 mount    ${icecast === undefined || !has('ffmpeg') ? 'off (needs Icecast and ffmpeg)' : `${icecast.url}${MP3_MOUNT} (the same show as MP3 while it is on air, titled with its Now playing)`}
  turn         ${turn === undefined ? 'off' : `${turn.url} (the relays give the calls of the stations they serve credentials for it)`}
  demo station ${demo.id} (stored on ${demo.storedOn} relays)

Press Ctrl-C to stop.`)
} catch (err) {
  process.stderr.write(`openstudio: ${(err as Error).message}\n`)
  await stop(1)
}
