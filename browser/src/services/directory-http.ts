/**
 * The directory over HTTP: a relay's `GET /api/stations` and
 * `GET /api/stations/<id>` (docs/directory.md), read without a libp2p node.
 * The relay's answer is distrusted: its size is capped while it is read,
 * then its shape is checked (decodeStationsPage), then every record is
 * verified in the page (signature, expiry and stamp). What fails is dropped
 * and counted, never shown. `listeners` and `firstSeen` are the relay's word.
 *
 * @example
 * ```ts
 * const directory = createDirectoryHttp({ beforeVerify: loadStampPolicy })
 * const page = await directory.list({ live: true, limit: 30 }, { signal })
 * render(page.stations)            // verified, in the relay's evidence order
 * const more = await directory.list({ cursor: page.next }, { signal })
 * const one = await directory.station(id, { signal })   // undefined when the relay has no valid record of it
 * ```
 */
import { decodeStationsPage, verifyManifest, verifyNowPlaying, type Manifest, type NowPlaying } from '@openstudio/protocol'
import type { AbortOptions } from './abort.ts'
import { DirectoryResponseError, DirectoryTooLargeError, DirectoryUnavailableError } from './directory-http-errors.ts'

export { DirectoryResponseError, DirectoryTooLargeError, DirectoryUnavailableError } from './directory-http-errors.ts'

export const DIRECTORY_HTTP_DEFAULTS = {
  /** Largest answer read: a page of 100 records is about 100 KB. */
  maxBytes: 1024 * 1024,
  /** Each request, its answer included, ends after this long. */
  timeoutMs: 10_000
} as const

/** What `GET /api/stations` is asked. Empty fields are left out. */
export interface StationsQuery {
  tag?: string
  language?: string
  country?: string
  /** Words of a name or tag; the last one may be a prefix. */
  text?: string
  /** Only stations on air now. */
  live?: boolean
  /** 1 to MAX_STATIONS_PAGE; the relay's default is 30. */
  limit?: number
  /** The `next` of the page before. */
  cursor?: string
}

/** A station the page verified, with what the relay says of it. */
export interface HttpStation {
  manifest: Manifest
  /** The signed record it was verified from. */
  record: Uint8Array
  /** Listeners, as a relay the station lists reported them to this relay (the relay's word). */
  listeners: number
  /** When this relay first heard of the station, Unix ms (the relay's word). */
  firstSeen: number
  /** The station's newest now-playing title, when the relay had one and its signature verified here. */
  nowPlaying?: NowPlaying
}

export interface HttpStationsPage {
  /** The stations that verified, in the relay's order. */
  stations: HttpStation[]
  /** The cursor of the next page, when there is one. */
  next?: string
  /** How many stations match, as the relay counts them. */
  total: number
  /** Records of this page that failed verification and were dropped. */
  rejected: number
}

export interface ListOptions extends AbortOptions {
  /**
   * Skips the browser's cache (answers may be kept for a few seconds): what the relay holds now.
   * @default false
   */
  fresh?: boolean
}

export interface DirectoryHttpInit {
  /**
   * Where the relay is: an origin such as `https://relay.example`.
   * @default '' (the page's origin)
   */
  base?: string
  /** @default globalThis.fetch */
  fetch?: typeof fetch
  /**
   * Runs before records are verified: the page's stamp policy (loadStampPolicy).
   * @default nothing: the stamp bits already required
   */
  beforeVerify?: (options: AbortOptions) => Promise<void>
  /** @default Date.now */
  now?: () => number
  /** @default DIRECTORY_HTTP_DEFAULTS.maxBytes */
  maxBytes?: number
  /** @default DIRECTORY_HTTP_DEFAULTS.timeoutMs */
  timeoutMs?: number
}

export class DirectoryHttp {
  private readonly base: string
  private readonly fetch: typeof fetch
  private readonly beforeVerify: (options: AbortOptions) => Promise<void>
  private readonly now: () => number
  private readonly maxBytes: number
  private readonly timeoutMs: number

  constructor (init: DirectoryHttpInit = {}) {
    this.base = init.base ?? ''
    this.fetch = init.fetch ?? globalThis.fetch.bind(globalThis)
    this.beforeVerify = init.beforeVerify ?? (async () => {})
    this.now = init.now ?? Date.now
    this.maxBytes = init.maxBytes ?? DIRECTORY_HTTP_DEFAULTS.maxBytes
    this.timeoutMs = init.timeoutMs ?? DIRECTORY_HTTP_DEFAULTS.timeoutMs
  }

