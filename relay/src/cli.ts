/** `openstudio relay`: runs a relay until SIGINT or SIGTERM. */
import { collectMultiaddr } from '@openstudio/node/cli'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Command, InvalidArgumentError, Option } from 'commander'
import { logger } from '@libp2p/logger'
import { Counter } from 'prom-client'
import { isIceUrl, isStationId } from '@openstudio/protocol'
import { Relay } from './relay.ts'
import { DEFAULT_LISTEN, DEFAULT_MAX_ROOMS, PROGRAM_POLICY_DEFAULTS, RESERVATION_POLICY_DEFAULTS, ROOM_POLICY_DEFAULTS } from './constants.ts'
import { STATION_INDEX_DEFAULTS } from './station-index.ts'
import { HLS_DEFAULTS, INBOUND_LIMITS_DEFAULTS, MP3_DEFAULTS } from '@openstudio/node'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { isIP } from 'node:net'
import { readTurnSecret, TurnConfigError, type TurnInit } from './turn.ts'
import { ProgramConfigError, type ProgramInit } from './program.ts'
import { readSecretFile } from './secret-file.ts'
import { MetricsConfigError } from './http.ts'

/** Where `npm run build -w browser` puts the web app. */
const BUILT_APP = fileURLToPath(new URL('../../browser/dist', import.meta.url))

const log = logger('openstudio:relay')

interface RelayOptions {
  app?: string
  listen?: string[]
  bootstrap?: string[]
  announce?: string[]
  http?: { host: string, port: number }
  metrics?: { host: string, port: number }
  metricsTokenFile?: string
  data?: string
  allowPrivate?: boolean
  maxReservations?: number
  reservationTtl?: number
  maxRooms?: number
  maxConnections?: number
  maxConnectionsPerHost?: number
  maxReservationsPerHost?: number
  maxRoomsPerHost?: number
  trustedProxy?: string[]
  turnUrl?: string[]
  turnSecretFile?: string
  station?: string[]
  icecast?: string
  icecastPasswordFile?: string
  mount?: string
  programBuffer?: number
  programBufferBytes?: number
  oggPageMs?: number
  icecastPublic?: boolean
  icecastPublicUrl?: string
  /** false with --no-mp3. */
  mp3?: boolean
  mp3Mount?: string
  mp3Bitrate?: number
  /** false with --no-hls. */
  hls?: boolean
  hlsBitrate?: number
  publicUrl?: string
  ffmpeg?: string
  maxStations?: number
  newStationsPerMinute?: number
}

