/**
 * Serves the program's HLS rendition under `/hls/`: the playlist and the
 * segments ffmpeg writes into one directory, and nothing else. A name must be
 * `<letters, digits, dashes>.m3u8` or `.ts` (ffmpeg's temporary files never
 * match), and a file larger than HLS_LIMITS.maxFileBytes is not sent.
 *
 * Caching is what lets a CDN or any caching proxy fan the stream out
 * (docs/icecast.md, "HLS"): the playlist changes with every segment, so it
 * may be cached for half a segment at most; a segment's name is never used
 * twice (its sequence number comes from the clock), so it is immutable.
 */
import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Route, Router } from './http.ts'

export const HLS_LIMITS = {
  /** A 2 s segment at 320 kb/s is 80 kB; the playlist a few hundred bytes. */
  maxFileBytes: 1024 * 1024
} as const

const NAME = /^[a-z0-9][a-z0-9-]{0,80}\.(m3u8|ts)$/

const CORS = { 'access-control-allow-origin': '*', 'x-content-type-options': 'nosniff' }

/** The routes under `/hls/`, reading from `dir`. */
export function hlsRouter (dir: string): Router {
  return (path) => {
    if (!path.startsWith('/hls/')) return undefined
    const name = path.slice('/hls/'.length)
    const match = NAME.exec(name)
    return match === null ? notFound : serveFile(join(dir, name), match[1] === 'm3u8')
  }
}

function serveFile (file: string, playlist: boolean): Route {
  return async (req, res) => {
    const info = await stat(file).catch(() => undefined)
    if (info === undefined || !info.isFile() || info.size > HLS_LIMITS.maxFileBytes) {
      await notFound(req, res)
      return
    }
    // Read whole (a playlist is renamed into place, a segment written once): what is sent is one version.
    const body = await readFile(file).catch(() => undefined)
    if (body === undefined) {
      await notFound(req, res)
      return
    }
    res.writeHead(200, {
      ...CORS,
      'content-type': playlist ? 'application/vnd.apple.mpegurl' : 'video/mp2t',
      'content-length': body.length,
      'cache-control': playlist ? 'public, max-age=1' : 'public, max-age=86400, immutable'
    })
    res.end(req.method === 'HEAD' ? undefined : body)
  }
}

const notFound: Route = async (_req, res) => {
  res.writeHead(404, { ...CORS, 'content-type': 'text/plain; charset=utf-8', 'cache-control': 'no-store' })
  res.end('no such HLS file: the show may be off air\n')
}