  /**
   * A page of the relay's directory, verified.
   * @throws {DirectoryUnavailableError} when the request fails or the relay answers an error status (404: no directory API)
   * @throws {DirectoryTooLargeError | DirectoryResponseError} when the answer is too large, or not a stations page
   * @throws {TimeoutError} when the answer took longer than `timeoutMs`; the signal's reason when it aborts
   */
  async list (query: StationsQuery = {}, options: ListOptions = {}): Promise<HttpStationsPage> {
    const params = new URLSearchParams()
    const set = (name: string, value: string | number | undefined): void => {
      if (value !== undefined && value !== '') params.set(name, String(value))
    }
    set('tag', query.tag)
    set('language', query.language)
    set('country', query.country)
    set('q', query.text?.trim())
    if (query.live === true) params.set('live', '1')
    set('limit', query.limit)
    set('cursor', query.cursor)
    const search = params.toString()
    const json = await this.get(`/api/stations${search === '' ? '' : `?${search}`}`, options)
    return await this.verify(json, undefined, options)
  }

  /**
   * One station, verified as the station asked for.
   * @returns undefined when the relay holds no record of it (404), or none that verifies
   * @throws as `list` does
   */
  async station (stationId: string, options: AbortOptions = {}): Promise<HttpStation | undefined> {
    const json = await this.get(`/api/stations/${encodeURIComponent(stationId)}`, options, { notFound: true })
    if (json === undefined) return undefined
    const page = await this.verify(json, stationId, options)
    return page.stations[0]
  }

  /** The JSON of an answer, its size capped; undefined for a 404 when `notFound` allows it. */
  private async get (path: string, options: ListOptions, allow: { notFound?: boolean } = {}): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.timeoutMs)
    const signal = options.signal === undefined ? timeout : AbortSignal.any([options.signal, timeout])
    let res: Response
    try {
      res = await this.fetch(`${this.base}${path}`, { signal, headers: { accept: 'application/json' }, ...(options.fresh === true ? { cache: 'no-cache' } : {}) })
    } catch (err) {
      throw signal.aborted ? signal.reason : new DirectoryUnavailableError(`the request failed: ${(err as Error).message}`)
    }
    if (res.status === 404 && allow.notFound === true) {
      await res.body?.cancel()
      return undefined
    }
    if (!res.ok) {
      await res.body?.cancel()
      throw new DirectoryUnavailableError(`the relay answered ${res.status}`, res.status)
    }
    const text = await readCapped(res, this.maxBytes, signal)
    try {
      return JSON.parse(text)
    } catch {
      throw new DirectoryResponseError('the answer is not JSON')
    }
  }

  /** The page's records that verify (for `stationId` when given), with the rest counted. */
  private async verify (json: unknown, stationId: string | undefined, options: AbortOptions): Promise<HttpStationsPage> {
    let page
    try {
      page = decodeStationsPage(json)
    } catch (err) {
      throw new DirectoryResponseError(`the answer is not a stations page: ${(err as Error).message}`)
    }
    await this.beforeVerify(options)
    const now = this.now()
    const stations: HttpStation[] = []
    for (const item of page.stations) {
      const result = verifyManifest(item.record, { now, stationId })
      if (!result.ok) continue
      // A title that does not verify is dropped, not the station: the station's record stands on its own.
      const heard = item.nowPlaying === undefined ? undefined : verifyNowPlaying(item.nowPlaying, now)
      const nowPlaying = heard?.ok === true && heard.value.station === result.value.id ? heard.value : undefined
      stations.push({ manifest: result.value, record: item.record, listeners: item.listeners, firstSeen: item.firstSeen, ...(nowPlaying === undefined ? {} : { nowPlaying }) })
    }
    return { stations, next: page.next, total: page.total, rejected: page.stations.length - stations.length }
  }
}

export function createDirectoryHttp (init: DirectoryHttpInit = {}): DirectoryHttp {
  return new DirectoryHttp(init)
}

/**
 * The body as text, read no further than `max` bytes.
 * @throws {DirectoryTooLargeError} when it is longer (or says it is)
 */
async function readCapped (res: Response, max: number, signal: AbortSignal): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? 0)
  if (declared > max) {
    await res.body?.cancel()
    throw new DirectoryTooLargeError(`the answer is ${declared} bytes; at most ${max} are read`)
  }
  if (res.body === null) return ''
  const reader = res.body.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      length += value.byteLength
      if (length > max) {
        await reader.cancel()
        throw new DirectoryTooLargeError(`the answer is over ${max} bytes`)
      }
      chunks.push(value)
    }
  } catch (err) {
    if (err instanceof DirectoryTooLargeError) throw err
    throw signal.aborted ? signal.reason : new DirectoryUnavailableError(`the answer broke off: ${(err as Error).message}`)
  }
  const bytes = new Uint8Array(length)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  return new TextDecoder().decode(bytes)
}
