/**
 * Attacks on a relay process's HTTP server (`--http`: `/health`,
 * `/api/bootstrap`, `/metrics`), each from its own attacker host (127.0.0.31
 * and up): what `/health` gives away, a flood of it, the metrics token and
 * address, random and almost-valid requests over raw sockets, a huge body,
 * and slowloris. After each, the relay lives, `/health` answers, a
 * well-behaved studio and caller still work, the refusal is counted in
 * `/metrics`, and the relay's memory stays under a ceiling. See the HTTP
 * section of docs/relay-limits.md.
 */
import { once } from 'node:events'
import { writeFile } from 'node:fs/promises'
import { Agent } from 'node:http'
import { connect } from 'node:net'
import { join } from 'node:path'
import { setInterval as every } from 'node:timers/promises'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { attackerHost, httpGet, metricOf, rawHttp, startTarget, stillServes, strangerNode, wellBehaved, type Target } from '../src/adversary.ts'
import { removeDir, tempDir } from '../src/network.ts'
import { waitUntil, within } from '../src/wait.ts'

const METRICS_TOKEN = 'adversarial-metrics-token'
/** Fuzzed requests, each on its own socket. */
const FUZZ_RUNS = 60
/** HTTP_LIMITS (relay/src/constants.ts): sockets from one address, and the time a request head may take. */
const SOCKETS_PER_HOST = 128
const HEADERS_TIMEOUT_MS = 10_000

