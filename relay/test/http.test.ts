import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { connect, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Server } from 'node:http'
import { Counter, Registry } from 'prom-client'
import { startHttp, startMetricsHttp, stopHttp, type HttpInit, type MetricsHttpInit } from '../src/http.ts'
import type { Refusals } from '../src/refusals.ts'
import { waitUntil, within } from '../../tests/src/wait.ts'

/** How long a raw socket may take to be answered and closed. */
const CLOSE_MS = 5_000

const servers: Server[] = []
afterEach(async () => { await Promise.all(servers.splice(0).map(stopHttp)) })

let appDir: string
beforeAll(async () => {
  appDir = await mkdtemp(join(tmpdir(), 'openstudio-http-'))
  await writeFile(join(appDir, 'index.html'), '<!doctype html><title>OpenStudio</title>')
})
afterAll(async () => { await rm(appDir, { recursive: true, force: true }) })

/** Refusals kept as `resource/reason` strings, in order. */
function recordedRefusals (): Refusals & { seen: string[] } {
  const seen: string[] = []
  return { seen, refuse: (resource, reason) => { seen.push(`${resource}/${reason}`) } }
}

function testRegistry (): Registry {
  const registry = new Registry()
  new Counter({ name: 'openstudio_test_hits_total', help: 'A metric the tests look for', registers: [registry] }).inc()
  return registry
}

interface Started { server: Server, port: number, url: string, refused: string[] }

async function started (server: Server, refused: string[]): Promise<Started> {
  servers.push(server)
  const address = server.address()
  if (address === null || typeof address !== 'object') throw new Error('the server has no TCP address')
  return { server, port: address.port, url: `http://127.0.0.1:${address.port}`, refused }
}

async function main (init: Partial<HttpInit> = {}): Promise<Started> {
  const refusals = recordedRefusals()
  const server = await startHttp({
    host: '127.0.0.1',
    port: 0,
    registry: testRegistry(),
    refusals,
    health: async () => ({ status: 'ok' }),
    bootstrap: async () => ({ relays: [], allowPrivate: true, stampBits: 0 }),
    ...init
  })
  return await started(server, refusals.seen)
}

async function metricsOnly (init: Partial<MetricsHttpInit> = {}): Promise<Started> {
  const refusals = recordedRefusals()
  const server = await startMetricsHttp({ host: '127.0.0.1', port: 0, registry: testRegistry(), refusals, ...init })
  return await started(server, refusals.seen)
}

async function closed (socket: Socket, what: string): Promise<void> {
  await within(what, CLOSE_MS, new Promise<void>((resolve) => {
    if (socket.closed) resolve()
    else socket.once('close', () => { resolve() })
  }))
}

/** An open raw socket, and what it has received so far. */
async function rawSocket (port: number): Promise<{ socket: Socket, received: () => string, errors: Error[] }> {
  const socket = connect(port, '127.0.0.1')
  const chunks: Buffer[] = []
  const errors: Error[] = []
  socket.on('data', (chunk: Buffer) => { chunks.push(chunk) })
  // The server may reset a socket it refuses; the test looks at 'close'.
  socket.on('error', (err) => { errors.push(err) })
  await within('a raw socket to connect', CLOSE_MS, new Promise<void>((resolve, reject) => {
    socket.once('connect', () => { resolve() })
    socket.once('close', () => { reject(new Error('the socket closed before it connected')) })
  }))
  return { socket, received: () => Buffer.concat(chunks).toString('latin1'), errors }
}

/** Writes `bytes` on a fresh socket (then ends it, with `end`) and reads until the server closes it. */
async function exchange (port: number, bytes: string | Uint8Array, { end = false } = {}): Promise<string> {
  const { socket, received } = await rawSocket(port)
  socket.write(bytes)
  if (end) socket.end()
  await closed(socket, `the server to answer and close ${JSON.stringify(Buffer.from(bytes).toString('latin1').slice(0, 80))}`)
  return received()
}

/** The status of the first response in `text`, or undefined when there is none. */
function statusOf (text: string): number | undefined {
  const match = /^HTTP\/1\.1 (\d{3}) /.exec(text)
  return match === null ? undefined : Number(match[1])
}

function bodyOf (text: string): unknown {
  return JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4))
}