export function relayCommand (): Command {
  return new Command('relay')
    .description('run a relay node: circuit relay, DHT server, gossipsub router, health and metrics over HTTP')
    .option('--listen <multiaddr>', `address to listen on (repeatable; default ${DEFAULT_LISTEN.join(' and ')})`, collectMultiaddr)
    .addOption(new Option('--bootstrap <multiaddr>', 'another relay to join (repeatable)').env('OPENSTUDIO_BOOTSTRAP').argParser(collectMultiaddr))
    .addOption(new Option('--announce <multiaddr>', 'public address to announce instead of the listen addresses (repeatable)').env('OPENSTUDIO_ANNOUNCE').argParser(collectMultiaddr))
    .option('--http <host:port>', 'serve /health and /metrics here', parseHostPort)
    .option('--metrics <host:port>', 'serve /metrics only here, on a server of its own (--http then answers 404 for it)', parseHostPort)
    .addOption(new Option('--metrics-token-file <file>', 'file holding a token that /metrics requires as Authorization: Bearer <token>').env('OPENSTUDIO_METRICS_TOKEN_FILE'))
    .option('--data <dir>', 'keep the relay identity and DHT records in this directory')
    .option('--app <dir>', 'serve the web app from this directory over --http (default: the built app, if present)')
    .option('--allow-private', 'keep loopback and LAN addresses (needed on loopback and LANs)')
    .option('--max-reservations <n>', 'circuit relay reservations held at once (default 512)', parsePositive)
    .option('--reservation-ttl <seconds>', 'how long a reservation lasts (default 600)', parsePositive)
    .option('--max-rooms <n>', `room topics routed at once (default ${DEFAULT_MAX_ROOMS})`, parsePositive)
    .option('--max-connections <n>', `inbound and outbound connections at once (default ${INBOUND_LIMITS_DEFAULTS.maxConnections})`, parsePositive)
    .option('--max-connections-per-host <n>', `connections from one IP address (IPv6: one /64) at once (default ${INBOUND_LIMITS_DEFAULTS.maxPerHost})`, parsePositive)
    .option('--max-reservations-per-host <n>', `circuit relay reservations one host may hold (default ${RESERVATION_POLICY_DEFAULTS.maxPerHost})`, parsePositive)
    .option('--max-stations <n>', `stations the directory index holds at once (default ${STATION_INDEX_DEFAULTS.maxStations})`, parsePositive)
    .option('--new-stations-per-minute <n>', `new stations one host, or one peer, may add in a minute, after a burst of half as many (default ${STATION_INDEX_DEFAULTS.newPerSource.perMinute})`, parsePositive)
    .option('--max-rooms-per-host <n>', `room topics the peers of one host may open (default ${ROOM_POLICY_DEFAULTS.perHost})`, parsePositive)
    .addOption(new Option('--trusted-proxy <ip>', 'an address no per-host limit applies to, such as a reverse proxy on this host (repeatable)').env('OPENSTUDIO_TRUSTED_PROXY').argParser(collectIp))
    .addOption(new Option('--turn-url <url>', 'a URL of the coturn sharing --turn-secret-file, handed to peers in a room, e.g. turn:turn.example.org:3478?transport=udp (repeatable)')
      .env('OPENSTUDIO_TURN_URL').argParser(collectTurnUrl))
    .addOption(new Option('--turn-secret-file <file>', "file holding coturn's static-auth-secret (TURN is off without it)").env('OPENSTUDIO_TURN_SECRET_FILE'))
    .addOption(new Option('--station <id>', "a station this relay serves: its studio may stream the program here, its calls get TURN, its room and studio get reserved capacity (repeatable; '*' serves any station, for local networks)").env('OPENSTUDIO_STATION').argParser(collectStationId))
    .addOption(new Option('--icecast <url>', "Icecast's base URL for the program, e.g. http://127.0.0.1:8000").env('OPENSTUDIO_ICECAST').argParser(parseHttpUrl))
    .addOption(new Option('--icecast-password-file <file>', "file holding Icecast's source password").env('OPENSTUDIO_ICECAST_PASSWORD_FILE'))
    .addOption(new Option('--mount <path>', 'the Icecast mount the program goes to (default /live.ogg)').env('OPENSTUDIO_MOUNT').argParser(parseMount))
    .option('--program-buffer <seconds>', 'audio kept to replay after an Icecast outage (default 30)', parsePositive)
    .option('--program-buffer-bytes <n>', 'memory the replay buffer may hold, in bytes; it bounds pages that claim no audio (default: --program-buffer at 320 kb/s, 2.1 MiB for 30 s)', parsePositive)
    .option('--ogg-page-ms <ms>', `audio gathered into each Ogg page sent to Icecast; 0 sends the studio's 10 ms pages as they came (default ${PROGRAM_POLICY_DEFAULTS.oggPageMs}, at most ${PROGRAM_POLICY_DEFAULTS.maxOggPageMs})`, parseOggPageMs)
    .addOption(new Option('--icecast-public-url <url>', 'Icecast as listeners reach it, e.g. https://stream.example.org (default: --icecast)').env('OPENSTUDIO_ICECAST_PUBLIC_URL').argParser(parsePublicUrl))
    .option('--icecast-public', 'ask Icecast to list open stations in public directories (Ice-Public)')
    .addOption(new Option('--mp3-mount <path>', `the MP3 mount made from the program with ffmpeg, whose ICY title is the show's now playing (default ${MP3_DEFAULTS.mount})`).env('OPENSTUDIO_MP3_MOUNT').argParser(parseMount))
    .option('--mp3-bitrate <kbps>', `the MP3 mount's bitrate (default ${MP3_DEFAULTS.bitrate}, 32 to 320)`, parseKbps)
    .option('--no-mp3', 'make no MP3 mount')
    .option('--hls-bitrate <kbps>', `the HLS rendition's AAC bitrate (default ${HLS_DEFAULTS.bitrate}, 32 to 320); HLS is served under /hls/ on --http`, parseKbps)
    .option('--no-hls', 'make no HLS rendition')
    .addOption(new Option('--public-url <url>', "this relay's HTTP server as listeners reach it, for the HLS playlist's URL, e.g. https://relay.example.org (default: http://<--http>)").env('OPENSTUDIO_PUBLIC_URL').argParser(parsePublicUrl))
    .addOption(new Option('--ffmpeg <path>', 'the ffmpeg that makes the MP3 mount (default: ffmpeg on the PATH)').env('OPENSTUDIO_FFMPEG'))
    .action(async (opts: RelayOptions) => {
      const turn = await turnOptions(opts)
      const program = await programOptions(opts)
      const relay = await Relay.create({
        listen: opts.listen,
        bootstrap: opts.bootstrap,
        announce: opts.announce,
        http: opts.http,
        metrics: opts.metrics,
        metricsToken: opts.metricsTokenFile === undefined || opts.metricsTokenFile.trim() === ''
          ? undefined
          : await readSecretFile(opts.metricsTokenFile, 'metrics token file', MetricsConfigError),
        dataDir: opts.data,
        appDir: opts.app ?? (existsSync(BUILT_APP) ? BUILT_APP : undefined),
        allowPrivate: opts.allowPrivate === true,
        maxRooms: opts.maxRooms,
        limits: {
          inbound: { maxConnections: opts.maxConnections, maxPerHost: opts.maxConnectionsPerHost, exemptHosts: opts.trustedProxy },
          reservationsPerHost: opts.maxReservationsPerHost,
          roomsPerHost: opts.maxRoomsPerHost
        },
        turn,
        program,
        stations: opts.station,
        directory: {
          maxStations: opts.maxStations,
          newPerSource: opts.newStationsPerMinute === undefined ? undefined : { perMinute: opts.newStationsPerMinute, burst: Math.max(1, Math.floor(opts.newStationsPerMinute / 2)) }
        },
        relayServer: {
          maxReservations: opts.maxReservations,
          reservationTtlMs: opts.reservationTtl === undefined ? undefined : opts.reservationTtl * 1000
        }
      })
      // The last line of defence, not the design: every request and message
      // handler catches its own errors and refuses what it cannot serve. An
      // error that still escapes is a bug; it is logged and counted, and the
      // relay keeps serving its other peers instead of exiting.
      const uncaught = new Counter({
        name: 'openstudio_relay_uncaught_errors_total',
        help: 'Errors no handler caught (bugs): logged, and the relay kept serving',
        registers: [relay.registry]
      })
      const onUncaught = (err: unknown): void => {
        uncaught.inc()
        log.error('uncaught error, relay keeps serving: %s', err instanceof Error ? err.stack ?? err.message : String(err))
      }
      process.on('uncaughtException', onUncaught)
      process.on('unhandledRejection', onUncaught)
      // Handlers go in before `ready`, so a signal sent right after it stops the relay cleanly.
      const stopped = new Promise<void>((resolve) => {
        const shutdown = (signal: string): void => {
          process.stderr.write(`${signal}: stopping relay…\n`)
          relay.stop().then(resolve, (err: Error) => {
            process.stderr.write(`openstudio: relay did not stop cleanly: ${err.message}\n`)
            process.exitCode = 1
            resolve()
          })
        }
        process.once('SIGINT', shutdown)
        process.once('SIGTERM', shutdown)
      })
      for (const addr of relay.multiaddrs) process.stdout.write(`listening ${addr}\n`)
      const http = relay.httpAddress
      if (http !== undefined) process.stdout.write(`http http://${http.host}:${http.port}\n`)
      const metrics = relay.metricsAddress
      if (metrics !== undefined) process.stdout.write(`metrics http://${metrics.host}:${metrics.port}/metrics\n`)
      for (const url of turn?.urls ?? []) process.stdout.write(`turn ${url}\n`)
      if (program !== undefined) process.stdout.write(`program ${program.icecastUrl}${program.mount ?? ''} for ${program.stations.join(', ')}\n`)
      if (program !== undefined && program.mp3 !== false) process.stdout.write(`mp3 ${program.icecastUrl}${program.mp3?.mount ?? MP3_DEFAULTS.mount}\n`)
      if (program?.hls !== undefined && program.hls !== false) process.stdout.write(`hls ${program.hls.publicUrl}/hls/${HLS_DEFAULTS.name}.m3u8\n`)
      process.stdout.write('ready\n')
      await stopped
      process.off('uncaughtException', onUncaught)
      process.off('unhandledRejection', onUncaught)
    })
}

