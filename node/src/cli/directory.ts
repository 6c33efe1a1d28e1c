/** `openstudio directory list` */
import { isOnAir, type Manifest } from '@openstudio/protocol'
import { Command } from 'commander'
import { DirectoryWatcher, fetchSnapshot, listDirectory } from '@openstudio/network'
import { withClient, type NetworkOptions } from './network.ts'
import { collectMultiaddr, printResult, progress } from './output.ts'

export function directoryCommand (): Command {
  const directory = new Command('directory').description('browse the station directory')
  directory.command('list')
    .description('list verified stations (all, or those with a tag)')
    .option('--bootstrap <multiaddr>', 'relay to join through (repeatable)', collectMultiaddr)
    .option('--tag <tag>', 'only stations with this tag')
    .option('--allow-private', 'dial loopback and LAN addresses')
    .option('--json', 'print an array of manifests as JSON')
    .action(async (opts: NetworkOptions & { tag?: string }) => {
      const stations = await withClient(opts, undefined, async (node) => {
        const watcher = new DirectoryWatcher(node.services)
        watcher.start()
        try {
          let reported = -1
          return await listDirectory(node.services, {
            tag: opts.tag,
            known: watcher.stations.values(),
            snapshot: (relay, signal) => fetchSnapshot(node, relay, { tag: opts.tag, signal }),
            snapshotServers: node.getPeers(),
            onProgress: ({ found }) => {
              if (found !== reported) progress(`found ${found} station${found === 1 ? '' : 's'}, verifying…`)
              reported = found
            }
          })
        } finally {
          watcher.stop()
        }
      })
      const manifests = stations.map((s) => s.manifest)
      printResult(opts.json === true, manifests, () => table(manifests))
    })
  return directory
}

function table (stations: Manifest[]): string {
  if (stations.length === 0) return 'no stations found'
  const rows = stations.map((m) => [
    m.name, m.id, m.tags.join(','), m.language, m.country, m.streams.map((s) => `${s.codec} ${s.bitrate}k`).join(' '),
    isOnAir(m, Date.now()) ? 'ON AIR' : ''
  ])
  const header = ['NAME', 'ID', 'TAGS', 'LANG', 'CC', 'STREAMS', '']
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)))
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ').trimEnd()
  return [line(header), ...rows.map(line)].join('\n')
}