describe('a relay\'s HTTP server under attack', () => {
  let target: Target
  let dir: string
  let tokenFile: string
  let idleRss: number

  beforeAll(async () => {
    dir = await tempDir('openstudio-http-')
    tokenFile = join(dir, 'metrics-token')
    await writeFile(tokenFile, `${METRICS_TOKEN}\n`)
    target = await startTarget(['--metrics-token-file', tokenFile], { metricsToken: METRICS_TOKEN })
    await wellBehaved(target)
    idleRss = (await target.health()).memory.rssBytes
  })

  afterAll(async () => {
    await target?.stop()
    if (dir !== undefined) await removeDir(dir)
  })


  it('/health shows counts, never an address, while a stranger from another host is connected', async () => {
    const host = attackerHost(30)
    const stranger = await strangerNode(target, host)
    try {
      const { status, body } = await httpGet(`${target.http}/health`, { localAddress: host })
      expect(status).toBe(200)
      const health = JSON.parse(body) as { status: string, peers: number }
      expect(health.status).toBe('ok')
      expect(health.peers).toBeGreaterThanOrEqual(1)
      for (const leak of ['/ip4/', '/ip6/', '/dns', '/tcp/', '/p2p-circuit', '127.0.0.', '::1']) expect(body).not.toContain(leak)
    } finally {
      await stranger.stop()
    }
  })

  it('answers 2000 /health requests from one host, 20 at a time, and keeps serving', async () => {
    const localAddress = attackerHost(31)
    const agent = new Agent({ keepAlive: true, maxSockets: 20 })
    const statuses = new Map<number, number>()
    try {
      const started = Date.now()
      await Promise.all(Array.from({ length: 20 }, async () => {
        for (let i = 0; i < 100; i++) {
          const { status } = await httpGet(`${target.http}/health`, { localAddress, agent })
          statuses.set(status, (statuses.get(status) ?? 0) + 1)
        }
      }))
      expect(Object.fromEntries(statuses)).toEqual({ 200: 2000 })
      expect(Date.now() - started).toBeLessThan(30_000)
    } finally {
      agent.destroy()
    }
    await stillServes(target, idleRss)
  })

  it('answers /metrics 401 without its token or with a wrong one, and 200 with it (http/unauthorized)', async () => {
    const localAddress = attackerHost(32)
    const before = (await target.refusals())['http/unauthorized'] ?? 0
    const url = `${target.http}/metrics`
    expect(target.metricsUrl).toBe(url)
    for (const authorization of [undefined, 'Bearer wrong-token', `Bearer ${METRICS_TOKEN}x`, `Basic ${Buffer.from(`x:${METRICS_TOKEN}`).toString('base64')}`, METRICS_TOKEN]) {
      const { status, headers, body } = await httpGet(url, { localAddress, headers: authorization === undefined ? {} : { authorization } })
      expect(status).toBe(401)
      expect(headers['www-authenticate']).toBe('Bearer')
      expect(body).not.toContain('openstudio_')
    }
    const granted = await httpGet(url, { localAddress, headers: { authorization: `Bearer ${METRICS_TOKEN}` } })
    expect(granted.status).toBe(200)
    expect(granted.body).toContain('openstudio_relay_refused_total')
    expect((await target.refusals())['http/unauthorized']).toBe(before + 5)
  })

  it('serves /metrics only on its own address when --metrics is given: --http answers 404 for it', async () => {
    const apart = await startTarget(['--metrics', '127.0.0.1:0', '--metrics-token-file', tokenFile], { metricsToken: METRICS_TOKEN })
    try {
      expect(apart.metricsUrl).not.toBe(`${apart.http}/metrics`)
      const withToken = { authorization: `Bearer ${METRICS_TOKEN}` }
      expect((await httpGet(`${apart.http}/metrics`, { headers: withToken })).status).toBe(404)
      expect((await httpGet(`${apart.http}/health`)).status).toBe(200)
      expect((await httpGet(apart.metricsUrl)).status).toBe(401)
      expect((await httpGet(apart.metricsUrl, { headers: withToken })).status).toBe(200)
      // The metrics address answers nothing else.
      expect((await httpGet(new URL('/health', apart.metricsUrl).href)).status).toBe(404)
      expect(await apart.refusals()).toMatchObject({ 'http/unauthorized': 1 })
    } finally {
      await apart.stop()
    }
  })

  it(`answers ${FUZZ_RUNS} random and almost-valid requests with a status under 500 or a close, each within 5 s`, async () => {
    const localAddress = attackerHost(33)
    const before = await target.refusals()
    await fc.assert(fc.asyncProperty(requests(), async (bytes) => {
      const answer = await rawHttp(target.http, localAddress, bytes, { timeoutMs: 5_000 })
      expect(answer.closed).toBe(true)
      if (answer.text !== '') expect(answer.text).toMatch(/^HTTP\/1\.1 \d{3} /)
      for (const [, status] of answer.text.matchAll(/HTTP\/1\.1 (\d{3}) /g)) expect(Number(status)).toBeLessThan(500)
      expect(target.alive()).toBe(true)
    }), { numRuns: FUZZ_RUNS })
    const after = await target.refusals()
    expect((after['http/bad-request'] ?? 0) - (before['http/bad-request'] ?? 0)).toBeGreaterThan(0)
    // No route failed, and nothing reached the process-level guard.
    expect(after['http/error'] ?? 0).toBe(0)
    expect(metricOf(await target.metrics(), 'openstudio_relay_uncaught_errors_total')).toBe(0)
    await stillServes(target, idleRss)
  })

  it('answers a POST with a huge body 405 and closes the socket without reading the body', async () => {
    const localAddress = attackerHost(34)
    const before = (await target.refusals())['http/method'] ?? 0
    const head = `POST /health HTTP/1.1\r\nHost: relay\r\nContent-Type: application/octet-stream\r\nContent-Length: ${1024 ** 3}\r\n\r\n`

    // The head and the first MiB of a declared GiB: a relay that read the body would wait for the rest (30 s), not close.
    const first = await rawHttp(target.http, localAddress, Buffer.concat([Buffer.from(head), Buffer.alloc(1024 * 1024)]), { end: false, timeoutMs: 5_000 })
    expect(first.closed).toBe(true)
    expect(first.text).toMatch(/^HTTP\/1\.1 405 /)
    expect(first.text.toLowerCase()).toContain('allow: get, head')

    // A sender that keeps writing as fast as the relay takes it: the socket goes long before 64 MiB.
    const mostWritten = 64 * 1024 * 1024
    const { hostname, port } = new URL(target.http)
    const socket = connect({ host: hostname, port: Number(port), localAddress })
    socket.on('error', () => { /* the relay resets a socket it stopped reading */ })
    let text = ''
    socket.on('data', (d: Buffer) => { text += d.toString('latin1') })
    // Not `once(socket, 'close')`: that rejects on the socket's error (EPIPE, ECONNRESET), and a closed socket is the point.
    const closed = new Promise<void>((resolve) => { socket.once('close', () => { resolve() }) })
    await once(socket, 'connect')
    socket.write(head)
    const chunk = new Uint8Array(64 * 1024)
    let written = 0
    while (!socket.destroyed && written < mostWritten) {
      written += chunk.length
      if (!socket.write(chunk)) await Promise.race([once(socket, 'drain').catch(() => undefined), closed])
    }
    await within('the relay to close the socket', 10_000, closed)
    expect(written).toBeLessThan(mostWritten)
    // A write that fails (EPIPE) destroys Node's socket, and may take the unread 405 with it: either is fine here.
    expect(text === '' || text.startsWith('HTTP/1.1 405 ')).toBe(true)

    // With `Expect: 100-continue` the relay refuses at once, and never invites the body.
    const expecting = await rawHttp(target.http, localAddress, `POST /health HTTP/1.1\r\nHost: relay\r\nExpect: 100-continue\r\nContent-Length: ${1024 ** 3}\r\n\r\n`, { end: false })
    expect(expecting.closed).toBe(true)
    expect(expecting.text).toMatch(/^HTTP\/1\.1 405 /)
    expect((await target.refusals())['http/method']).toBe(before + 3)
    await stillServes(target, idleRss)
  })

  it('closes slowloris sockets with 408 in bounded time, caps them per host, and serves others meanwhile', async () => {
    const localAddress = attackerHost(35)
    const count = SOCKETS_PER_HOST + 12
    const before = await target.refusals()
    const { hostname, port } = new URL(target.http)
    const sockets = Array.from({ length: count }, () => {
      const socket = connect({ host: hostname, port: Number(port), localAddress })
      const state = { socket, text: '', opened: Date.now(), closedAfterMs: Number.NaN }
      socket.on('error', () => { /* a refused socket is reset */ })
      socket.on('data', (d: Buffer) => { state.text += d.toString('latin1') })
      socket.once('connect', () => { state.opened = Date.now(); socket.write('GET /health HTTP/1.1\r\nHost: relay\r\nX-Slow: ') })
      socket.once('close', () => { state.closedAfterMs = Date.now() - state.opened })
      return state
    })
    const allClosed = Promise.all(sockets.map(async (s) => new Promise<void>((resolve) => {
      if (s.socket.closed) resolve()
      else s.socket.once('close', () => { resolve() })
    })))
    try {
      // Dribble one byte a second into every open socket until the relay has closed them all (bounded by the wait below).
      const dribble = (async () => {
        for await (const _ of every(1_000)) {
          const open = sockets.filter((s) => !s.socket.destroyed)
          if (open.length === 0) return
          for (const s of open) if (s.socket.writable) s.socket.write('a')
        }
      })()
      // While the relay holds the host's share of slow sockets, another host is served at once.
      await waitUntil('every slowloris socket to be open or refused', () => sockets.every((s) => s.socket.destroyed || s.socket.readyState === 'open'))
      expect(sockets.filter((s) => !s.socket.destroyed).length).toBeGreaterThanOrEqual(SOCKETS_PER_HOST)
      const asked = Date.now()
      expect((await httpGet(`${target.http}/health`, { localAddress: attackerHost(36), timeoutMs: 2_000 })).status).toBe(200)
      expect(Date.now() - asked).toBeLessThan(1_000)
      await within('the relay to close every slowloris socket', HEADERS_TIMEOUT_MS + 10_000, allClosed)
      await dribble
    } finally {
      for (const s of sockets) s.socket.destroy()
    }
    const timedOut = sockets.filter((s) => s.text.startsWith('HTTP/1.1 408 '))
    const refused = sockets.filter((s) => s.text === '')
    expect(timedOut).toHaveLength(SOCKETS_PER_HOST)
    expect(refused).toHaveLength(count - SOCKETS_PER_HOST)
    expect(Math.max(...timedOut.map((s) => s.closedAfterMs))).toBeLessThan(HEADERS_TIMEOUT_MS + 3_000)
    expect(Math.max(...refused.map((s) => s.closedAfterMs))).toBeLessThan(2_000)
    const after = await target.refusals()
    expect((after['http/timeout'] ?? 0) - (before['http/timeout'] ?? 0)).toBe(SOCKETS_PER_HOST)
    expect((after['http/too-many-connections-per-host'] ?? 0) - (before['http/too-many-connections-per-host'] ?? 0)).toBe(count - SOCKETS_PER_HOST)
    await stillServes(target, idleRss)
  }, 40_000)
})

