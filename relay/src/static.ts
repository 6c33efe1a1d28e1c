/**
 * Serves the built web app from a directory: exact files with their types,
 * long-lived caching for hashed assets, and `index.html` for every other
 * path (the app routes in the browser). Paths never leave the directory.
 */
import { createReadStream } from 'node:fs'
import { stat } from 'node:fs/promises'
import { extname, join, normalize, sep } from 'node:path'
import type { IncomingMessage, ServerResponse } from 'node:http'

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
  '.wasm': 'application/wasm',
  '.txt': 'text/plain; charset=utf-8'
}

/** Security headers for every page of the app. */
const HEADERS = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY'
}

export function staticApp (root: string): (req: IncomingMessage, res: ServerResponse, path: string) => Promise<void> {
  const base = normalize(root + sep)
  return async (req, res, path) => {
    let file = normalize(join(base, decodeURIComponent(path)))
    if (!file.startsWith(base)) file = join(base, 'index.html')
    let info = await stat(file).catch(() => undefined)
    if (info === undefined || info.isDirectory()) {
      file = join(base, 'index.html')
      info = await stat(file).catch(() => undefined)
    }
    if (info === undefined) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' })
      res.end('the web app is not built: run `npm run build -w browser`\n')
      return
    }
    const hashed = file.includes(`${sep}assets${sep}`)
    res.writeHead(200, {
      ...HEADERS,
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': hashed ? 'public, max-age=31536000, immutable' : 'no-cache'
    })
    if (req.method === 'HEAD') {
      res.end()
      return
    }
    createReadStream(file).pipe(res)
  }
}
