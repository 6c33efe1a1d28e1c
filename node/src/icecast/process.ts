/**
 * Runs a local icecast2 process with a generated configuration, and waits
 * until it answers. Used by `npm start` and the tests.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmod, chown, mkdir, readFile, writeFile } from 'node:fs/promises'
import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { logger } from '@libp2p/logger'
import { icecastConfig, type IcecastConfigInit } from './config.ts'

const log = logger('openstudio:icecast')

export const ICECAST_BINARY = 'icecast2'
const READY_TIMEOUT_MS = 10_000
/** Error log lines quoted when icecast2 does not come up. */
const ERROR_LINES = 3

export class IcecastUnavailableError extends Error {
  override readonly name = 'IcecastUnavailableError'
}

export interface LocalIcecastInit extends Omit<IcecastConfigInit, 'logDir' | 'sourcePassword' | 'adminPassword' | 'changeOwner'> {
  /** Directory for the config and logs. Started as root, Icecast runs as `icecast2`: every parent must be traversable. */
  dir: string
  /** @default random */
  sourcePassword?: string
}

export interface LocalIcecast {
  url: string
  port: number
  sourcePassword: string
  process: ChildProcess
  stop: () => Promise<void>
}

/** True when the icecast2 binary is on the PATH. */
export function hasIcecast (): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${ICECAST_BINARY}`], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Starts icecast2 and waits for its status page.
 * @throws {IcecastUnavailableError} when icecast2 is missing or does not come up
 */
export async function startIcecast (init: LocalIcecastInit): Promise<LocalIcecast> {
  if (!hasIcecast()) throw new IcecastUnavailableError('icecast2 is not installed (Debian: apt-get install icecast2)')
  const logDir = join(init.dir, 'log')
  await mkdir(logDir, { recursive: true })
  const asRoot = process.getuid?.() === 0
  const owner = asRoot ? { user: 'icecast2', group: 'icecast' } : undefined
  if (asRoot) {
    // Icecast drops to its own user; it must still reach its directory.
    await chmod(init.dir, 0o755)
    await chownToIcecast(logDir)
  }
  const sourcePassword = init.sourcePassword ?? randomBytes(12).toString('base64url')
  const configFile = join(init.dir, 'icecast.xml')
  await writeFile(configFile, icecastConfig({ ...init, logDir, sourcePassword, adminPassword: randomBytes(12).toString('base64url'), changeOwner: owner }), { mode: 0o644 })
  const child = spawn(ICECAST_BINARY, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const host = init.host ?? '127.0.0.1'
  const url = `http://${host}:${init.port}`
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve() }))
  try {
    await waitForStatus(url, exited)
  } catch (err) {
    child.kill('SIGKILL')
    // Before its log is open, icecast2 says why it quit on stderr; after, in its error log.
    const said = [...lines(stderr), ...(await lastErrors(logDir))].join(' · ')
    const code = child.exitCode === null ? '' : ` with code ${child.exitCode}`
    throw new IcecastUnavailableError(`icecast2 did not start on ${url}: ${(err as Error).message}${code}${said === '' ? '' : `: ${said}`}`)
  }
  log('icecast2 running at %s', url)
  return {
    url,
    port: init.port,
    sourcePassword,
    process: child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return
      child.kill('SIGTERM')
      await exited
    }
  }
}

async function waitForStatus (url: string, exited: Promise<void>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  let gone = false
  void exited.then(() => { gone = true })
  while (Date.now() < deadline) {
    if (gone) throw new Error('it exited')
    try {
      const res = await fetch(`${url}/status-json.xsl`, { signal: AbortSignal.timeout(1000) })
      if (res.ok) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 50))
  }
  throw new Error('no answer in time')
}

/** The last error lines in icecast2's error log. */
async function lastErrors (logDir: string): Promise<string[]> {
  return lines(await readFile(join(logDir, 'error.log'), 'utf8').catch(() => '')).filter((line) => /EROR|WARN/.test(line)).slice(-ERROR_LINES)
}

function lines (text: string): string[] {
  return text.split('\n').map((line) => line.trim()).filter((line) => line !== '')
}

async function chownToIcecast (dir: string): Promise<void> {
  const uid = Number(execFileSync('id', ['-u', 'icecast2']).toString().trim())
  const gid = Number(execFileSync('id', ['-g', 'icecast2']).toString().trim())
  await chown(dir, uid, gid)
}
