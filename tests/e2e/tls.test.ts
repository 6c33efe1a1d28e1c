/**
 * The README's deployment, behind TLS, end to end. The station key is made
 * with `openstudio key generate` and named with `key show`. The relay runs
 * from the CLI with the settings of step 2 as environment variables.
 * Debian's Caddy runs the Caddyfile of step 4, read from README.md itself,
 * with a local CA (`local_certs`) in place of Let's Encrypt. Chromium
 * resolves relay.example.org and stream.example.org to this machine and
 * trusts that CA. Nothing else changes: the app is loaded from
 * https://relay.example.org, the browsers reach the relay over wss://, the
 * studio goes live and a caller calls, and a listener plays
 * https://stream.example.org/live.ogg and hears the show.
 *
 * The one difference from a real host is the ports: Caddy serves HTTPS on a
 * free port instead of 443, and the announced address names that port.
 * Skips, saying why, where Caddy is not installed.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { access, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { X509Certificate, createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { startIcecast, type LocalIcecast } from '@openstudio/node'
import { launchChromium } from '../src/browser.ts'
import { CLI, startCliRelay, type CliRelay } from '../src/cli.ts'
import { removeDir, tempDir } from '../src/network.ts'
import { freePort } from '../src/ports.ts'
import { startCoturn, type Coturn } from '../src/coturn.ts'
import { attributeNow, goLive, spectrum, textNow, toneFile, waitPhase } from '../src/studio-fixture.ts'
import { waitUntil } from '../src/wait.ts'
import { screenshot, testApp } from '../src/web.ts'

const run = promisify(execFile)
const CADDY = '/usr/bin/caddy'
const HOST_TONE = 440
const CALLER_TONE = 660
const TURN_CALLER_TONE = 880
const PASSPHRASE = 'tls deployment passphrase'
const TURN_SECRET = 'tls-e2e-turn-secret'
const caddyMissing = await access(CADDY).then(() => undefined, () => `Caddy is not installed (${CADDY}): apt-get install caddy`)

describe.skipIf(caddyMissing !== undefined)(`the README's TLS deployment${caddyMissing === undefined ? '' : ` (skipped: ${caddyMissing})`}`, () => {
  let dir: string
  let icecastDir: string
  let icecast: LocalIcecast
  let relay: CliRelay
  let coturn: Coturn
  let caddy: ChildProcess
  let https: number
  let stationId: string
  let keyFile: string
  const browsers: Browser[] = []
  let origin: string

  beforeAll(async () => {
    dir = await tempDir('openstudio-tls-e2e-')
    // Step 1: the secrets.
    const password = 'tls-e2e-source'
    await writeFile(join(dir, 'icecast-source-password'), password)
    icecastDir = await tempDir('openstudio-tls-e2e-icecast-')
    icecast = await startIcecast({ dir: icecastDir, port: await freePort(), sourcePassword: password, mounts: [{ mount: '/live.ogg' }] })
    keyFile = join(dir, 'station.key')
    await cli(['key', 'generate', '--out', keyFile])
    stationId = (await cli(['key', 'show', keyFile])).trim()
    expect(stationId).toMatch(/^12D3KooW/)

    // coturn, serving TURN over TLS (with a certificate of a test CA) for networks that block UDP.
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', join(dir, 'turn-key.pem'), '-out', join(dir, 'turn-cert.pem'), '-subj', '/CN=turn.example.org', '-addext', 'subjectAltName=DNS:turn.example.org'])
    await writeFile(join(dir, 'turn-secret'), TURN_SECRET)
    coturn = await startCoturn(TURN_SECRET, { tls: { cert: join(dir, 'turn-cert.pem'), key: join(dir, 'turn-key.pem') } })

    // Step 2: the settings, as compose hands them to the relay.
    https = await freePort()
    const [tcp, ws, http] = [await freePort(), await freePort(), await freePort()]
    relay = await startCliRelay([
      '--listen', `/ip4/127.0.0.1/tcp/${tcp}`, '--listen', `/ip4/127.0.0.1/tcp/${ws}/ws`,
      '--http', `127.0.0.1:${http}`, '--data', join(dir, 'relay'), '--app', await testApp(),
      '--icecast', icecast.url, '--icecast-password-file', join(dir, 'icecast-source-password')
    ], {
      OPENSTUDIO_STATION: stationId,
      OPENSTUDIO_ANNOUNCE: `/ip4/127.0.0.1/tcp/${tcp},/dns4/relay.example.org/tcp/${https}/wss`,
      OPENSTUDIO_ICECAST_PUBLIC_URL: `https://stream.example.org:${https}`,
      OPENSTUDIO_TRUSTED_PROXY: '127.0.0.1',
      OPENSTUDIO_TURN_URL: `turns:turn.example.org:${coturn.tlsPort ?? 0}?transport=tcp`,
      OPENSTUDIO_TURN_SECRET_FILE: join(dir, 'turn-secret')
    })

    // Step 4: Caddy with the README's Caddyfile, on the relay's and Icecast's ports.
    const caddyfile = (await readmeCaddyfile())
      .replaceAll('127.0.0.1:4002', `127.0.0.1:${ws}`)
      .replaceAll('127.0.0.1:8080', `127.0.0.1:${http}`)
      .replaceAll('127.0.0.1:8000', `127.0.0.1:${icecast.port}`)
    const global = `{\n\tadmin off\n\tlocal_certs\n\tskip_install_trust\n\thttp_port ${await freePort()}\n\thttps_port ${https}\n\tstorage file_system ${join(dir, 'caddy')}\n}\n\n`
    await writeFile(join(dir, 'Caddyfile'), global + caddyfile)
    caddy = spawn(CADDY, ['run', '--config', join(dir, 'Caddyfile'), '--adapter', 'caddyfile'], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOME: dir } })
    let caddyLog = ''
    caddy.stderr?.on('data', (d: Buffer) => { caddyLog = (caddyLog + d.toString()).slice(-50_000) })
    const ca = join(dir, 'caddy', 'pki', 'authorities', 'local')
    await waitUntil('Caddy\'s certificates for both names, from its local CA', async () => {
      if (caddy.exitCode !== null) throw new Error(`caddy exited: ${caddyLog}`)
      return caddyLog.split('certificate obtained successfully').length > 2
    }, 30_000)
    // Chromium is told to trust that CA (by its keys), and where the two names are.
    const trusted = await Promise.all([join(ca, 'root.crt'), join(ca, 'intermediate.crt'), join(dir, 'turn-cert.pem')].map(async (f) => spkiHash(await readFile(f, 'utf8'))))
    origin = `https://relay.example.org:${https}`
    for (const tone of [HOST_TONE, CALLER_TONE, 0, TURN_CALLER_TONE]) {
      browsers.push(await launchChromium([
        '--host-resolver-rules=MAP relay.example.org 127.0.0.1, MAP stream.example.org 127.0.0.1, MAP turn.example.org 127.0.0.1',
        `--ignore-certificate-errors-spki-list=${trusted.join(',')}`,
        `--use-file-for-fake-audio-capture=${toneFile(dir, tone)}`
      ]))
    }
  }, 120_000)

  afterAll(async () => {
    await Promise.all(browsers.map(async (b) => b.close()))
    caddy?.kill('SIGTERM')
    await relay?.stop()
    await coturn?.stop()
    await icecast?.stop()
    await removeDir(icecastDir)
    await removeDir(dir)
  })

  let studio: Page
  let caller: Page

  it('serves the app on https:// and the relay on wss://: a studio with the imported key opens', async () => {
    studio = await pageIn(browsers[0]!)
    const wss: string[] = []
    studio.on('websocket', (socket) => { wss.push(socket.url()) })
    await studio.goto(`${origin}/station`)
    await studio.setInputFiles('input[type=file]', keyFile)
    await studio.fill('input[autocomplete=current-password]', PASSPHRASE)
    await studio.click('button:has-text("Import")')
    await waitUntil('the imported key', async () => (await textNow(studio, '[data-testid=my-station-id]')).trim() === stationId)
    await studio.fill('[data-testid=field-name]', 'TLS Radio')
    await studio.fill('[data-testid=field-country]', 'NL')
    await studio.fill('[data-testid=field-homepage]', 'https://example.org/')
    await studio.fill('[data-testid=field-stream-url-0]', `https://stream.example.org:${https}/live.ogg`)
    await studio.click('[data-testid=publish]')
    await studio.click('[data-testid=open-studio]', { timeout: 30_000 })
    await studio.click('[data-testid=start-studio]')
    await studio.locator('[data-testid=green-room]').waitFor({ timeout: 30_000 })
    expect(wss.some((url) => url.startsWith(`wss://relay.example.org:${https}`))).toBe(true)
    expect(wss.every((url) => url.startsWith('wss://'))).toBe(true)
  })

  it('takes a call over wss://, on air in the program', async () => {
    caller = await pageIn(browsers[1]!)
    await caller.goto(`${origin}/s/${stationId}/call`)
    await caller.fill('[data-testid=caller-name]', 'Caller over TLS', { timeout: 30_000 })
    await caller.uncheck('[data-testid=voice-processing]')
    await caller.click('[data-testid=dial]', { timeout: 30_000 })
    await waitPhase(caller, 'green-room')
    const id = await caller.evaluate(() => window.openstudioDiagnostics?.network?.identity.id ?? '')
    await studio.click(`[data-testid="caller-${id}"] [data-testid=admit]`)
    await waitPhase(caller, 'on-air')
    await waitUntil('the caller in the program', async () => {
      const [host, call] = await spectrum(studio, 'programAnalyser', [HOST_TONE, CALLER_TONE])
      return host! > 0.1 && call! > 0.1
    }, 30_000)
  })

  it('carries a call whose audio may only go through TURN over TLS, and both pages name that path', async () => {
    const page = await pageIn(browsers[3]!, { forceTurn: true })
    await page.goto(`${origin}/s/${stationId}/call`)
    await page.fill('[data-testid=caller-name]', 'Behind a corporate firewall', { timeout: 30_000 })
    await page.uncheck('[data-testid=voice-processing]')
    await page.click('[data-testid=dial]', { timeout: 30_000 })
    await waitPhase(page, 'green-room')
    await waitUntil('the caller page to name TURN over TLS', async () => (await textNow(page, '[data-testid=call-path]')).includes('TURN over TLS'), 30_000)
    const id = await page.evaluate(() => window.openstudioDiagnostics?.network?.identity.id ?? '')
    await waitUntil('the studio to show TURN for the caller', async () => /TURN/.test(await textNow(studio, `[data-testid="caller-${id}"]`)), 30_000)
    await studio.click(`[data-testid="caller-${id}"] [data-testid=admit]`)
    await waitPhase(page, 'on-air')
    await waitUntil('the TLS caller heard in the program, and hearing the host', async () => {
      const [call] = await spectrum(studio, 'programAnalyser', [TURN_CALLER_TONE])
      const [host, itself] = await spectrum(page, 'returnAnalyser', [HOST_TONE, TURN_CALLER_TONE])
      return call! > 0.1 && host! > 0.1 && itself! < 0.02
    }, 30_000)
    await screenshot(page, 'tls-turn-caller')
    await page.click('[data-testid=leave]')
  })

  it('goes live to Icecast, and a listener plays https://stream.example.org/live.ogg and hears the show', async () => {
    await goLive(studio, 96)
    expect(await attributeNow(studio, '[data-testid=broadcast]', 'data-icecast')).toBe('connected')
    const listener = await pageIn(browsers[2]!)
    await waitUntil('the station page to show the station on air', async () => {
      await listener.goto(`${origin}/s/${stationId}`)
      await listener.locator('[data-testid=listen]').waitFor({ timeout: 20_000 })
      return (await listener.locator('.badge.live').count()) > 0
    }, 60_000)
    const streams: string[] = []
    listener.on('request', (r) => { if (r.url().includes('/live.ogg')) streams.push(r.url()) })
    await listener.click('[data-testid=listen]')
    await waitUntil('the show in the listener\'s player', async () => {
      const [host, call] = await spectrum(listener, 'playerAnalyser', [HOST_TONE, CALLER_TONE])
      return host! > 0.1 && call! > 0.1
    }, 30_000)
    expect(streams[0]).toBe(`https://stream.example.org:${https}/live.ogg`)
    await screenshot(listener, 'tls-listener')
    await screenshot(studio, 'tls-studio')
  })
})

/** Runs the CLI; its stdout. */
async function cli (args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, [CLI, ...args])
  return stdout
}

/** The Caddyfile in README.md's "Deploying a station". */
async function readmeCaddyfile (): Promise<string> {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8')
  const block = /```caddyfile\n([\s\S]*?)```/.exec(readme)?.[1]
  if (block === undefined) throw new Error('README.md has no caddyfile block')
  return block.split('\n').map((line) => line.replace(/^ {3}/, '')).join('\n')
}

/** base64(SHA-256(SubjectPublicKeyInfo)): what Chromium's --ignore-certificate-errors-spki-list takes. */
function spkiHash (pem: string): string {
  const spki = new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })
  return createHash('sha256').update(spki).digest('base64')
}

async function pageIn (browser: Browser, settings?: Record<string, unknown>): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } })
  await context.addInitScript('globalThis.__name = (fn) => fn')
  if (settings !== undefined) await context.addInitScript(`localStorage.setItem('openstudio:settings', ${JSON.stringify(JSON.stringify(settings))})`)
  return context.newPage()
}

