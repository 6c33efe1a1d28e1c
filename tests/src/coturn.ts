/** A real coturn on loopback for tests, with the shared-secret (REST API) scheme. */
import { spawn, type ChildProcess } from 'node:child_process'
import { createInterface } from 'node:readline'
import { freePort } from './ports.ts'

export interface Coturn {
  port: number
  /** TURN over TLS (`turns:`), when started with a certificate. */
  tlsPort?: number
  secret: string
  /** The running turnserver (a new one after `restart`). */
  readonly process: ChildProcess
  stop: () => Promise<void>
  /** Stops turnserver and starts it again on the same ports: every allocation and relayed path is gone, as when a TURN server restarts. */
  restart: () => Promise<void>
}

export interface CoturnInit {
  /** Serve TURN over TLS too, with this certificate and key (PEM files). */
  tls?: { cert: string, key: string }
}

export async function startCoturn (secret: string, init: CoturnInit = {}): Promise<Coturn> {
  const port = await freePort()
  const tlsPort = init.tls === undefined ? undefined : await freePort()
  const relayPorts = 49152 + Math.floor(Math.random() * 10_000)
  const tls = init.tls === undefined || tlsPort === undefined
    ? ['--no-tls']
    : [`--tls-listening-port=${tlsPort}`, `--cert=${init.tls.cert}`, `--pkey=${init.tls.key}`]
  const spawnIt = async (): ReturnType<typeof spawnCoturn> => spawnCoturn(secret, port, relayPorts, tls)
  let running = await spawnIt()
  return {
    port,
    tlsPort,
    secret,
    get process () { return running.child },
    stop: async () => { await running.stop() },
    restart: async () => {
      await running.stop()
      running = await spawnIt()
    }
  }
}

async function spawnCoturn (secret: string, port: number, relayPorts: number, tls: string[]): Promise<{ child: ChildProcess, stop: () => Promise<void> }> {
  const child = spawn('turnserver', [
    '-n', '--listening-ip=127.0.0.1', `--listening-port=${port}`, '--relay-ip=127.0.0.1',
    '--use-auth-secret', `--static-auth-secret=${secret}`, '--realm=openstudio',
    '--allow-loopback-peers', '--no-cli', ...tls, '--no-dtls',
    `--min-port=${relayPorts}`, `--max-port=${relayPorts + 100}`, '--log-file=stdout', '--simple-log'
  ], { stdio: ['ignore', 'pipe', 'pipe'] })
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve() }))
  await new Promise<void>((resolve, reject) => {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      if (/listener opened on|Total General servers/i.test(line)) resolve()
    })
    void exited.then(() => { reject(new Error('turnserver exited before it listened')) })
  })
  return {
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await exited
    }
  }
}

/** Allocates a relay on coturn with turnutils_uclient; resolves with its exit code (0: allocated). */
export async function allocate (turn: Coturn, username: string, credential: string): Promise<number | null> {
  const child = spawn('turnutils_uclient', ['-y', '-n', '2', '-u', username, '-w', credential, '-p', String(turn.port), '127.0.0.1'],
    { stdio: 'ignore', signal: AbortSignal.timeout(20_000), killSignal: 'SIGKILL' })
  child.on('error', () => { /* a timeout kill is reported through the exit code */ })
  return new Promise<number | null>((resolve) => child.once('exit', resolve))
}
