/** `openstudio fallback`: keeps an Icecast fallback mount live until SIGINT or SIGTERM. */
import { Command, InvalidArgumentError, Option } from 'commander'
import { readSmallTextFile } from '../files.ts'
import { FALLBACK_SOURCE_DEFAULTS } from '../icecast/constants.ts'
import { FallbackSource } from '../icecast/fallback.ts'
import { CliError, progress } from './output.ts'

/** A password file holds one line. */
const MAX_PASSWORD_FILE_BYTES = 4096

interface FallbackOptions {
  icecast: string
  icecastPasswordFile: string
  mount: string
}

export function fallbackCommand (): Command {
  return new Command('fallback')
    .description("feed an Icecast fallback mount with silence in real time, so the live mount's listeners stay connected while its source is away")
    .addOption(new Option('--icecast <url>', "Icecast's base URL, e.g. http://127.0.0.1:8000").env('OPENSTUDIO_ICECAST').argParser(parseIcecastUrl).makeOptionMandatory())
    .addOption(new Option('--icecast-password-file <file>', "file holding Icecast's source password").env('OPENSTUDIO_ICECAST_PASSWORD_FILE').makeOptionMandatory())
    .addOption(new Option('--mount <path>', 'the fallback mount (the live mount names it in fallback-mount)').env('OPENSTUDIO_FALLBACK_MOUNT').argParser(parseMount).default(FALLBACK_SOURCE_DEFAULTS.mount))
    .action(async (opts: FallbackOptions) => {
      const text = await readSmallTextFile(opts.icecastPasswordFile, 'Icecast password file', MAX_PASSWORD_FILE_BYTES, (message) => new CliError(message))
      const password = text.trim()
      if (password === '') throw new CliError(`the Icecast password file ${opts.icecastPasswordFile} is empty`)
      const source = new FallbackSource({ url: opts.icecast, password, mount: opts.mount })
      let last = ''
      source.addEventListener('status:change', ({ detail }) => {
        const line = detail.error === undefined || detail.state === 'connected' ? detail.state : `${detail.state} (${detail.error})`
        if (line !== last) progress(`fallback ${opts.icecast}${opts.mount}: ${line}`)
        last = line
      })
      source.start()
      process.stdout.write(`fallback ${opts.icecast}${opts.mount}\nready\n`)
      await new Promise<void>((resolve) => {
        process.once('SIGINT', () => { resolve() })
        process.once('SIGTERM', () => { resolve() })
      })
      await source.stop()
    })
}

function parseIcecastUrl (value: string): string {
  const url = URL.canParse(value) ? new URL(value) : undefined
  if (url?.protocol !== 'http:' || url.username !== '' || url.password !== '') throw new InvalidArgumentError('expected an http:// URL without credentials, such as http://127.0.0.1:8000')
  return url.origin
}

function parseMount (value: string): string {
  if (!/^\/[A-Za-z0-9._-]{1,63}$/.test(value)) throw new InvalidArgumentError('expected a mount path such as /fallback.ogg')
  return value
}
