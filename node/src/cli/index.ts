/**
 * The `openstudio` command line. Commands of other packages (the relay) are
 * added by the entry point that composes them.
 */
import { Command } from 'commander'
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
  program.addCommand(keyCommand())
  program.addCommand(stationCommand())
  program.addCommand(directoryCommand())
  program.addCommand(fallbackCommand())
  for (const command of extra) program.addCommand(command)
  return program
}
