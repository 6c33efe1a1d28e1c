/**
 * The relay's HTTP servers. The main one serves `/health` (JSON),
 * `/api/bootstrap`, `/metrics` (Prometheus), `/api/stations`, the program's
 * HLS rendition under `/hls/` and the web app; an optional
 * second one serves only `/metrics`, on another address.
 *
 * Both distrust every request: a malformed target or path is a 400, a method
 * other than GET and HEAD a 405 whose body is never read, a failing route a
 * 500, and none of them reaches the process. Timeouts and socket caps
 * (HTTP_LIMITS) keep slow or numerous clients from holding the server, and
 * every refusal is counted as `refuse('http', reason)`.
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Duplex, Readable } from 'node:stream'
import { logger } from '@libp2p/logger'
import type { Registry } from 'prom-client'
import { HTTP_LIMITS } from './constants.ts'
import { NO_REFUSALS, type Refusals } from './refusals.ts'
import { staticApp } from './static.ts'

const log = logger('openstudio:relay:http')

/** A metrics token that cannot be used (empty), or a token file that cannot be read. */
export class MetricsConfigError extends Error {
  override readonly name = 'MetricsConfigError'
}

/** The limits of one HTTP server; see HTTP_LIMITS for each. */
export type HttpLimits = { [K in keyof typeof HTTP_LIMITS]: number }

/** What both servers take. */
export interface MetricsHttpInit {
  host: string
  port: number
  registry: Registry
  /** Require `Authorization: Bearer <token>` for `/metrics`. @default none: `/metrics` is open */
  metricsToken?: string
  /** Where refused requests are counted, as `refuse('http', reason)`. @default NO_REFUSALS */
  refusals?: Refusals
  /** Timeouts and socket caps. @default HTTP_LIMITS */
  limits?: Partial<HttpLimits>
  /** Addresses the per-host socket cap does not apply to (a reverse proxy in front). @default none */
  trustedProxies?: string[]
}

export interface HttpInit extends MetricsHttpInit {
  health: () => Promise<unknown>
  /** What `/api/bootstrap` answers: how a browser joins the network. */
  bootstrap: () => Promise<unknown>
  /** Directory of the built web app. @default no app */
  appDir?: string
  /** Serve `/metrics` here; false when startMetricsHttp serves it on another address, and this server answers 404 for it. @default true */
  serveMetrics?: boolean
  /** The routes under `/api/stations` (directory-http.ts). @default none */
  directory?: Router
  /** The routes under `/hls/` (hls-http.ts). @default none */
  hls?: Router
}

export type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>

/** The route for a request's path, or undefined for a 404. */
export type Router = (path: string) => Route | undefined

/** The methods the routes answer; others are refused with their body unread. */
const READ_ONLY = new Set(['GET', 'HEAD'])

/**
 * Starts the main HTTP server.
 * @throws {MetricsConfigError} for an empty metrics token
 * @throws the listen error (such as EADDRINUSE)
 */
export async function startHttp (init: HttpInit): Promise<Server> {
  const refusals = init.refusals ?? NO_REFUSALS
  const routes = new Map<string, Route>([
    ['/health', async (_req, res) => { sendJson(res, 200, await init.health()) }],
    ['/api/bootstrap', async (_req, res) => { sendJson(res, 200, await init.bootstrap()) }],
    ['/metrics', init.serveMetrics === false ? notFound : metricsRoute(init.registry, init.metricsToken, refusals)]
  ])
  const app = init.appDir === undefined ? undefined : staticApp(init.appDir)
  return await serve(init, (path) => routes.get(path) ?? init.directory?.(path) ?? init.hls?.(path) ??
    (app === undefined || path.startsWith('/api/') || path.startsWith('/hls/') ? undefined : async (req, res) => app(req, res, path)))
}

/**
 * Starts a server that answers only `/metrics`, to bind it apart from the public one.
 * @throws {MetricsConfigError} for an empty metrics token
 * @throws the listen error (such as EADDRINUSE)
 */
export async function startMetricsHttp (init: MetricsHttpInit): Promise<Server> {
  const metrics = metricsRoute(init.registry, init.metricsToken, init.refusals ?? NO_REFUSALS)
  return await serve(init, (path) => path === '/metrics' ? metrics : undefined)
}

/** Closes a server started here, with its open sockets. */
export async function stopHttp (server: Server): Promise<void> {
  server.closeAllConnections()
  await new Promise<void>((resolve) => { server.close(() => { resolve() }) })
}

export function sendJson (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-store', ...headers })
  res.end(text)
}

