/**
 * Attacks on the services a relay process offers beyond routing: TURN
 * credentials, the `/api/bootstrap` list, and the program ingest. Each comes
 * from its own attacker host (127.0.0.21 and up) against `openstudio relay`
 * started with TURN and a program whose Icecast never answers, and each test
 * checks afterwards that the relay lives, `/health` answers, a well-behaved
 * studio and caller still work, the refusal is counted in `/metrics`, and the
 * relay's memory stays under a ceiling. See docs/relay-limits.md.
 */
import { createHmac } from 'node:crypto'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { multiaddr } from '@multiformats/multiaddr'
import { openClient, ProgramSender, requestTurnServers, type OpenStudioNode, type TurnRequestInit } from '@openstudio/node'
import {
  buildManifest, CALL_PASS_TTL_MS, createCallPass, generateStationKey, OGG_FLAG, opusHead, opusTags, signManifest, TOPIC, writeOggPage, type ProgramStart
} from '@openstudio/protocol'
import { attackerHost, metricOf, startTarget, stillServes, strangerNode, wellBehaved, type Target } from '../src/adversary.ts'
import { draftFor, removeDir, tempDir } from '../src/network.ts'
import { waitUntil } from '../src/wait.ts'

const TURN_URL = 'turn:127.0.0.1:3478?transport=udp'
const TURN_SECRET = 'services-turn-secret'
/** `--program-buffer-bytes`: the ring's bound. */
const PROGRAM_BUFFER_BYTES = 1024 * 1024
/** What the rogue studio sends: 20 MiB, 20 times the bound. */
const PROGRAM_TOTAL_BYTES = 20 * 1024 * 1024
/**
 * Its resident memory may grow this much. The allocator keeps what the garbage of 20 MiB of pages once took
 * (measured: 23–33 MiB, and it does not shrink afterwards), so this bound is looser than the one above.
 */
const PROGRAM_RSS_GROWTH_BYTES = 64 * 1024 * 1024
/** TURN requests one host may make per minute (TURN_POLICY_DEFAULTS.requestsPerHostPerMinute), and one peer. */
const TURN_PER_HOST = 30
const TURN_PER_PEER = 6

