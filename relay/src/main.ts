/**
 * Entry point of the `openstudio` command: fills Node 20's gaps first, then
 * composes the node commands with the relay command.
 */
import '@openstudio/node/polyfill'
import { createProgram, reportError } from '@openstudio/node/cli'
import { relayCommand } from './cli.ts'

try {
  await createProgram([relayCommand()]).parseAsync(process.argv)
} catch (err) {
  reportError(err)
}