async function serve (init: MetricsHttpInit, router: Router): Promise<Server> {
  const limits: HttpLimits = { ...HTTP_LIMITS, ...init.limits }
  const refusals = init.refusals ?? NO_REFUSALS
  const refuse = (reason: string): void => { refusals.refuse('http', reason) }
  /** The response being written on each socket: a client error after its head was sent only closes the socket. */
  const inFlight = new WeakMap<Duplex, ServerResponse>()

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    inFlight.set(req.socket, res)
    res.once('close', () => { if (inFlight.get(req.socket) === res) inFlight.delete(req.socket) })
    // A stream piped into the response (a file of the app) that fails ends the response, not the process.
    res.once('pipe', (source: Readable) => {
      source.on('error', (err) => {
        refuse('error')
        log.error('reading the response to %j failed: %s', req.url, err.message)
        res.destroy()
      })
    })
    const path = requestPath(req.url)
    if (path === undefined) {
      refuse('bad-request')
      refuseAndClose(res, 400, 'malformed request target')
      return
    }
    // HTTP/1.1 requires a Host header (Node checks it too, but without counting the refusal).
    if (req.headers.host === undefined && req.httpVersion !== '1.0') {
      refuse('bad-request')
      refuseAndClose(res, 400, 'no host header')
      return
    }
    if (!READ_ONLY.has(req.method ?? '')) {
      refuse('method')
      res.setHeader('allow', 'GET, HEAD')
      refuseAndClose(res, 405, 'method not allowed')
      return
    }
    const route = router(path)
    if (route === undefined) {
      sendJson(res, 404, { error: 'not found' })
      return
    }
    Promise.resolve().then(async () => { await route(req, res) }).catch((err: unknown) => {
      refuse('error')
      log.error('%s failed: %s', path, err instanceof Error ? err.message : String(err))
      if (!res.headersSent) refuseAndClose(res, 500, 'internal error')
      else res.destroy()
    })
  }

  const server = createServer({
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    connectionsCheckingInterval: limits.timeoutCheckMs,
    maxHeaderSize: limits.maxHeaderBytes,
    // Checked in onRequest, where the refusal is counted.
    requireHostHeader: false
  }, onRequest)
  server.maxConnections = limits.maxConnections
  // A socket silent both ways this long is destroyed (no 'timeout' listener on the server).
  server.setTimeout(limits.socketIdleMs)
  // The request is answered before any body is asked for: a 405 never invites one.
  server.on('checkContinue', onRequest)
  server.on('checkExpectation', (_req: IncomingMessage, res: ServerResponse) => {
    refuse('bad-request')
    refuseAndClose(res, 417, 'unknown expectation')
  })
  server.on('drop', () => { refuse('too-many-connections') })

  const perHost = new Map<string, number>()
  const trusted = new Set(init.trustedProxies ?? [])
  server.on('connection', (socket: Socket) => {
    const host = socket.remoteAddress
    if (host === undefined) { socket.destroy(); return }
    const open = (perHost.get(host) ?? 0) + 1
    if (open > limits.maxConnectionsPerHost && !trusted.has(host.replace(/^::ffff:/, ''))) {
      refuse('too-many-connections-per-host')
      socket.destroy()
      return
    }
    perHost.set(host, open)
    socket.once('close', () => {
      const left = (perHost.get(host) ?? 1) - 1
      if (left > 0) perHost.set(host, left)
      else perHost.delete(host)
    })
  })

  // Requests the parser rejects, heads that do not arrive in time, and sockets that fail.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
      // The client went away: nothing to refuse.
      socket.destroy()
      return
    }
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400
    refuse(status === 408 ? 'timeout' : status === 431 ? 'headers-too-large' : 'bad-request')
    if (socket.writable && inFlight.get(socket)?.headersSent !== true) socket.write(rawResponse(status))
    socket.destroy()
  })
  // CONNECT is not a route either (without this listener Node drops the socket unanswered).
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    refuse('method')
    socket.on('error', () => { socket.destroy() })
    if (socket.writable) socket.write(rawResponse(405))
    socket.destroy()
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port, init.host, () => { server.off('error', reject); resolve() })
  })
  return server
}

/**
 * The path of a request target, or undefined when it is malformed: neither a
 * path nor an http(s) URL, a path that URL parsers read as a host (`//x`,
 * `/\x`), bad percent-encoding, or an encoded NUL.
 */
function requestPath (target: string | undefined): string | undefined {
  if (target === undefined) return undefined
  const isPath = target.startsWith('/')
  if (isPath && (target.startsWith('//') || target.includes('\\'))) return undefined
  let url: URL
  try {
    url = isPath ? new URL(target, 'http://relay') : new URL(target)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
    if (decodeURIComponent(url.pathname).includes('\0')) return undefined
  } catch {
    return undefined
  }
  return url.pathname
}

/** A JSON error that ends the connection: what it carried (a body, say) is not read. */
function refuseAndClose (res: ServerResponse, status: number, error: string): void {
  res.setHeader('connection', 'close')
  sendJson(res, status, { error })
}

const notFound: Route = async (_req, res) => { sendJson(res, 404, { error: 'not found' }) }

/** `/metrics`, behind a bearer token when one is given. */
function metricsRoute (registry: Registry, token: string | undefined, refusals: Refusals): Route {
  if (token === '') throw new MetricsConfigError('the metrics token is empty')
  const expected = token === undefined ? undefined : digest(token)
  return async (req, res) => {
    if (expected !== undefined && !hasToken(req.headers.authorization, expected)) {
      refusals.refuse('http', 'unauthorized')
      res.setHeader('www-authenticate', 'Bearer')
      sendJson(res, 401, { error: 'unauthorized' })
      return
    }
    const text = await registry.metrics()
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' })
    res.end(text)
  }
}

/** Whether `authorization` is `Bearer <the token>`, compared in constant time (as equal-length digests, so not even the length leaks). */
function hasToken (authorization: string | undefined, expected: Buffer): boolean {
  const given = /^Bearer +(\S+) *$/i.exec(authorization ?? '')?.[1]
  const same = timingSafeEqual(digest(given ?? ''), expected)
  return same && given !== undefined
}

function digest (text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

/** A whole response written straight to a socket that has no ServerResponse. */
function rawResponse (status: 400 | 405 | 408 | 431): string {
  const reasons = { 400: 'Bad Request', 405: 'Method Not Allowed', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' }
  const body = JSON.stringify({ error: reasons[status].toLowerCase() })
  return `HTTP/1.1 ${status} ${reasons[status]}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`
}
