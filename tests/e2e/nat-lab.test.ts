/**
 * The NAT lab: calls through real NATs, in network namespaces
 * (tests/src/nat-lab.ts). Two relays and coturn (UDP 3478, and TLS on 443
 * with a test CA's certificate) are on a public segment. The studio is behind
 * an endpoint-independent NAT, and three callers each sit behind a NAT of
 * their own:
 *
 * - home: endpoint-independent mapping. The call goes direct, after hole
 *   punching through both NATs;
 * - mobile: symmetric (address-and-port-dependent) mapping. Hole punching
 *   fails, and the call goes through TURN over UDP;
 * - office: no UDP, TCP to port 443 only. The page loads and libp2p runs over
 *   port 443, and the call goes through TURN over TLS on 443.
 *
 * Every caller reaches the green room, goes on air, and is heard in the program
 * (Goertzel). The call page and the studio's green room name each call's
 * path. A failure says what ICE did on both ends (iceReport). Skips, saying
 * why, where network namespaces are not permitted (not root, no nftables).
 * NAT_DEBUG=1 shows the relays' and coturn's logs.
 */
import { execFile } from 'node:child_process'
import { createInterface } from 'node:readline'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { X509Certificate, createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from '../src/browser.ts'
import { startCliRelay, type CliRelay } from '../src/cli.ts'
import { natLabMissing, PUBLIC, startNatLab, type NatLab } from '../src/nat-lab.ts'
import { removeDir, tempDir } from '../src/network.ts'
import { openStudio, prepareCall, pressDial, spectrum, textNow, toneFile, waitPhase } from '../src/studio-fixture.ts'
import { waitUntil } from '../src/wait.ts'
import { screenshot, testApp } from '../src/web.ts'

const run = promisify(execFile)
const TURN_SECRET = 'nat-lab-turn-secret'
const ORIGIN = `http://${PUBLIC.app}:443`
const TONES = { studio: 440, home: 550, mobile: 660, office: 880 } as const
type Caller = 'home' | 'mobile' | 'office'
const missing = await natLabMissing()

describe.skipIf(missing !== undefined)(`NAT lab${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  let dir: string
  let lab: NatLab
  const relays: CliRelay[] = []
  const browsers: Browser[] = []
  let studio: Page
  let stationId: string
  const pages: Partial<Record<Caller, Page>> = {}

  beforeAll(async () => {
    dir = await tempDir('openstudio-nat-lab-')
    lab = await startNatLab(dir, { studio: 'eim', home: 'eim', mobile: 'symmetric', office: 'tcp443' })

    // coturn on the public segment: UDP on 3478, and TLS on 443 for the office.
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
      '-keyout', join(dir, 'turn-key.pem'), '-out', join(dir, 'turn-cert.pem'), '-subj', '/CN=turn.example.org', '-addext', 'subjectAltName=DNS:turn.example.org'])
    const coturn = lab.spawnIn(lab.publicNs, 'turnserver', [
      '-n', `--listening-ip=${PUBLIC.coturn}`, '--listening-port=3478', '--tls-listening-port=443', `--relay-ip=${PUBLIC.coturn}`,
      `--cert=${join(dir, 'turn-cert.pem')}`, `--pkey=${join(dir, 'turn-key.pem')}`, '--no-dtls',
      '--use-auth-secret', `--static-auth-secret=${TURN_SECRET}`, '--realm=openstudio', '--no-cli',
      '--min-port=50000', '--max-port=50100', '--log-file=stdout', '--simple-log', ...(process.env.NAT_DEBUG === undefined ? [] : ['--Verbose'])
    ])
    if (process.env.NAT_DEBUG !== undefined) createInterface({ input: coturn.stderr! }).on('line', (line) => { process.stderr.write(`coturn stderr: ${line}\n`) })
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: coturn.stdout! }).on('line', (line) => {
        if (process.env.NAT_DEBUG !== undefined) process.stderr.write(`coturn: ${line}\n`)
        if (/Total General servers/i.test(line)) resolve()
      })
      coturn.once('exit', () => { reject(new Error('turnserver exited before it listened')) })
    })

    // Two relays: the first serves the app (plain HTTP on port 443, which the office allows) and both speak WebSockets on 443.
    await writeFile(join(dir, 'turn-secret'), TURN_SECRET)
    const app = await testApp()
    const prefix = ['ip', 'netns', 'exec', lab.publicNs]
    const relayEnv: Record<string, string> = process.env.NAT_DEBUG === undefined ? {} : { DEBUG: process.env.NAT_DEBUG }
    const common = [
      '--allow-private', '--station', '*', '--turn-secret-file', join(dir, 'turn-secret'),
      '--turn-url', `turn:${PUBLIC.coturn}:3478?transport=udp`, '--turn-url', 'turns:turn.example.org:443?transport=tcp'
    ]
    relays.push(await startCliRelay([
      '--listen', `/ip4/${PUBLIC.relay1}/tcp/4001`, '--listen', `/ip4/${PUBLIC.relay1}/tcp/443/ws`,
      '--http', `${PUBLIC.app}:443`, '--app', app, '--data', join(dir, 'relay1'), ...common
    ], relayEnv, prefix))
    const first = relays[0]!.addrs.find((a) => a.includes('/tcp/4001/'))
    relays.push(await startCliRelay([
      '--listen', `/ip4/${PUBLIC.relay2}/tcp/4001`, '--listen', `/ip4/${PUBLIC.relay2}/tcp/443/ws`,
      '--data', join(dir, 'relay2'), '--bootstrap', first ?? '', ...common
    ], relayEnv, prefix))

    const turnCert = new X509Certificate(await readFile(join(dir, 'turn-cert.pem'), 'utf8'))
    const spki = createHash('sha256').update(turnCert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64')
    const launchIn = async (site: keyof typeof TONES): Promise<Browser> => {
      const browser = await launchChromium([
        `--use-file-for-fake-audio-capture=${toneFile(dir, TONES[site])}`,
        // Plain HTTP on a lab address is not a secure context (microphones, WebCodecs): say it is.
        `--unsafely-treat-insecure-origin-as-secure=${ORIGIN}`,
        `--host-resolver-rules=MAP turn.example.org ${PUBLIC.coturn}`,
        `--ignore-certificate-errors-spki-list=${spki}`
      ], { executablePath: await lab.chromiumIn(lab.sites[site]!.ns) })
      browsers.push(browser)
      return browser
    }
    studio = await newPage(await launchIn('studio'))
    stationId = await openStudio(studio, ORIGIN, { passphrase: 'nat lab passphrase', name: 'NAT Lab Radio' })
    for (const caller of ['home', 'mobile', 'office'] as const) pages[caller] = await newPage(await launchIn(caller))
  }, 180_000)

  afterAll(async () => {
    if (process.env.NAT_DEBUG !== undefined) for (const r of relays) process.stderr.write(`--- relay stderr ---\n${r.stderr()}\n`)
    await Promise.all(browsers.map(async (b) => b.close()))
    await Promise.all(relays.map(async (r) => r.stop()))
    await lab?.stop()
    await removeDir(dir)
  })

  const cases: Array<{ caller: Caller, what: string, path: RegExp, studioPath: RegExp }> = [
    { caller: 'home', what: 'behind an endpoint-independent NAT: direct', path: /^Media: direct$/, studioPath: /direct/ },
    { caller: 'mobile', what: 'behind a symmetric NAT: TURN over UDP', path: /^Media: TURN( over UDP)?$/, studioPath: /TURN/ },
    { caller: 'office', what: 'on a network that allows only TCP 443: TURN over TLS', path: /^Media: TURN over TLS$/, studioPath: /TURN/ }
  ]

  for (const { caller, what, path, studioPath } of cases) {
    it(`a caller ${what}, heard in the program`, async () => {
      const page = pages[caller]!
      let id = ''
      try {
        await prepareCall(page, ORIGIN, `/s/${stationId}/call`, caller)
        id = await pressDial(page)
        await waitPhase(page, 'green-room', 60_000).catch(async (err: Error) => {
          throw new Error(`${err.message}; the page says: ${await textNow(page, '[data-testid=call-state]')} ${await textNow(page, '[data-testid=call-error]')}`)
        })
        await waitUntil(`the ${caller} caller's page to name its path`, async () => path.test((await textNow(page, '[data-testid=call-path]')).trim()), 30_000)
          .catch(async (err: Error) => { throw new Error(`${err.message}; it says ${await textNow(page, '[data-testid=call-path]')}`) })
        await waitUntil(`the studio's green room to name the ${caller} caller's path`, async () => studioPath.test(await textNow(studio, `[data-testid="caller-${id}"]`)), 30_000)
        await screenshot(studio, `nat-lab-studio-${caller}`)
        await studio.click(`[data-testid="caller-${id}"] [data-testid=admit]`)
        await waitPhase(page, 'on-air')
        const all = Object.values(TONES)
        const expected = [TONES.studio, TONES[caller]]
        let shares: number[] = []
        await waitUntil(`the ${caller} caller in the program`, async () => {
          shares = await spectrum(studio, 'programAnalyser', all)
          return all.every((f, i) => expected.includes(f) ? shares[i]! > 0.05 : shares[i]! < 0.02) || undefined
        }, 30_000).catch((err: Error) => { throw new Error(`${err.message}; the program's shares of ${all.join(', ')} Hz: ${shares.map((s) => s.toFixed(3)).join(', ')}`) })
        const [hearsHost, hearsItself] = await spectrum(page, 'returnAnalyser', [TONES.studio, TONES[caller]])
        expect(hearsHost).toBeGreaterThan(0.05)
        expect(hearsItself).toBeLessThan(0.02)
        await screenshot(page, `nat-lab-${caller}`)
      } catch (err) {
        // Say what ICE did on both ends: which candidates, which pair, and whether media flowed.
        throw new Error(`${(err as Error).message}\nthe ${caller} caller's ICE:\n${await iceReport(page)}\nthe studio's ICE:\n${await iceReport(studio)}`, { cause: err })
      }
      // Each path on its own: the caller leaves before the next dials.
      await page.click('[data-testid=leave]')
      await studio.locator(`[data-testid="caller-${id}"]`).waitFor({ state: 'detached', timeout: 30_000 })
    })
  }

})