describe('a relay\'s services under attack', () => {
  let target: Target
  let dir: string
  let idleRss: number
  const nodes: OpenStudioNode[] = []

  beforeAll(async () => {
    dir = await tempDir('openstudio-services-')
    await writeFile(join(dir, 'turn-secret'), `${TURN_SECRET}\n`)
    await writeFile(join(dir, 'icecast-password'), 'services\n')
    target = await startTarget([
      '--turn-url', TURN_URL, '--turn-secret-file', join(dir, 'turn-secret'),
      // Nothing listens on port 9: the program ingest runs, and nothing ever leaves its ring.
      '--icecast', 'http://127.0.0.1:9', '--icecast-password-file', join(dir, 'icecast-password'),
      '--program-buffer-bytes', String(PROGRAM_BUFFER_BYTES),
      // The studio's pages as they came, so that the ring's bytes in are the bytes sent (the repager's own bound,
      // 64 KiB whatever the granules say, is tested in protocol/test/ogg.test.ts).
      '--ogg-page-ms', '0'
    ])
    await wellBehaved(target)
    idleRss = (await target.health()).memory.rssBytes
  })

  afterAll(async () => {
    await Promise.all(nodes.map(async (n) => n.stop()))
    await target?.stop()
    if (dir !== undefined) await removeDir(dir)
  })


  async function stranger (host: number, init: Parameters<typeof strangerNode>[2] = {}): Promise<OpenStudioNode> {
    const node = await strangerNode(target, attackerHost(host), init)
    nodes.push(node)
    return node
  }

  /** `granted`, or the reason the relay gave for refusing (the peer hears `rate-limited` for its host's limit too). */
  async function askTurn (node: OpenStudioNode, room: string, init: TurnRequestInit = {}): Promise<string> {
    return requestTurnServers(node, multiaddr(target.tcp), room, init).then(
      () => 'granted',
      (err: Error & { reason?: string }) => err.reason ?? err.name
    )
  }

  const passFor = (peer: OpenStudioNode, key = target.station): string =>
    createCallPass(key, { peer: peer.peerId.toString(), expiresAt: Date.now() + CALL_PASS_TTL_MS })

  it('refuses TURN credentials to a stranger in a made-up room: the relay does not serve it (turn/not-served)', async () => {
    const madeUp = generateStationKey()
    const node = await stranger(20)
    const { rooms } = await target.health()
    node.services.pubsub.subscribe(TOPIC.room(madeUp.id))
    await waitUntil('the relay to route the stranger\'s made-up room', async () => (await target.health()).rooms === rooms + 1)
    const before = (await target.refusals())['turn/not-served'] ?? 0
    expect(await askTurn(node, madeUp.id)).toBe('not-served')
    // A pass it signed itself for its own made-up station changes nothing.
    expect(await askTurn(node, madeUp.id, { pass: passFor(node, madeUp) })).toBe('not-served')
    expect((await target.refusals())['turn/not-served']).toBe(before + 2)
    await stillServes(target, idleRss)
  })

  it('refuses TURN credentials for the served station to a stranger without a call pass of its own (turn/no-pass)', async () => {
    const node = await stranger(21)
    const other = await stranger(21)
    const before = (await target.refusals())['turn/no-pass'] ?? 0
    // In the station's room: that proves nothing.
    node.services.pubsub.subscribe(TOPIC.room(target.station.id))
    expect(await askTurn(node, target.station.id)).toBe('no-pass')
    // A pass the station signed for someone else, one signed by another key, and one that is not a pass.
    expect(await askTurn(node, target.station.id, { pass: passFor(other) })).toBe('no-pass')
    expect(await askTurn(node, target.station.id, { pass: passFor(node, generateStationKey()) })).toBe('no-pass')
    expect(await askTurn(node, target.station.id, { pass: `${passFor(node).slice(0, -4)}AAAA` })).toBe('no-pass')
    expect((await target.refusals())['turn/no-pass']).toBe(before + 4)
    await stillServes(target, idleRss)
  })

  it('limits TURN requests per host, whatever the peer ids (turn/host-rate-limited)', async () => {
    const room = generateStationKey().id
    const before = await target.refusals()
    // 7 identities from one host, 5 requests each: no peer passes its own limit, the host passes its own by 5.
    const answers: string[] = []
    for (let i = 0; i < 7; i++) {
      const node = await stranger(22)
      for (let j = 0; j < TURN_PER_PEER - 1; j++) answers.push(await askTurn(node, room))
    }
    expect(answers.filter((a) => a === 'not-served')).toHaveLength(TURN_PER_HOST)
    expect(answers.slice(TURN_PER_HOST)).toEqual(Array(5).fill('rate-limited'))
    const after = await target.refusals()
    expect((after['turn/host-rate-limited'] ?? 0) - (before['turn/host-rate-limited'] ?? 0)).toBe(5)
    expect((after['turn/rate-limited'] ?? 0) - (before['turn/rate-limited'] ?? 0)).toBe(0)
    await stillServes(target, idleRss)
  })

  it('still gives the served station\'s own node, and a caller with its pass, credentials made with the secret', async () => {
    const studio = await openClient({ bootstrap: [target.tcp], stationKey: target.station, allowPrivate: true })
    const caller = await openClient({ bootstrap: [target.tcp], allowPrivate: true })
    try {
      for (const [node, pass] of [[studio, undefined], [caller, passFor(caller)]] as const) {
        const granted = await requestTurnServers(node, multiaddr(target.tcp), target.station.id, { pass })
        const [server] = granted.iceServers
        expect(server?.urls).toEqual([TURN_URL])
        expect(server?.username).toBe(`${granted.expiresAt}:${node.peerId.toString()}`)
        // coturn's shared-secret scheme: base64(HMAC-SHA1(secret, username)).
        expect(server?.credential).toBe(createHmac('sha1', TURN_SECRET).update(server?.username ?? '').digest('base64'))
      }
    } finally {
      // The studio's identity is the station's: the well-behaved check runs its own.
      await Promise.all([studio.stop(), caller.stop()])
    }
    expect(metricOf(await target.metrics(), 'openstudio_relay_turn_requests_total{result="granted"}')).toBeGreaterThanOrEqual(2)
  })

  it('never lists in /api/bootstrap the addresses a stranger DHT server claims for itself', async () => {
    const ownWs = target.ws.replace(/\/p2p\/\w+$/, '')
    // A name the attacker controls, a private address, and this very relay's WebSocket address, each claimed as the stranger's own.
    const claimed = ['/dns4/attacker.example/tcp/443/wss', '/ip4/10.1.2.3/tcp/4001', '/ip4/10.1.2.3/tcp/4002/ws', ownWs]
    const checked = async (): Promise<number> => {
      const r = await target.refusals()
      return (r['bootstrap/check-failed'] ?? 0) + (r['bootstrap/unlisted-address'] ?? 0)
    }
    const listed = async (): Promise<string[]> => {
      const res = await fetch(`${target.http}/api/bootstrap`, { signal: AbortSignal.timeout(10_000) })
      expect(res.status).toBe(200)
      return (await res.json() as { relays: string[] }).relays
    }
    const before = await checked()
    const node = await stranger(23, { dhtServer: true, announce: claimed })
    const strangerId = node.peerId.toString()
    const claims = async (): Promise<string[]> => (await listed()).filter((a) => a.includes(strangerId) || a.includes('attacker.example') || a.includes('10.1.2.3'))
    // Three claims are WebSocket addresses, the ones a browser could be sent to: each is checked, and each check fails.
    await waitUntil('the relay to check the stranger\'s three WebSocket claims, or to list one', async () => (await claims()).length > 0 || await checked() >= before + 3)
    expect(await claims()).toEqual([])
    expect(await checked()).toBeGreaterThanOrEqual(before + 3)
    expect(await listed()).toContain(target.ws)
    await stillServes(target, idleRss)
  })

  it('holds at most --program-buffer-bytes of a rogue studio\'s 20 MiB whose Ogg granule never advances', async () => {
    // The rogue studio holds the served station's key, as a stolen or misused studio would.
    const studio = await openClient({ bootstrap: [target.tcp], stationKey: target.station, allowPrivate: true })
    nodes.push(studio)
    const relay = (await studio.dial(multiaddr(target.tcp))).remotePeer
    const start: ProgramStart = {
      type: 'start',
      record: signManifest(buildManifest(target.station.id, draftFor(1), { seq: Date.now(), now: Date.now() }), target.station).record,
      format: 'ogg-opus',
      bitrate: 256,
      channels: 2,
      sampleRate: 48_000
    }
    /** The program's gauges in `/metrics` (NaN for one that is missing, which fails every comparison below). */
    const program = async (): Promise<Record<'bytesIn' | 'bytesOut' | 'bufferBytes' | 'bufferMs' | 'lostBytes', number>> => {
      const text = await target.metrics()
      const gauge = (name: string): number => metricOf(text, `openstudio_program_${name}`) ?? Number.NaN
      return { bytesIn: gauge('bytes_in'), bytesOut: gauge('bytes_out'), bufferBytes: gauge('buffer_bytes'), bufferMs: gauge('buffer_ms'), lostBytes: gauge('lost_bytes') }
    }
    const rssBefore = (await target.health()).memory.rssBytes
    const sender = await ProgramSender.open(studio, relay, start)
    const serial = 0x0bad5eed
    sender.send(writeOggPage({ flags: OGG_FLAG.bos, granule: 0n, serial, sequence: 0, packets: [opusHead({ channels: 2, preSkip: 312 })] }))
    sender.send(writeOggPage({ granule: 0n, serial, sequence: 1, packets: [opusTags('adversarial program')] }))
    let sent = 0
    let sequence = 2
    let maxBuffered = 0
    const packet = new Uint8Array(4096).fill(0x5a)
    while (sent < PROGRAM_TOTAL_BYTES) {
      // Top the studio's queue up to 1 MiB (it drops its oldest beyond 2 MiB), then let the link take it.
      while (sent < PROGRAM_TOTAL_BYTES && sender.queuedBytes < 1024 * 1024) {
        const page = writeOggPage({ granule: 960n, serial, sequence: sequence++, packets: [packet] })
        sender.send(page)
        sent += page.length
      }
      await waitUntil('the link to take the studio\'s queue', () => !sender.open || sender.queuedBytes < 256 * 1024)
      expect(sender.open).toBe(true)
      maxBuffered = Math.max(maxBuffered, (await program()).bufferBytes)
    }
    expect(sender.bytesDropped).toBe(0)
    // The two header pages are kept apart from the ring, and not counted in.
    const last = await waitUntil('the relay to have taken every page', async () => {
      const p = await program()
      return p.bytesIn >= sent ? p : undefined
    })
    const rssGrowth = (await target.health()).memory.rssBytes - rssBefore
    await sender.end()
    await studio.stop()

    expect(last.bytesIn).toBe(sent)
    expect(last.bytesOut).toBe(0)
    // What the ring holds is the measure: memory outside the heap also counts pages not yet collected
    // (5–18 MiB here, as the garbage collector pleases), so it cannot tell a bounded ring from a leak.
    expect(Math.max(maxBuffered, last.bufferBytes)).toBeLessThanOrEqual(PROGRAM_BUFFER_BYTES)
    // The ring is full; the rest went oldest first and was counted as lost, since nothing reached Icecast.
    expect(last.bufferBytes).toBeGreaterThan(PROGRAM_BUFFER_BYTES / 2)
    expect(last.lostBytes + last.bufferBytes).toBe(last.bytesIn)
    expect(last.bufferMs).toBe(0)
    expect(rssGrowth).toBeLessThan(PROGRAM_RSS_GROWTH_BYTES)
    await stillServes(target, idleRss)
  })
})