function parseHostPort (value: string): { host: string, port: number } {
  const match = /^(?<host>\[[0-9a-fA-F:]+\]|[^:\s]+):(?<port>\d{1,5})$/.exec(value)
  const port = Number(match?.groups?.port)
  if (match?.groups?.host === undefined || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, such as 127.0.0.1:8080')
  return { host: match.groups.host.replace(/^\[|\]$/g, ''), port }
}

/** Repeatable IP addresses; one value (an environment variable) may hold several, separated by commas or spaces. */
function collectIp (value: string, previous: string[] = []): string[] {
  const ips = value.split(/[\s,]+/).filter((v) => v !== '')
  for (const ip of ips) if (isIP(ip) === 0) throw new InvalidArgumentError(`not an IP address: ${ip}`)
  return [...previous, ...ips]
}

function parseOggPageMs (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n < 0 || n > PROGRAM_POLICY_DEFAULTS.maxOggPageMs) throw new InvalidArgumentError(`expected a whole number of milliseconds from 0 to ${PROGRAM_POLICY_DEFAULTS.maxOggPageMs}`)
  return n
}

function parsePositive (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number')
  return n
}


/** Repeatable TURN URLs; one value (an environment variable) may hold several, separated by commas or spaces. */
function collectTurnUrl (value: string, previous: string[] = []): string[] {
  const urls = value.split(/[\s,]+/).filter((v) => v !== '')
  for (const url of urls) if (!isIceUrl(url)) throw new InvalidArgumentError(`not a TURN URL: ${url} (expected e.g. turn:turn.example.org:3478?transport=udp)`)
  return [...previous, ...urls]
}

