/** `openstudio key generate|show` */
import { generateStationKey } from '@openstudio/protocol'
import { Command } from 'commander'
import { readKeyFile, writeKeyFile } from '../keyfile.ts'
import { printResult } from './output.ts'

export function keyCommand (): Command {
  const key = new Command('key').description('create and inspect station keys')
  key.command('generate')
    .description('write a new station key file (mode 0600) and print the station id')
    .requiredOption('--out <file>', 'where to write the key file (never overwritten)')
    .option('--json', 'print {"id"} as JSON')
    .action(async (opts: { out: string, json?: boolean }) => {
      const stationKey = generateStationKey()
      await writeKeyFile(opts.out, stationKey)
      printResult(opts.json === true, { id: stationKey.id }, () => stationKey.id)
    })
  key.command('show')
    .description('print the station id of a key file')
    .argument('<file>', 'station key file')
    .option('--json', 'print {"id"} as JSON')
    .action(async (file: string, opts: { json?: boolean }) => {
      const stationKey = await readKeyFile(file)
      printResult(opts.json === true, { id: stationKey.id }, () => stationKey.id)
    })
  return key
}
