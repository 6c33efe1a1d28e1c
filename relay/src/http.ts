/**
 * The relay's HTTP server: `/health` (JSON) and `/metrics` (Prometheus). Later
 * issues serve the web app here too.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { logger } from '@libp2p/logger'
import type { Registry } from 'prom-client'

const log = logger('openstudio:relay:http')

export interface HttpInit {
  host: string
  port: number
  health: () => Promise<unknown>
  registry: Registry
}

export type Route = (req: IncomingMessage, res: ServerResponse) => Promise<void>

export async function startHttp (init: HttpInit): Promise<Server> {
  const routes: Record<string, Route> = {
    '/health': async (_req, res) => {
      sendJson(res, 200, await init.health())
    },
    '/metrics': async (_req, res) => {
      res.writeHead(200, { 'content-type': init.registry.contentType })
      res.end(await init.registry.metrics())
    }
  }
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://relay').pathname
    const route = req.method === 'GET' || req.method === 'HEAD' ? routes[path] : undefined
    if (route === undefined) {
      sendJson(res, 404, { error: 'not found' })
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
