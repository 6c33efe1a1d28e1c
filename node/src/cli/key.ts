/** `openstudio key generate|show` */
import { existsSync } from 'node:fs'
import { generateStationKey, KeyFileError, mintStamp, requiredStampBits } from '@openstudio/protocol'
import { Command } from 'commander'
import { readKeyFile, writeKeyFile } from '../keyfile.ts'
import { printResult, progress } from './output.ts'

export function keyCommand (): Command {
  const key = new Command('key').description('create and inspect station keys')
  key.command('generate')
    .description('write a new station key file (mode 0600) with its proof-of-work stamp, and print the station id')
    .requiredOption('--out <file>', 'where to write the key file (never overwritten)')
    .option('--json', 'print {"id"} as JSON')
    .action(async (opts: { out: string, json?: boolean }) => {
      // Refused before the work is paid for, not after.
      if (existsSync(opts.out)) throw new KeyFileError(`${opts.out} already exists; refusing to overwrite a key`)
      const fresh = generateStationKey()
      if (requiredStampBits() > 0) progress(`paying the key's proof of work (${requiredStampBits()} bits, about a second)…`)
      const stamp = await mintStamp(fresh.id, { yieldTurn: async () => { await new Promise((resolve) => setImmediate(resolve)) } })
      const stationKey = { ...fresh, stamp }
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