/** Random bytes, or a request built from plausible and hostile parts with a few bytes changed. */
function requests (): fc.Arbitrary<Uint8Array> {
  const token = fc.stringMatching(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,12}$/)
  const method = fc.oneof(fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'TRACE', 'PATCH', 'CONNECT', 'get', 'PRI'), token)
  const target = fc.oneof(
    fc.constantFrom('/health', '/metrics', '/api/bootstrap', '/api/', '/', '*', '//x', '/\\x', '/%', '/%zz', '/%00', '/health?x=%', '/health#x',
      'http://relay/health', 'https://relay/metrics', 'ftp://relay/', 'http://[::1', '/../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', 'relay:80', `/${'a'.repeat(9000)}`),
    fc.string({ unit: 'binary', maxLength: 64 }).map((s) => `/${s}`)
  )
  const version = fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', 'HTTP/1.1x', 'http/1.1', '')
  const header = fc.oneof(
    fc.constantFrom<[string, string]>(
      ['Host', 'relay'], ['Host', ''], ['Host', 'a b'], ['Expect', '100-continue'], ['Expect', 'nonsense'], ['Content-Length', '5'], ['Content-Length', '-1'],
      ['Content-Length', '99999999999999999999'], ['Content-Length', '1, 2'], ['Transfer-Encoding', 'chunked'], ['Transfer-Encoding', 'gzip, chunked'],
      ['Connection', 'upgrade'], ['Upgrade', 'websocket'], ['Connection', 'keep-alive'], ['Authorization', 'Bearer x'], ['Authorization', 'Bearer'], ['X-Big', 'a'.repeat(9000)]
    ),
    fc.tuple(token, fc.string({ unit: 'binary', maxLength: 40 }))
  )
  const almostValid = fc.record({
    method,
    target,
    version,
    host: fc.boolean(),
    headers: fc.array(header, { maxLength: 6 }),
    body: fc.string({ maxLength: 64 }),
    flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 })
  }).map(({ method, target, version, host, headers, body, flips }) => {
    const head = [`${method} ${target} ${version}`, ...host ? ['Host: relay'] : [], ...headers.map(([name, value]) => `${name}: ${value}`)]
    const out = Buffer.from(`${head.join('\r\n')}\r\n\r\n${body}`, 'utf8')
    for (const [at, value] of flips) out[at % out.length] = value
    return new Uint8Array(out)
  })
  return fc.oneof({ weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 2048 }) }, { weight: 4, arbitrary: almostValid })
}
