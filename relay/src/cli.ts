/** `openstudio relay`: runs a relay until SIGINT or SIGTERM. */
import { collectMultiaddr } from '@openstudio/node/cli'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Command, InvalidArgumentError, Option } from 'commander'
import { Relay } from './relay.ts'
import { DEFAULT_LISTEN } from './constants.ts'

/** Where `npm run build -w browser` puts the web app. */
const BUILT_APP = fileURLToPath(new URL('../../browser/dist', import.meta.url))

interface RelayOptions {
  app?: string
  listen?: string[]
  bootstrap?: string[]
  announce?: string[]
  http?: { host: string, port: number }
  data?: string
  allowPrivate?: boolean
  maxReservations?: number
  reservationTtl?: number
}

export function relayCommand (): Command {
  return new Command('relay')
    .description('run a relay node: circuit relay, DHT server, gossipsub router, health and metrics over HTTP')
    .option('--listen <multiaddr>', `address to listen on (repeatable; default ${DEFAULT_LISTEN.join(' and ')})`, collectMultiaddr)
    .addOption(new Option('--bootstrap <multiaddr>', 'another relay to join (repeatable)').env('OPENSTUDIO_BOOTSTRAP').argParser(collectMultiaddr))
    .addOption(new Option('--announce <multiaddr>', 'public address to announce instead of the listen addresses (repeatable)').env('OPENSTUDIO_ANNOUNCE').argParser(collectMultiaddr))
    .option('--http <host:port>', 'serve /health and /metrics here', parseHostPort)
    .option('--data <dir>', 'keep the relay identity and DHT records in this directory')
    .option('--app <dir>', 'serve the web app from this directory over --http (default: the built app, if present)')
    .option('--allow-private', 'keep loopback and LAN addresses (needed on loopback and LANs)')
    .option('--max-reservations <n>', 'circuit relay reservations held at once (default 512)', parsePositive)
    .option('--reservation-ttl <seconds>', 'how long a reservation lasts (default 600)', parsePositive)
    .action(async (opts: RelayOptions) => {
      const relay = await Relay.create({
        listen: opts.listen,
        bootstrap: opts.bootstrap,
        announce: opts.announce,
        http: opts.http,
        dataDir: opts.data,
        appDir: opts.app ?? (existsSync(BUILT_APP) ? BUILT_APP : undefined),
        allowPrivate: opts.allowPrivate === true,
        relayServer: {
          maxReservations: opts.maxReservations,
          reservationTtlMs: opts.reservationTtl === undefined ? undefined : opts.reservationTtl * 1000
        }
      })
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
      process.stdout.write('ready\n')
      await stopped
    })
}

function parseHostPort (value: string): { host: string, port: number } {
  const match = /^(?<host>\[[0-9a-fA-F:]+\]|[^:\s]+):(?<port>\d{1,5})$/.exec(value)
  const port = Number(match?.groups?.port)
  if (match?.groups?.host === undefined || port > 65535) throw new InvalidArgumentError('expected HOST:PORT, such as 127.0.0.1:8080')
  return { host: match.groups.host.replace(/^\[|\]$/g, ''), port }
}

function parsePositive (value: string): number {
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number')
  return n
}

