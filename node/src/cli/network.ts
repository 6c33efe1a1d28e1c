/** Shared plumbing of the CLI commands that use the network. */
import type { StationKey } from '@openstudio/protocol'
import { openClient } from '../client.ts'
import type { OpenStudioNode } from '@openstudio/network'
import { CliError, progress, wantsPrivate } from './output.ts'

export interface NetworkOptions {
  bootstrap?: string[]
  allowPrivate?: boolean
  json?: boolean
}

/** Runs `fn` with a client node joined through the given relays, and always stops it. */
export async function withClient<T> (opts: NetworkOptions, stationKey: StationKey | undefined, fn: (node: OpenStudioNode) => Promise<T>): Promise<T> {
  const bootstrap = opts.bootstrap ?? []
  if (bootstrap.length === 0) throw new CliError('give at least one relay with --bootstrap MULTIADDR')
  progress(`connecting to ${bootstrap.length} relay${bootstrap.length === 1 ? '' : 's'}…`)
  const node = await openClient({ bootstrap, stationKey, allowPrivate: wantsPrivate(bootstrap, opts.allowPrivate) })
  try {
    return await fn(node)
  } finally {
    await node.stop()
  }
}