/** What ICE did on each of a page's peer connections: states, the selected pair, and media bytes. */
async function iceReport (page: Page): Promise<string> {
  return page.evaluate(async () => {
    const pcs = (globalThis as unknown as { __pcs: RTCPeerConnection[] }).__pcs
    const lines = await Promise.all(pcs.map(async (pc, i) => {
      const stats: Array<Record<string, unknown>> = [];
      (await pc.getStats()).forEach((s: Record<string, unknown>) => { stats.push(s) })
      const byId = new Map(stats.map((s) => [s.id, s]))
      const transport = stats.find((s) => s.type === 'transport')
      const pair = byId.get(transport?.selectedCandidatePairId)
      const end = (id: unknown): string => { const c = byId.get(id); return c === undefined ? '?' : `${String(c.candidateType)} ${String(c.address)}:${String(c.port)}/${String(c.protocol)}${c.relayProtocol === undefined ? '' : ` via ${String(c.relayProtocol)}`}` }
      const media = stats.filter((s) => s.type === 'inbound-rtp' || s.type === 'outbound-rtp').map((s) => `${String(s.type)} ${String(s.bytesReceived ?? s.bytesSent)} B`)
      const pairs = stats.filter((s) => s.type === 'candidate-pair').map((s) => `\n    ${s.id === transport?.selectedCandidatePairId ? '*' : ' '} ${end(s.localCandidateId)} → ${end(s.remoteCandidateId)} ${String(s.state)}${s.nominated === true ? ' nominated' : ''} sent ${String(s.bytesSent)} recv ${String(s.bytesReceived)} req ${String(s.requestsSent)}/${String(s.requestsReceived)} resp ${String(s.responsesSent)}/${String(s.responsesReceived)}`).join('')
      const candidates = stats.filter((s) => s.type === 'local-candidate' || s.type === 'remote-candidate').map((s) => `${String(s.type).split('-')[0]} ${String(s.candidateType)} ${String(s.address)}:${String(s.port)}`)
      return `pc${i}: ${pc.connectionState}/${pc.iceConnectionState}; pair ${pair === undefined ? 'none' : `${end(pair.localCandidateId)} → ${end(pair.remoteCandidateId)} (${String(pair.state)})`}; ${media.join(', ')}; candidates: ${candidates.join(', ')}${pairs}`
    }))
    return lines.join('\n')
  })
}

async function newPage (browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 1000 } })
  await context.addInitScript('globalThis.__name = (fn) => fn')
  // Keeps every RTCPeerConnection, so that a failure can say what ICE did (iceReport).
  await context.addInitScript(`{
    const Native = RTCPeerConnection
    globalThis.__pcs = []
    globalThis.RTCPeerConnection = function (...args) { const pc = new Native(...args); globalThis.__pcs.push(pc); return pc }
    globalThis.RTCPeerConnection.prototype = Native.prototype
    Object.setPrototypeOf(globalThis.RTCPeerConnection, Native)
  }`)
  const page = await context.newPage()
  // STUDIO_DEBUG=openstudio:* shows the pages' namespaced logs on stderr.
  if (process.env.STUDIO_DEBUG !== undefined) {
    await context.addInitScript(`localStorage.setItem('debug', ${JSON.stringify(process.env.STUDIO_DEBUG)})`)
    page.on('console', (m) => { process.stderr.write(`${(performance.now() / 1000).toFixed(2)} [${page.url().split('/').slice(-2).join('/')}] ${m.text()}\n`) })
  }
  return page
}
