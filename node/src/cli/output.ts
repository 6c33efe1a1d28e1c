/**
 * How the CLI talks to people and scripts: results on stdout (text or
 * `--json`), progress and errors on stderr, one line per error, never a stack
 * trace, and an exit code per kind of failure.
 */
import { isPrivate } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { InvalidArgumentError } from 'commander'

/** Exit codes of the CLI. */
export const EXIT = {
  ok: 0,
  error: 1,
  notFound: 2,
  invalid: 3
} as const

/** An error the CLI reports as one line (plus an optional detail list) with its exit code. */
export class CliError extends Error {
  override readonly name = 'CliError'
  constructor (message: string, readonly exitCode: number = EXIT.error, readonly details: readonly string[] = []) {
    super(message)
  }
}

/** Prints an error for people and sets the exit code. */
export function reportError (err: unknown): void {
  const cli = toCliError(err)
  process.stderr.write(`openstudio: ${cli.message}\n`)
  for (const detail of cli.details) process.stderr.write(`  ${detail}\n`)
  process.exitCode = cli.exitCode
}

function toCliError (err: unknown): CliError {
  if (err instanceof CliError) return err
  if (!(err instanceof Error)) return new CliError(String(err))
  const issues = (err as { issues?: Array<{ path: string, message: string }> }).issues ?? []
  const details = issues.map((i) => `${i.path === '' ? '(manifest)' : i.path}: ${i.message}`)
  switch (err.name) {
    case 'StationNotFoundError': return new CliError(err.message, EXIT.notFound)
    case 'InvalidRecordError': return new CliError(err.message, EXIT.invalid, (err as { reasons?: string[] }).reasons?.slice(0, 5))
    default: return new CliError(err.message.split('\n')[0] ?? err.name, EXIT.error, details)
  }
}

/** Progress for people, on stderr. */
export function progress (message: string): void {
  process.stderr.write(`${message}\n`)
}

/** Prints a result: JSON for scripts (indented, or on one line with `compact`), text for people. */
export function printResult (json: boolean, value: unknown, text: () => string, format: { compact?: boolean } = {}): void {
  process.stdout.write(json ? `${JSON.stringify(value, null, format.compact === true ? undefined : 2)}\n` : `${text()}\n`)
}

/**
 * Commander argument parser for multiaddrs: repeatable options collect into an
 * array, and one value may hold several, separated by commas or spaces (as an
 * environment variable does).
 */
export function collectMultiaddr (value: string, previous: string[] = []): string[] {
  const values = value.split(/[\s,]+/).filter((v) => v !== '')
  for (const v of values) {
    try {
      multiaddr(v)
    } catch {
      throw new InvalidArgumentError(`not a multiaddr: ${v}`)
    }
  }
  return [...previous, ...values]
}

/** A client may dial private addresses when the user named private relays, or asked for it. */
export function wantsPrivate (bootstrap: readonly string[], flag: boolean | undefined): boolean {
  return flag === true || bootstrap.some((addr) => isPrivate(multiaddr(addr)))
}
