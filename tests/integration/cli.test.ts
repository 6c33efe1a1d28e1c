/**
 * The `openstudio` CLI as a subprocess: happy paths and bad input, with the
 * exit codes and one-line errors scripts rely on.
 */
import { readFile, stat, writeFile } from 'node:fs/promises'
import { createServer, type AddressInfo } from 'node:net'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateStationKey } from '@openstudio/protocol'
import { runCli, spawnCli, startCliRelay, type CliRelay } from '../src/cli.ts'
import { draftFor, removeDir, tempDir } from '../src/network.ts'
import { waitUntil } from '../src/wait.ts'

/** A relay that failed to start exits well within this (starting one takes a few seconds on a loaded machine). */
const FAILED_RELAY_EXIT_MS = 20_000

describe('openstudio CLI', () => {
  let dir: string
  let relay: CliRelay
  let keyFile: string
  let stationId: string

  beforeAll(async () => {
    dir = await tempDir()
    relay = await startCliRelay(['--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/ip4/127.0.0.1/tcp/0/ws', '--http', '127.0.0.1:0', '--data', join(dir, 'relay'), '--allow-private'])
    keyFile = join(dir, 'station.key')
  })

  afterAll(async () => {
    await relay?.stop()
    await removeDir(dir)
  })

  const bootstrap = (): string[] => ['--bootstrap', relay.addrs[0] as string]
  /** Runs `command` with each case's arguments: exit 1, and one line on stderr that matches. */
  const expectOneLineErrors = async (command: string[], cases: Array<[string[], RegExp]>): Promise<void> => {
    for (const [args, message] of cases) {
      const result = await runCli([...command, ...args])
      expect(result.code, args.join(' ')).toBe(1)
      expect(result.stderr.trim(), args.join(' ')).toMatch(message)
      expect(result.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1)
    }
  }

  it('prints help for every command', async () => {
    for (const args of [['--help'], ['key', '--help'], ['key', 'generate', '--help'], ['station', 'publish', '--help'], ['station', 'resolve', '--help'], ['directory', 'list', '--help'], ['relay', '--help'], ['fallback', '--help']]) {
      const result = await runCli(args)
      expect(result.code, args.join(' ')).toBe(0)
      expect(result.stdout).toMatch(/Usage: openstudio/)
    }
  })

  it('the relay printed its addresses and serves health', async () => {
    expect(relay.addrs.length).toBe(2)
    expect(relay.addrs[0]).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/12D3KooW/)
    const health = await (await fetch(`${relay.http}/health`)).json() as { status: string, peerId: string }
    expect(health.status).toBe('ok')
    expect(relay.addrs[0]).toContain(health.peerId)
  })

  it('generates a key file with mode 0600, shows it, and refuses to overwrite it', async () => {
    const generated = await runCli(['key', 'generate', '--out', keyFile])
    expect(generated.code).toBe(0)
    stationId = generated.stdout.trim()
    expect(stationId).toMatch(/^12D3KooW\w+$/)
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600)
    expect((await runCli(['key', 'show', keyFile])).stdout.trim()).toBe(stationId)
    expect(JSON.parse((await runCli(['key', 'show', keyFile, '--json'])).stdout)).toEqual({ id: stationId })
    const again = await runCli(['key', 'generate', '--out', keyFile])
    expect(again.code).toBe(1)
    expect(again.stderr.trim().split('\n')).toHaveLength(1)
    expect(again.stderr).toMatch(/already exists/)
    expect(await readFile(keyFile, 'utf8')).toContain(stationId)
  })

  it('publishes, resolves and lists a station', async () => {
    const manifestFile = join(dir, 'manifest.json')
    await writeFile(manifestFile, JSON.stringify(draftFor(42, ['talk', 'local'])))
    const published = await runCli(['station', 'publish', '--key', keyFile, '--manifest', manifestFile, ...bootstrap(), '--json'])
    expect(published.code, published.stderr).toBe(0)
    const result = JSON.parse(published.stdout) as { id: string, seq: number, storedOn: number }
    expect(result).toMatchObject({ id: stationId, storedOn: 1 })
    expect(published.stderr).toMatch(/storing the signed manifest/)

    const resolved = await runCli(['station', 'resolve', stationId, ...bootstrap(), '--json'])
    expect(resolved.code, resolved.stderr).toBe(0)
    expect(JSON.parse(resolved.stdout)).toMatchObject({ id: stationId, seq: result.seq, name: 'Test Station 042' })
    const text = await runCli(['station', 'resolve', stationId, ...bootstrap()])
    expect(text.stdout).toMatch(/Test Station 042/)

    const listed = await runCli(['directory', 'list', ...bootstrap(), '--json'])
    expect(listed.code, listed.stderr).toBe(0)
    expect((JSON.parse(listed.stdout) as Array<{ id: string }>).map((m) => m.id)).toContain(stationId)
    const table = await runCli(['directory', 'list', ...bootstrap(), '--tag', 'local'])
    expect(table.stdout).toMatch(/NAME\s+ID/)
    expect(table.stdout).toContain(stationId)
    const none = await runCli(['directory', 'list', ...bootstrap(), '--tag', 'nothing-here', '--json'])
    expect(JSON.parse(none.stdout)).toEqual([])
  })

  it('keeps a station published in daemon mode, and re-reads the manifest on SIGHUP', async () => {
    const manifestFile = join(dir, 'daemon.json')
    const daemonKey = join(dir, 'daemon.key')
    await runCli(['key', 'generate', '--out', daemonKey])
    await writeFile(manifestFile, JSON.stringify(draftFor(77)))
    const daemon = spawnCli(['station', 'publish', '--key', daemonKey, '--manifest', manifestFile, ...bootstrap(), '--daemon', '--json'])
    try {
      const first = JSON.parse(await daemon.waitForLine((l) => l.startsWith('{'))) as { id: string, seq: number }
      await writeFile(manifestFile, JSON.stringify({ ...draftFor(77), name: 'Renamed by SIGHUP' }))
      const seen = daemon.lines.length
      daemon.child.kill('SIGHUP')
      const second = JSON.parse(await daemon.waitForLine((l) => l.startsWith('{'), seen)) as { id: string, seq: number }
      expect(second.id).toBe(first.id)
      expect(second.seq).toBeGreaterThan(first.seq)
      const resolved = await runCli(['station', 'resolve', first.id, ...bootstrap(), '--json'])
      expect(JSON.parse(resolved.stdout)).toMatchObject({ name: 'Renamed by SIGHUP', seq: second.seq })
    } finally {
      expect(await daemon.stop()).toBe(0)
    }
  })

  it('reports a missing key file in one line', async () => {
    const result = await runCli(['station', 'publish', '--key', join(dir, 'missing.key'), '--manifest', join(dir, 'manifest.json'), ...bootstrap()])
    expect(result.code).toBe(1)
    expect(result.stderr.trim()).toMatch(/^openstudio: no key file at .*missing\.key$/)
  })

  it('lists every invalid manifest field', async () => {
    const bad = join(dir, 'bad.json')
    await writeFile(bad, JSON.stringify({ ...draftFor(1), name: '', country: 'XX', streams: [] }))
    const result = await runCli(['station', 'publish', '--key', keyFile, '--manifest', bad, ...bootstrap()])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/not a valid manifest \(3 fields\)/)
    for (const field of ['name:', 'country:', 'streams:']) expect(result.stderr).toContain(field)
    expect(result.stderr).not.toMatch(/\bat .*\.ts:\d+/)

    await writeFile(bad, '{ not json')
    const notJson = await runCli(['station', 'publish', '--key', keyFile, '--manifest', bad, ...bootstrap()])
    expect(notJson.code).toBe(1)
    expect(notJson.stderr).toMatch(/is not valid JSON/)
  })

  it('exits 2 for an unknown station and 1 for a malformed id', async () => {
    const unknown = await runCli(['station', 'resolve', generateStationKey().id, ...bootstrap()])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/was not found/)
    const malformed = await runCli(['station', 'resolve', 'not-a-station', ...bootstrap()])
    expect(malformed.code).toBe(1)
    expect(malformed.stderr.trim().split('\n')).toHaveLength(2) // progress line + one error line
  })

  it('refuses bad arguments with a usage hint', async () => {
    const result = await runCli(['station', 'resolve', 'x', '--bootstrap', 'not-a-multiaddr'])
    expect(result.code).toBe(1)
    expect(result.stderr).toMatch(/not a multiaddr/)
    const noRelay = await runCli(['directory', 'list'])
    expect(noRelay.code).toBe(1)
    expect(noRelay.stderr).toMatch(/--bootstrap/)
  })

  it('refuses program options that cannot work, each in one line', async () => {
    const station = generateStationKey().id
    const cases: Array<[string[], RegExp]> = [
      [['--station', station, '--icecast', 'http://127.0.0.1:8000'], /needs all of --station, --icecast and --icecast-password-file/],
      [['--station', station, '--icecast', 'http://127.0.0.1:8000', '--icecast-password-file', join(dir, 'no-such-password')], /Icecast password file .*no-such-password does not exist/],
      [['--station', 'not-a-station'], /not a station id: not-a-station/],
      [['--icecast', 'ftp://127.0.0.1'], /expected an http:\/\/ URL/],
      [['--mount', 'live.ogg'], /expected a mount path such as \/live\.ogg/]
    ]
    await expectOneLineErrors(['relay', '--listen', '/ip4/127.0.0.1/tcp/0', '--allow-private'], cases)
  })

  it('refuses fallback options that cannot work, each in one line', async () => {
    const empty = join(dir, 'empty-password')
    await writeFile(empty, '\n')
    const cases: Array<[string[], RegExp]> = [
      [['--icecast-password-file', empty], /required option '--icecast <url>'/],
      [['--icecast', 'https://127.0.0.1:8000', '--icecast-password-file', empty], /expected an http:\/\/ URL/],
      [['--icecast', 'http://127.0.0.1:8000', '--icecast-password-file', join(dir, 'no-such-password')], /no Icecast password file at .*no-such-password/],
      [['--icecast', 'http://127.0.0.1:8000', '--icecast-password-file', empty], /is empty/],
      [['--icecast', 'http://127.0.0.1:8000', '--icecast-password-file', empty, '--mount', 'fallback.ogg'], /expected a mount path/]
    ]
    await expectOneLineErrors(['fallback'], cases)
  })

  it('runs the fallback source until SIGTERM, retrying while Icecast is away', async () => {
    const password = join(dir, 'icecast-password')
    await writeFile(password, 'hackme\n')
    const fallback = spawnCli(['fallback', '--icecast', 'http://127.0.0.1:1', '--icecast-password-file', password])
    await fallback.waitForLine((line) => line === 'ready')
    await waitUntil('the fallback source to report its failed connection', () => /fallback http:\/\/127\.0\.0\.1:1\/fallback\.ogg: connecting \(.*ECONNREFUSED/.test(fallback.stderr()))
    expect(await fallback.stop()).toBe(0)
  })

  it('a relay whose HTTP port is taken says so in one line and exits at once, leaving nothing running', async () => {
    const taken = createServer()
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
    try {
      const port = (taken.address() as AddressInfo).port
      const started = Date.now()
      // Before the relay stopped what it had started, its timers kept the process alive for good (the kill gives code null).
      const result = await runCli(['relay', '--listen', '/ip4/127.0.0.1/tcp/0', '--listen', '/ip4/127.0.0.1/tcp/0/ws', '--http', `127.0.0.1:${port}`, '--allow-private'], FAILED_RELAY_EXIT_MS)
      expect(result.code, result.stderr).toBe(1)
      expect(result.stderr.trim()).toMatch(/EADDRINUSE/)
      expect(result.stderr.trim().split('\n')).toHaveLength(1)
      expect(Date.now() - started).toBeLessThan(FAILED_RELAY_EXIT_MS)
    } finally {
      await new Promise((resolve) => taken.close(resolve))
    }
  })

  it('stops the relay cleanly on SIGTERM', async () => {
    const second = await startCliRelay(['--listen', '/ip4/127.0.0.1/tcp/0', '--allow-private'])
    expect(await second.stop()).toBe(0)
  })
})
