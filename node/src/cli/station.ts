/** `openstudio station publish|resolve` */
import { isOnAir, parseManifestDraft, type Manifest, type ManifestDraft } from '@openstudio/protocol'
import { Command } from 'commander'
import { InputFileError } from '../errors.ts'
import { readSmallTextFile } from '../files.ts'
import { readKeyFile } from '../keyfile.ts'
import { publishStation, Republisher, resolveStation, type PublishResult, type PublishStep } from '@openstudio/network'
import { withClient, type NetworkOptions } from './network.ts'
import { CliError, collectMultiaddr, printResult, progress } from './output.ts'

const MAX_MANIFEST_FILE_BYTES = 64 * 1024

const STEP_TEXT: Record<PublishStep, string> = {
  stamp: 'paying the station key\'s proof of work (once per key; `openstudio key generate` keeps it in the key file)…',
  lookup: 'looking up the current record…',
  put: 'storing the signed manifest in the DHT…',
  provide: 'adding directory provider records…',
  announce: 'announcing on the directory topic…'
}

export function stationCommand (): Command {
  const station = new Command('station').description('publish and resolve stations')
  station.command('publish')
    .description('sign a manifest with the station key and publish it to the DHT')
    .requiredOption('--key <file>', 'station key file')
    .requiredOption('--manifest <file>', 'JSON with name, description, tags, language, country, homepage, logo, streams, access')
    .option('--bootstrap <multiaddr>', 'relay to join through (repeatable)', collectMultiaddr)
    .option('--relay <multiaddr>', 'relay address to list in the manifest (repeatable; default: the --bootstrap relays)', collectMultiaddr)
    .option('--allow-private', 'dial loopback and LAN addresses')
    .option('--daemon', 'keep running: republish before the manifest expires, and re-read the manifest file on SIGHUP')
    .option('--json', 'print {"id","seq","storedOn"} as JSON (one line per publish with --daemon)')
    .action(async (opts: NetworkOptions & { key: string, manifest: string, relay?: string[], daemon?: boolean }) => {
      let key = await readKeyFile(opts.key)
      let draft = await readManifestFile(opts.manifest)
      // JSON on one line per publish, so a daemon's output is JSON Lines.
      const print = (result: PublishResult): void => {
        printResult(opts.json === true, { id: result.id, seq: result.seq, storedOn: result.storedOn },
          () => `published ${result.id}\n  seq ${result.seq}\n  stored on ${result.storedOn} DHT server${result.storedOn === 1 ? '' : 's'}`,
          { compact: true })
      }
      await withClient(opts, key, async (node) => {
        const publish = async (lastSeq?: number, signal?: AbortSignal): Promise<PublishResult> => {
          const result = await publishStation({ ...node.services, peerId: node.peerId }, {
            key, draft, lastSeq, signal, relays: opts.relay ?? opts.bootstrap, onProgress: (step) => { progress(STEP_TEXT[step]) }
          })
          // A daemon pays for the stamp once.
          key = { ...key, stamp: result.stamp }
          return result
        }
        if (opts.daemon !== true) {
          print(await publish())
          return
        }
        await runDaemon(new Republisher({ publish }), print, async () => { draft = await readManifestFile(opts.manifest) })
      })
    })
  station.command('resolve')
    .description('find a station by id and print its verified manifest (exit 2: not found, 3: only invalid records)')
    .argument('<id>', 'station id (12D3KooW…)')
    .option('--bootstrap <multiaddr>', 'relay to join through (repeatable)', collectMultiaddr)
    .option('--allow-private', 'dial loopback and LAN addresses')
    .option('--json', 'print the manifest as JSON')
    .action(async (id: string, opts: NetworkOptions) => {
      const { manifest } = await withClient(opts, undefined, async (node) => resolveStation(node.services, id))
      printResult(opts.json === true, manifest, () => describeManifest(manifest))
    })
  return station
}

/** Republishes until SIGINT or SIGTERM; SIGHUP re-reads the manifest and publishes at once. */
async function runDaemon (republisher: Republisher, print: (result: PublishResult) => void, reload: () => Promise<void>): Promise<void> {
  republisher.addEventListener('publish:done', (e) => { print(e.detail) })
  republisher.addEventListener('publish:error', (e) => { progress(`publish failed, will retry: ${e.detail.message}`) })
  const onHup = (): void => {
    reload().then(() => { progress('manifest re-read, publishing…'); republisher.publishNow() },
      (err: Error) => { progress(`manifest not reloaded: ${err.message}`) })
  }
  process.on('SIGHUP', onHup)
  republisher.start()
  await new Promise<void>((resolve) => {
    const stop = (): void => { republisher.stop(); resolve() }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
  })
  process.off('SIGHUP', onHup)
}

/**
 * Reads a manifest draft file: size cap, JSON, then field-by-field checks.
 * @throws {InputFileError | CliError}
 */
export async function readManifestFile (path: string): Promise<ManifestDraft> {
  const text = await readSmallTextFile(path, 'manifest file', MAX_MANIFEST_FILE_BYTES, (message) => new InputFileError(message))
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (err) {
    throw new InputFileError(`${path} is not valid JSON: ${(err as Error).message}`)
  }
  try {
    return parseManifestDraft(json)
  } catch (err) {
    const issues = (err as { issues?: Array<{ path: string, message: string }> }).issues ?? []
    throw new CliError(`${path} is not a valid manifest (${issues.length} field${issues.length === 1 ? '' : 's'}):`, 1,
      issues.map((i) => `${i.path === '' ? '(top level)' : i.path}: ${i.message}`))
  }
}

export function describeManifest (m: Manifest): string {
  const lines = [
    `${m.name}  (${m.id})`,
    m.description === '' ? undefined : `  ${m.description}`,
    `  seq ${m.seq}, issued ${new Date(m.issuedAt).toISOString()}, expires ${new Date(m.expiresAt).toISOString()}`,
    `  ${m.language} · ${m.country} · ${m.access}${m.tags.length > 0 ? ` · #${m.tags.join(' #')}` : ''}`,
    `  homepage ${m.homepage}`,
    ...m.streams.map((s) => `  stream ${s.url} (${s.codec} ${s.bitrate} kb/s, mount ${s.mount})`),
    ...m.relays.map((r) => `  relay ${r}`),
    m.studio === undefined ? undefined : `  studio ${m.studio.peer}${isOnAir(m, Date.now()) ? ' — ON AIR' : ''}`
  ]
  return lines.filter((l) => l !== undefined).join('\n')
}