/**
 * TURN is on with both a URL and a secret file, off with neither.
 * @throws {TurnConfigError} for one without the other, or a secret file that is missing, too large or empty
 */
async function turnOptions (opts: RelayOptions): Promise<TurnInit | undefined> {
  const urls = opts.turnUrl ?? []
  const file = opts.turnSecretFile === undefined || opts.turnSecretFile.trim() === '' ? undefined : opts.turnSecretFile
  if (urls.length === 0 && file === undefined) return undefined
  if (file === undefined) throw new TurnConfigError('--turn-url needs --turn-secret-file (the coturn static-auth-secret)')
  if (urls.length === 0) throw new TurnConfigError('--turn-secret-file needs at least one --turn-url')
  return { urls, secret: await readTurnSecret(file) }
}

function collectStationId (value: string, previous: string[] = []): string[] {
  const ids = value.split(/[\s,]+/).filter((v) => v !== '')
  for (const id of ids) if (id !== '*' && !isStationId(id)) throw new InvalidArgumentError(`not a station id: ${id} (expected 12D3KooW…)`)
  return [...previous, ...ids]
}

function parseHttpUrl (value: string): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidArgumentError('expected a URL such as http://127.0.0.1:8000')
  }
  if (url.protocol !== 'http:' || url.username !== '' || url.password !== '') throw new InvalidArgumentError('expected an http:// URL without credentials (the password comes from --icecast-password-file)')
  return url.origin
}

function parsePublicUrl (value: string): string | undefined {
  // An empty environment variable (compose files often pass one) means "not set".
  if (value.trim() === '') return undefined
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidArgumentError('expected a URL such as https://stream.example.org')
  }
  if (!['http:', 'https:'].includes(url.protocol) || url.username !== '' || url.password !== '') throw new InvalidArgumentError('expected an http:// or https:// URL without credentials')
  return url.origin
}

