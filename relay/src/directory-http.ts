/**
 * The relay's directory over HTTP, for pages that list and play without a
 * libp2p node (docs/directory.md):
 *
 * - `GET /api/stations?tag=&language=&country=&q=&live=1&limit=&cursor=`: a
 *   page of the index in evidence order (protocol's StationsPage);
 * - `GET /api/stations/<station id>`: one station, as a page of one.
 *
 * Every answer is signed records that the page verifies itself, so any
 * origin may ask (CORS `*`), and a cache or CDN may keep an answer for a few
 * seconds: on-air state is fresh to within LIVE_CLAIM_REFRESH_MS anyway.
 * A query costs at most tens of milliseconds over 50,000 stations; one host
 * may ask QUERIES_PER_HOST per window (a trusted proxy's clients are not
 * counted here), and past it gets 429.
 */
import { encodeStationsPage, isStationId, MAX_STATIONS_PAGE, type StationsPage } from '@openstudio/protocol'
import { InvalidQueryError, type IndexedStation, type StationIndex, type StationQuery } from './station-index.ts'
import { sendJson, type Route, type Router } from './http.ts'
import { PeerRateLimiter } from './rate-limit.ts'
import type { Refusals } from './refusals.ts'
import type { IncomingMessage, ServerResponse } from 'node:http'

/** How long a cache may keep an answer, in seconds. */
const MAX_AGE_S = 5
const HEADERS = { 'access-control-allow-origin': '*', 'cache-control': `public, max-age=${MAX_AGE_S}` }

/** Requests to /api/stations one host may make per QUERY_WINDOW_MS. */
export const QUERIES_PER_HOST = 120
const QUERY_WINDOW_MS = 10_000

export interface DirectoryRoutesInit {
  refusals: Refusals
  /** Addresses whose requests are not counted (a reverse proxy in front). */
  trustedProxies?: string[]
}

/** The routes under /api/stations. */
export function directoryRoutes (index: Pick<StationIndex, 'query' | 'get'>, init: DirectoryRoutesInit): Router {
  const limiter = new PeerRateLimiter(QUERIES_PER_HOST, QUERY_WINDOW_MS, 10_000)
  const trusted = new Set(init.trustedProxies ?? [])
  const limited = (route: Route): Route => async (req, res) => {
    const host = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '')
    if (!trusted.has(host) && !limiter.take(host, Date.now())) {
      init.refusals.refuse('http', 'directory-rate-limited')
      sendJson(res, 429, { error: 'too many directory requests from this address; try again in a few seconds' }, { ...HEADERS, 'retry-after': String(QUERY_WINDOW_MS / 1000) })
      return
    }
    await route(req, res)
  }
  return (path) => {
    const route = directoryRoute(index, path)
    return route === undefined ? undefined : limited(route)
  }
}

/** The route for a path under /api/stations, or undefined when there is none. */
function directoryRoute (index: Pick<StationIndex, 'query' | 'get'>, path: string): Route | undefined {
  if (path === '/api/stations') return async (req, res) => { list(index, req, res) }
  const id = path.startsWith('/api/stations/') ? path.slice('/api/stations/'.length) : undefined
  if (id === undefined) return undefined
  return async (_req, res) => {
    const station = isStationId(id) ? index.get(id) : undefined
    if (station === undefined) {
      sendJson(res, 404, { error: 'no such station here' }, HEADERS)
      return
    }
    sendJson(res, 200, encodeStationsPage({ stations: [pageItem(station)], total: 1 }), HEADERS)
  }
}

function list (index: Pick<StationIndex, 'query'>, req: IncomingMessage, res: ServerResponse): void {
  const params = new URL(req.url ?? '/', 'http://relay').searchParams
  let query: StationQuery
  try {
    query = parseQuery(params)
    const page = index.query(query)
    sendJson(res, 200, encodeStationsPage({ stations: page.stations.map(pageItem), next: page.next, total: page.total }), HEADERS)
  } catch (err) {
    if (!(err instanceof InvalidQueryError)) throw err
    sendJson(res, 400, { error: err.message }, HEADERS)
  }
}

/** @throws {InvalidQueryError} */
function parseQuery (params: URLSearchParams): StationQuery {
  const one = (name: string): string | undefined => {
    const values = params.getAll(name)
    if (values.length > 1) throw new InvalidQueryError(`${name} given more than once`)
    return values[0] === '' ? undefined : values[0]
  }
  const limit = one('limit')
  const live = one('live')
  if (live !== undefined && live !== '1' && live !== '0') throw new InvalidQueryError('live is 1 or 0')
  if (limit !== undefined && !/^\d{1,3}$/.test(limit)) throw new InvalidQueryError(`limit must be 1 to ${MAX_STATIONS_PAGE}`)
  return {
    tag: one('tag'),
    language: one('language'),
    country: one('country'),
    text: one('q'),
    live: live === '1',
    limit: limit === undefined ? undefined : Number(limit),
    cursor: one('cursor')
  }
}

function pageItem (station: IndexedStation): StationsPage['stations'][number] {
  const { record, listeners, firstSeen, nowPlaying } = station
  return { record, listeners, firstSeen, ...(nowPlaying === undefined ? {} : { nowPlaying: nowPlaying.statement }) }
}
