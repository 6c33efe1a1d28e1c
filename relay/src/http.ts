/**
 * The relay's HTTP server: `/health` (JSON) and `/metrics` (Prometheus). Later
 * issues serve the web app here too.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { logger } from '@libp2p/logger'
import type { Registry } from 'prom-client'
import { staticApp } from './static.ts'

const log = logger('openstudio:relay:http')

export interface HttpInit {
  host: string
  port: number
  health: () => Promise<unknown>
  /** What `/api/bootstrap` answers: how a browser joins the network. */
  bootstrap: () => Promise<unknown>
  registry: Registry
  /** Directory of the built web app. @default no app */
  appDir?: string
}

export type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>

export async function startHttp (init: HttpInit): Promise<Server> {
  const routes: Record<string, Route> = {
    '/health': async (_req, res) => {
      sendJson(res, 200, await init.health())
    },
    '/api/bootstrap': async (_req, res) => {
      sendJson(res, 200, await init.bootstrap())
    },
    '/metrics': async (_req, res) => {
      res.writeHead(200, { 'content-type': init.registry.contentType })
      res.end(await init.registry.metrics())
    }
  }
  const app = init.appDir === undefined ? undefined : staticApp(init.appDir)
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://relay').pathname
    const readOnly = req.method === 'GET' || req.method === 'HEAD'
    const route: Route | undefined = !readOnly
      ? undefined
      : routes[path] ?? (app === undefined || path.startsWith('/api/') ? undefined : async (q, r) => app(q, r, path))
    if (route === undefined) {
      sendJson(res, readOnly ? 404 : 405, { error: readOnly ? 'not found' : 'method not allowed' })
      return
    }
    route(req, res).catch((err: Error) => {
      log.error('%s failed: %s', path, err.message)
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' })
      else res.destroy()
    })
  })
  server.headersTimeout = 10_000
  server.requestTimeout = 30_000
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port, init.host, () => { server.off('error', reject); resolve() })
  })
  return server
}

export function sendJson (res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(text)
}