function parseMount (value: string): string {
  if (!/^\/[A-Za-z0-9._-]{1,63}$/.test(value)) throw new InvalidArgumentError('expected a mount path such as /live.ogg')
  return value
}

/**
 * The program ingest is on with an Icecast URL and a password file (for the served stations), off with neither.
 * @throws {ProgramConfigError} for one without the other or without --station, or a password file that is missing, too large or empty
 */
async function programOptions (opts: RelayOptions): Promise<ProgramInit | undefined> {
  const stations = opts.station ?? []
  const file = opts.icecastPasswordFile === undefined || opts.icecastPasswordFile.trim() === '' ? undefined : opts.icecastPasswordFile
  const given = [opts.icecast !== undefined, file !== undefined]
  if (given.every((g) => !g)) return undefined
  if (!given.every((g) => g) || stations.length === 0) throw new ProgramConfigError('the program needs all of --station, --icecast and --icecast-password-file')
  return {
    stations,
    icecastUrl: opts.icecast as string,
    icecastPassword: await readSecretFile(file as string, 'Icecast password file', ProgramConfigError),
    mount: opts.mount,
    publicUrl: opts.icecastPublicUrl,
    bufferMs: opts.programBuffer === undefined ? undefined : opts.programBuffer * 1000,
    bufferBytes: opts.programBufferBytes,
    oggPageMs: opts.oggPageMs,
    public: opts.icecastPublic === true,
    ...await renditionOptions(opts),
    ffmpegPath: opts.ffmpeg
  }
}

/** The renditions ffmpeg makes, when asked for and ffmpeg is there (looked for once). */
async function renditionOptions (opts: RelayOptions): Promise<Pick<ProgramInit, 'mp3' | 'hls'>> {
  const wanted = opts.mp3 !== false || (opts.hls !== false && opts.http !== undefined)
  const ffmpeg = wanted && await hasFfmpeg(opts.ffmpeg ?? 'ffmpeg')
  if (wanted && !ffmpeg) process.stderr.write(`warning: ${opts.ffmpeg ?? 'ffmpeg'} not found: no MP3 mount or HLS (install ffmpeg, or pass --no-mp3 --no-hls)\n`)
  return { mp3: ffmpeg && mp3Options(opts), hls: ffmpeg && await hlsOptions(opts) }
}

/**
 * HLS, unless --no-hls: it needs --http (the relay serves it). Its files go
 * to `<--data>/hls`, or a temporary directory without --data.
 */
async function hlsOptions (opts: RelayOptions): Promise<ProgramInit['hls']> {
  if (opts.hls === false || opts.http === undefined) return false
  const dir = opts.data === undefined ? await mkdtemp(join(tmpdir(), 'openstudio-hls-')) : join(opts.data, 'hls')
  const unspecified = opts.http.host === '0.0.0.0' || opts.http.host === '::'
  if (unspecified && opts.publicUrl === undefined) process.stderr.write('warning: the HLS playlist\'s URL names 127.0.0.1: pass --public-url with the address listeners reach\n')
  const host = unspecified ? '127.0.0.1' : opts.http.host.includes(':') ? `[${opts.http.host}]` : opts.http.host
  const publicUrl = opts.publicUrl ?? `http://${host}:${opts.http.port}`
  return { dir, publicUrl, bitrate: opts.hlsBitrate ?? HLS_DEFAULTS.bitrate }
}

/** The MP3 mount, unless --no-mp3 (the Ogg mount does not need it). */
function mp3Options (opts: RelayOptions): ProgramInit['mp3'] {
  if (opts.mp3 === false) return false
  return { mount: opts.mp3Mount ?? MP3_DEFAULTS.mount, bitrate: opts.mp3Bitrate ?? MP3_DEFAULTS.bitrate }
}

async function hasFfmpeg (path: string): Promise<boolean> {
  return await new Promise((resolve) => {
    execFile(path, ['-hide_banner', '-version'], { timeout: 5_000 }, (err) => { resolve(err === null) })
  })
}

function parseKbps (value: string): number {
  const kbps = Number(value)
  if (!Number.isInteger(kbps) || kbps < 32 || kbps > 320) throw new InvalidArgumentError('expected a bitrate in kb/s from 32 to 320, such as 128')
  return kbps
}
