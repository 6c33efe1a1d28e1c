/**
 * The `openstudio` command line. Commands of other packages (the relay) are
 * added by the entry point that composes them.
 */
import { Command, InvalidArgumentError, Option } from 'commander'
import { requireStampBits, STAMP } from '@openstudio/protocol'
import { directoryCommand } from './directory.ts'
import { fallbackCommand } from './fallback.ts'
import { keyCommand } from './key.ts'
import { stationCommand } from './station.ts'

export { EXIT, CliError, collectMultiaddr, printResult, progress, reportError } from './output.ts'

/** The program with the key, station, directory and fallback commands. */
export function createProgram (extra: Command[] = []): Command {
  const program = new Command('openstudio')
    .description('OpenStudio: decentralized live talk and radio stations')
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ outputError: (text, write) => { write(`openstudio: ${text.replace(/^error: /, '')}`) } })
    .addOption(new Option('--stamp-bits <n>', `proof of work a station key must show, in leading zero bits (the public network's is ${STAMP.bits}; a local test network may use 0)`)
      .env('OPENSTUDIO_STAMP_BITS').default(STAMP.bits).argParser(parseStampBits))
    .hook('preAction', (command) => { requireStampBits(command.opts<{ stampBits: number }>().stampBits) })
  program.addCommand(keyCommand())
  program.addCommand(stationCommand())
  program.addCommand(directoryCommand())
  program.addCommand(fallbackCommand())
  for (const command of extra) program.addCommand(command)
  return program
}

function parseStampBits (value: string): number {
  const bits = Number(value)
  if (!Number.isInteger(bits) || bits < 0 || bits > STAMP.maxBits) throw new InvalidArgumentError(`an integer from 0 to ${STAMP.maxBits}`)
  return bits
}
