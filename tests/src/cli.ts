/** Runs the `openstudio` CLI as a subprocess, as a user would. */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createInterface } from 'node:readline'

export const CLI = fileURLToPath(new URL('../../relay/bin/openstudio.js', import.meta.url))

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs one CLI command to completion. */
export async function runCli (args: string[], timeoutMs = 60_000): Promise<CliResult> {
  // The signal kills a command that hangs, so a broken CLI fails the test instead of stalling it.
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, DEBUG: '' }, signal: AbortSignal.timeout(timeoutMs), killSignal: 'SIGKILL' })
  child.on('error', () => { /* a timeout kill is reported through the exit code */ })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  return { code, stdout, stderr }
}

/** A long-running CLI command whose stdout lines can be awaited. */
export interface CliProcess {
  child: ChildProcessWithoutNullStreams
  /** Every stdout line so far. */
  lines: string[]
  /** Resolves with the first line (seen or future) after `from` that matches. */
  waitForLine: (match: (line: string) => boolean, from?: number) => Promise<string>
  /** Sends SIGTERM and resolves with the exit code. */
  stop: () => Promise<number | null>
  stderr: () => string
}

/**
 * `env` adds to this process's environment (the settings a deployment passes
 * as OPENSTUDIO_*); `prefix` runs the command through another, such as
 * `ip netns exec NS`, which execs it in place.
 */
export function spawnCli (args: string[], env: Record<string, string> = {}, prefix: string[] = []): CliProcess {
  const [command, ...rest] = [...prefix, process.execPath, CLI, ...args] as [string, ...string[]]
  const child = spawn(command, rest, { env: { ...process.env, DEBUG: '', ...env } })
  const lines: string[] = []
  const waiters: Array<{ match: (line: string) => boolean, from: number, resolve: (line: string) => void }> = []
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line)
    for (const w of [...waiters]) {
      if (lines.length > w.from && w.match(line)) {
        waiters.splice(waiters.indexOf(w), 1)
        w.resolve(line)
      }
    }
  })
  return {
    child,
    lines,
    stderr: () => stderr,
    waitForLine: async (match, from = 0) => {
      const seen = lines.slice(from).find(match)
      if (seen !== undefined) return seen
      return Promise.race([
        new Promise<string>((resolve) => waiters.push({ match, from, resolve })),
        exited.then((code) => { throw new Error(`openstudio ${args.join(' ')} exited with ${code}: ${stderr}`) })
      ])
    },
    stop: async () => {
      child.kill('SIGTERM')
      return exited
    }
  }
}

export interface CliRelay extends CliProcess {
  addrs: string[]
  http?: string
}

/** Starts `openstudio relay …` and waits for its `ready` line. */
export async function startCliRelay (args: string[], env: Record<string, string> = {}, prefix: string[] = []): Promise<CliRelay> {
  const relay = spawnCli(['relay', ...args], env, prefix)
  await relay.waitForLine((line) => line === 'ready')
  const addrs = relay.lines.filter((l) => l.startsWith('listening ')).map((l) => l.slice('listening '.length))
  const http = relay.lines.find((l) => l.startsWith('http '))?.slice('http '.length)
  return { ...relay, addrs, http }
}