describe('relay HTTP server', () => {
  it('answers a target the URL parser rejects with 400 and keeps serving', async () => {
    const { port, url, refused } = await main()
    const text = await exchange(port, 'GET //[ HTTP/1.1\r\nHost: relay\r\n\r\n')
    expect(statusOf(text)).toBe(400)
    expect(bodyOf(text)).toEqual({ error: expect.any(String) })
    // A path that URL parsers would read as a host is refused, not guessed at.
    for (const target of ['http://[', '//relay/health', '/\\relay/health', 'ftp://relay/health']) {
      expect(statusOf(await exchange(port, `GET ${target} HTTP/1.1\r\nHost: relay\r\n\r\n`)), target).toBe(400)
    }
    expect(refused).toEqual(Array(5).fill('http/bad-request'))
    const health = await fetch(`${url}/health`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
  })

  it('answers malformed percent-encoding in an app path with 400', async () => {
    const { port, url, refused } = await main({ appDir })
    for (const path of ['/%E0%A4%A', '/%ZZ', '/assets/%', '/%00']) {
      const text = await exchange(port, `GET ${path} HTTP/1.1\r\nHost: relay\r\n\r\n`)
      expect(statusOf(text), path).toBe(400)
    }
    expect(refused).toEqual(Array(4).fill('http/bad-request'))
    const page = await fetch(`${url}/index.html`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('OpenStudio')
  })

  it('refuses other methods with 405 and closes without reading the body', async () => {
    const { port, refused } = await main()
    // A gigabyte declared, none sent: the answer and the close come at once.
    const text = await exchange(port, 'POST /health HTTP/1.1\r\nHost: relay\r\nContent-Length: 1073741824\r\n\r\n')
    expect(statusOf(text)).toBe(405)
    expect(text.toLowerCase()).toContain('allow: get, head')
    // Nor is the body invited.
    const continued = await exchange(port, 'PUT /health HTTP/1.1\r\nHost: relay\r\nExpect: 100-continue\r\nContent-Length: 1073741824\r\n\r\n')
    expect(statusOf(continued)).toBe(405)
    expect(continued).not.toContain('100 Continue')
    expect(statusOf(await exchange(port, 'CONNECT relay:443 HTTP/1.1\r\nHost: relay:443\r\n\r\n'))).toBe(405)
    expect(refused).toEqual(['http/method', 'http/method', 'http/method'])
  })

  it('refuses a head over the size cap with 431 and an unknown expectation with 417', async () => {
    const { port, url, refused } = await main({ limits: { maxHeaderBytes: 1024 } })
    expect(statusOf(await exchange(port, `GET /health HTTP/1.1\r\nHost: relay\r\nX-Big: ${'a'.repeat(2048)}\r\n\r\n`))).toBe(431)
    expect(statusOf(await exchange(port, 'GET /health HTTP/1.1\r\nHost: relay\r\nExpect: tea\r\n\r\n'))).toBe(417)
    expect(refused).toEqual(['http/headers-too-large', 'http/bad-request'])
    expect((await fetch(`${url}/health`)).status).toBe(200)
  })

  it('answers a failing route with 500 and keeps serving', async () => {
    const { url, refused } = await main({ health: async () => { throw new Error('the datastore is gone') } })
    const response = await fetch(`${url}/health`)
    expect(response.status).toBe(500)
    expect(await response.json()).toEqual({ error: 'internal error' })
    expect(refused).toEqual(['http/error'])
    expect((await fetch(`${url}/api/bootstrap`)).status).toBe(200)
  })

  it('destroys the sockets of one host past its cap', async () => {
    const cap = 3
    const { server, port, url, refused } = await main({ limits: { maxConnectionsPerHost: cap } })
    let accepted = 0
    server.on('connection', () => { accepted++ })
    const idle = await Promise.all(Array.from({ length: cap }, async () => rawSocket(port)))
    await waitUntil(`the server to accept ${cap} sockets`, () => accepted >= cap, CLOSE_MS)
    const extra = await rawSocket(port)
    await closed(extra.socket, 'the server to destroy the socket past the cap')
    expect(extra.received()).toBe('')
    expect(refused).toEqual(['http/too-many-connections-per-host'])
    expect(idle.every(({ socket }) => !socket.closed)).toBe(true)
    for (const { socket } of idle) socket.destroy()
    await waitUntil('the server to see the idle sockets go', async () => await new Promise<number>((resolve, reject) => {
      server.getConnections((err, count) => { if (err !== null) reject(err); else resolve(count) })
    }) === 0, CLOSE_MS)
    expect((await fetch(`${url}/health`)).status).toBe(200)
  })

  it('drops sockets past the total cap', async () => {
    const { server, port, refused } = await main({ limits: { maxConnections: 2 } })
    let accepted = 0
    server.on('connection', () => { accepted++ })
    const idle = await Promise.all([rawSocket(port), rawSocket(port)])
    await waitUntil('the server to accept 2 sockets', () => accepted >= 2, CLOSE_MS)
    const extra = await rawSocket(port)
    await closed(extra.socket, 'the server to drop the socket past the total cap')
    expect(refused).toEqual(['http/too-many-connections'])
    expect(idle.every(({ socket }) => !socket.closed)).toBe(true)
    for (const { socket } of idle) socket.destroy()
  })

  it('closes a slowloris socket whose head does not arrive in time', async () => {
    const { port, refused } = await main({ limits: { headersTimeoutMs: 200, requestTimeoutMs: 400, timeoutCheckMs: 50 } })
    const { socket, received } = await rawSocket(port)
    socket.write('GET /health HTTP/1.1\r\nHost: relay\r\nX-Slow: ')
    await closed(socket, 'the headers timeout to close a half-sent head')
    expect(statusOf(received())).toBe(408)
    expect(refused).toEqual(['http/timeout'])
  })

  it('requires the metrics token when one is set', async () => {
    const { url, refused } = await main({ metricsToken: 'open-sesame' })
    const without = await fetch(`${url}/metrics`)
    expect(without.status).toBe(401)
    expect(without.headers.get('www-authenticate')).toBe('Bearer')
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer open-sesam' } })).status).toBe(401)
    expect((await fetch(`${url}/metrics`, { headers: { authorization: 'Basic open-sesame' } })).status).toBe(401)
    const withToken = await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer open-sesame' } })
    expect(withToken.status).toBe(200)
    expect(await withToken.text()).toContain('openstudio_test_hits_total 1')
    expect(refused).toEqual(Array(3).fill('http/unauthorized'))
    expect((await fetch(`${url}/health`)).status).toBe(200)
  })

  it('serves /metrics only on the metrics server when it has one', async () => {
    const { url } = await main({ serveMetrics: false, appDir })
    expect((await fetch(`${url}/metrics`)).status).toBe(404)
    const metrics = await metricsOnly({ metricsToken: 'open-sesame' })
    expect((await fetch(`${metrics.url}/metrics`)).status).toBe(401)
    const response = await fetch(`${metrics.url}/metrics`, { headers: { authorization: 'Bearer open-sesame' } })
    expect(response.status).toBe(200)
    expect(await response.text()).toContain('openstudio_test_hits_total')
    expect((await fetch(`${metrics.url}/health`)).status).toBe(404)
    expect(statusOf(await exchange(metrics.port, 'GET //[ HTTP/1.1\r\nHost: relay\r\n\r\n'))).toBe(400)
  })

  it('answers any request line and header block with 4xx/5xx or a close, and keeps serving', async () => {
    const { port, url } = await main()
    const text = (maxLength: number): fc.Arbitrary<string> => fc.string({ unit: 'binary-ascii', maxLength })
    const printable = (maxLength: number): fc.Arbitrary<string> =>
      fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength })
    // Mostly well-formed parts, so that requests reach the routes as well as the parser.
    const method = fc.oneof({ arbitrary: fc.constantFrom('GET', 'HEAD', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'CONNECT', 'TRACE', 'PATCH', 'PRI'), weight: 4 }, text(10))
    // Every target here is a 404 at best for a GET (no app is served); none names a route.
    const target = fc.oneof(
      fc.constantFrom('//[', '/%', '/%ZZ', '/%00', '*', 'http://[', 'http://relay', '/../../etc/passwd', '//relay//x', 'relay:443', ''),
      { arbitrary: printable(40).map((t) => `/x${t}`), weight: 2 },
      text(40)
    )
    const version = fc.oneof({ arbitrary: fc.constantFrom('HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/0.9', ''), weight: 4 }, text(10))
    const header = fc.oneof(
      {
        arbitrary: fc.tuple(fc.constantFrom('Content-Length', 'Transfer-Encoding', 'Expect', 'Connection', 'Upgrade', 'Authorization', 'X-Anything'), printable(24))
          .map(([name, value]) => `${name}: ${value}`),
        weight: 4
      },
      text(60)
    )
    const request = fc.record({
      method,
      target,
      version,
      host: fc.option(printable(20)),
      headers: fc.array(header, { maxLength: 6 }),
      eol: fc.oneof({ arbitrary: fc.constant('\r\n'), weight: 4 }, fc.constantFrom('\n', '\r')),
      finished: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, fc.constant(false))
    }).map(({ method, target, version, host, headers, eol, finished }) =>
      [`${method} ${target} ${version}`, ...(host === null ? [] : [`Host: ${host}`]), ...headers].join(eol) + (finished ? eol + eol : ''))
    await fc.assert(fc.asyncProperty(request, async (bytes) => {
      const answer = await exchange(port, bytes, { end: true })
      if (answer === '') return
      const status = statusOf(answer)
      expect(status, answer.slice(0, 80)).toBeGreaterThanOrEqual(400)
      expect(status).toBeLessThan(600)
    }), { numRuns: 100 })
    expect((await fetch(`${url}/health`)).status).toBe(200)
  })
})
