/**
 * A show in the NAT lab (nat-lab.ts), for its test and its bench: coturn
 * (UDP 3478, and TLS on 443 with a test certificate) and two relays on the
 * public segment, a studio open behind an endpoint-independent NAT, and one
 * Chromium per caller site, each behind a NAT of its own kind.
 */
import { execFile } from 'node:child_process'
import { createHash, createHmac, X509Certificate } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import type { Browser, Page } from 'playwright-core'
import { launchChromium } from './browser.ts'
import { startCliRelay, type CliRelay } from './cli.ts'
import { PUBLIC, startNatLab, type NatLab } from './nat-lab.ts'
import { removeDir, tempDir } from './network.ts'
import { openStudio, openTestPage, toneFile } from './studio-fixture.ts'
import { testApp } from './web.ts'

const run = promisify(execFile)
const TURN_SECRET = 'nat-lab-turn-secret'
/** The app, served by the first relay on port 443: the only port the office may reach. */
export const LAB_ORIGIN = `http://${PUBLIC.app}:443`
/** Each site's microphone tone. */
export const LAB_TONES = { studio: 440, home: 550, mobile: 660, office: 880 } as const
export type LabCaller = 'home' | 'mobile' | 'office'
/** Each caller's NAT, and the path its call takes. */
export const LAB_PATHS: Record<LabCaller, string> = {
  home: 'direct, through two endpoint-independent NATs',
  mobile: 'TURN over UDP, from behind a symmetric NAT',
  office: 'TURN over TLS on 443, from a network that allows only TCP 443'
}

export interface NatLabShow {
  lab: NatLab
  studio: Page
  stationId: string
  /** One page per caller site, each in a Chromium of its own. */
  callers: Record<LabCaller, Page>
  /** coturn's servers with credentials of the kind the relays hand out, for bare RTCPeerConnections. */
  iceServers: () => RTCIceServer[]
  stop: () => Promise<void>
}

export async function startNatLabShow (): Promise<NatLabShow> {
  const dir = await tempDir('openstudio-nat-lab-')
  const lab = await startNatLab(dir, { studio: 'eim', home: 'eim', mobile: 'symmetric', office: 'tcp443' })
  const relays: CliRelay[] = []
  const browsers: Browser[] = []
  const stop = async (): Promise<void> => {
    if (process.env.NAT_DEBUG !== undefined) for (const r of relays) process.stderr.write(`--- relay stderr ---\n${r.stderr()}\n`)
    await Promise.all(browsers.map(async (b) => b.close()))
    await Promise.all(relays.map(async (r) => r.stop()))
    await lab.stop()
    await removeDir(dir)
  }
  try {
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
    const launchIn = async (site: keyof typeof LAB_TONES): Promise<Browser> => {
      const browser = await launchChromium([
        `--use-file-for-fake-audio-capture=${toneFile(dir, LAB_TONES[site])}`,
        // Plain HTTP on a lab address is not a secure context (microphones, WebCodecs): say it is.
        `--unsafely-treat-insecure-origin-as-secure=${LAB_ORIGIN}`,
        `--host-resolver-rules=MAP turn.example.org ${PUBLIC.coturn}`,
        `--ignore-certificate-errors-spki-list=${spki}`
      ], { executablePath: await lab.chromiumIn(lab.sites[site]!.ns) })
      browsers.push(browser)
      return browser
    }
    const studio = await newLabPage(await launchIn('studio'))
    const stationId = await openStudio(studio, LAB_ORIGIN, { passphrase: 'nat lab passphrase', name: 'NAT Lab Radio' })
    const callers = {} as Record<LabCaller, Page>
    for (const caller of ['home', 'mobile', 'office'] as const) callers[caller] = await newLabPage(await launchIn(caller))
    const iceServers = (): RTCIceServer[] => {
      const username = `${Math.floor(Date.now() / 1000) + 600}:bare`
      const credential = createHmac('sha1', TURN_SECRET).update(username).digest('base64')
      return [{ urls: [`turn:${PUBLIC.coturn}:3478?transport=udp`, 'turns:turn.example.org:443?transport=tcp'], username, credential }]
    }
    return { lab, studio, stationId, callers, iceServers, stop }
  } catch (err) {
    await stop()
    throw err
  }
}

/** What ICE did on each of a page's peer connections: states, the selected pair, and media bytes. */
export async function iceReport (page: Page): Promise<string> {
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

/** Keeps every RTCPeerConnection of a page, so that a failure can say what ICE did (iceReport). */
const TRACK_PEER_CONNECTIONS = `{
  const Native = RTCPeerConnection
  globalThis.__pcs = []
  globalThis.RTCPeerConnection = function (...args) { const pc = new Native(...args); globalThis.__pcs.push(pc); return pc }
  globalThis.RTCPeerConnection.prototype = Native.prototype
  Object.setPrototypeOf(globalThis.RTCPeerConnection, Native)
}`

async function newLabPage (browser: Browser): Promise<Page> {
  return openTestPage(browser, { initScripts: [TRACK_PEER_CONNECTIONS] })
}
