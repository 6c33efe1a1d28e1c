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
  const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, DEBUG: '' } })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs)
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

export interface CliRelay {
  child: ChildProcessWithoutNullStreams
  addrs: string[]
  http?: string
  stop: () => Promise<number | null>
}

/** Starts `openstudio relay …` and waits for its `ready` line. */
export async function startCliRelay (args: string[]): Promise<CliRelay> {
  const child = spawn(process.execPath, [CLI, 'relay', ...args], { env: { ...process.env, DEBUG: '' } })
  const addrs: string[] = []
  let http: string | undefined
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve))
  await new Promise<void>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout })
    lines.on('line', (line) => {
      if (line.startsWith('listening ')) addrs.push(line.slice('listening '.length))
      if (line.startsWith('http ')) http = line.slice('http '.length)
      if (line === 'ready') resolve()
    })
    void exited.then((code) => { reject(new Error(`relay exited with ${code} before ready: ${stderr}`)) })
  })
  return {
    child,
    addrs,
    http,
    stop: async () => {
      child.kill('SIGTERM')
      return exited
    }
  }
}
