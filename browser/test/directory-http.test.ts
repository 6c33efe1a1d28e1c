import { afterEach, describe, expect, it } from 'vitest'
import { requireStampBits } from '@openstudio/protocol'
import { createDirectoryHttp, type DirectoryHttpInit } from '../src/services/directory-http.ts'
import { pageJson, signedStation, type SignedStation } from './fakes/directory-relay.ts'

/** A fetch that answers each request with `answer(url)`, and keeps the URLs asked. */
function fakeFetch (answer: (url: string, init?: RequestInit) => Response | Promise<Response>): { fetch: typeof fetch, urls: string[], inits: Array<RequestInit | undefined> } {
  const urls: string[] = []
  const inits: Array<RequestInit | undefined> = []
  const fetch = async (input: RequestInfo | URL, init?: RequestInit): Promise<Response> => {
    urls.push(String(input))
    inits.push(init)
    init?.signal?.throwIfAborted()
    return await answer(String(input), init)
  }
  return { fetch: fetch as typeof globalThis.fetch, urls, inits }
}

const json = (body: string, status = 200): Response => new Response(body, { status, headers: { 'content-type': 'application/json' } })

/** A record whose signature no longer matches: one byte of the signature flipped. */
function forged (station: SignedStation): SignedStation {
  const record = Uint8Array.from(station.record)
  record[record.length - 20] = (record[record.length - 20] as number) ^ 0x01
  return { ...station, record }
}

const client = (answer: Parameters<typeof fakeFetch>[0], init: DirectoryHttpInit = {}): ReturnType<typeof fakeFetch> & { http: ReturnType<typeof createDirectoryHttp> } => {
  const fake = fakeFetch(answer)
  return { ...fake, http: createDirectoryHttp({ base: 'https://relay.example', fetch: fake.fetch, ...init }) }
}

afterEach(() => { requireStampBits(0) })

describe('the directory over HTTP', () => {
  it('lists the verified stations in the relay order, with its listeners, cursor and total', async () => {
    const a = signedStation('Alpha FM')
    const b = signedStation('Beta Talk')
    const { http, urls } = client(() => json(pageJson([{ ...b, listeners: 4 }, a], { next: 'c30', total: 57 })))
    const page = await http.list()
    expect(urls).toEqual(['https://relay.example/api/stations'])
    expect(page.stations.map((s) => s.manifest.name)).toEqual(['Beta Talk', 'Alpha FM'])
    expect(page.stations[0]).toMatchObject({ listeners: 4, firstSeen: 1, record: b.record })
    expect(page).toMatchObject({ next: 'c30', total: 57, rejected: 0 })
  })

  it('sends the query, leaving out what is empty; a fresh list skips the browser cache', async () => {
    const { http, urls, inits } = client(() => json(pageJson([])))
    await http.list({ tag: 'talk', language: '', text: ' jazz night ', live: true, limit: 30, cursor: 'c30' })
    await http.list({ live: false }, { fresh: true })
    const asked = new URL(urls[0] as string)
    expect(Object.fromEntries(asked.searchParams)).toEqual({ tag: 'talk', q: 'jazz night', live: '1', limit: '30', cursor: 'c30' })
    expect(urls[1]).toBe('https://relay.example/api/stations')
    expect(inits.map((i) => i?.cache)).toEqual([undefined, 'no-cache'])
  })

  it('drops and counts records that fail verification: forged, expired, or of another station', async () => {
    const good = signedStation('Honest Radio')
    const old = signedStation('Old Radio', { now: Date.now() - 30 * 24 * 3600_000 })
    const { http } = client(() => json(pageJson([forged(signedStation('Forged FM')), good, old])))
    const page = await http.list()
    expect(page.stations.map((s) => s.manifest.name)).toEqual(['Honest Radio'])
    expect(page.rejected).toBe(2)

    const other = signedStation('Someone Else')
    const one = client(() => json(pageJson([other])))
    expect(await one.http.station(good.key.id)).toBeUndefined()
    expect(one.urls).toEqual([`https://relay.example/api/stations/${good.key.id}`])
  })

  it('applies the stamp policy before it verifies: records without the work asked for are dropped', async () => {
    const station = signedStation('Cheap Key')
    let asked = 0
    const { http } = client(() => json(pageJson([station])), {
      beforeVerify: async () => {
        asked++
        requireStampBits(20)
      }
    })
    const page = await http.list()
    expect(asked).toBe(1)
    expect(page).toMatchObject({ stations: [], rejected: 1 })
  })

  it('pages with the cursor the relay gave', async () => {
    const stations = [signedStation('One'), signedStation('Two'), signedStation('Three')]
    const { http, urls } = client((url) => {
      const cursor = new URL(url).searchParams.get('cursor')
      return json(cursor === null ? pageJson(stations.slice(0, 2), { next: 'p2', total: 3 }) : pageJson(stations.slice(2), { total: 3 }))
    })
    const first = await http.list({ limit: 2 })
    const second = await http.list({ limit: 2, cursor: first.next })
    expect([...first.stations, ...second.stations].map((s) => s.manifest.name)).toEqual(['One', 'Two', 'Three'])
    expect(second.next).toBeUndefined()
    expect(new URL(urls[1] as string).searchParams.get('cursor')).toBe('p2')
  })

  it('finds one station, verified as the one asked for; a 404 is no station', async () => {
    const station = signedStation('Solo Radio')
    const { http } = client((url) => url.endsWith(station.key.id) ? json(pageJson([station])) : json('{"error":"no such station here"}', 404))
    expect((await http.station(station.key.id))?.manifest.name).toBe('Solo Radio')
    expect(await http.station(signedStation('Elsewhere').key.id)).toBeUndefined()
  })

  it('refuses what is not a stations page: bad JSON, the wrong shape, or too many bytes', async () => {
    await expect(client(() => json('{"stations": [')).http.list()).rejects.toHaveProperty('name', 'DirectoryResponseError')
    await expect(client(() => json('{"stations": "all of them"}')).http.list()).rejects.toHaveProperty('name', 'DirectoryResponseError')
    await expect(client(() => json('[]')).http.station(signedStation('X').key.id)).rejects.toHaveProperty('name', 'DirectoryResponseError')
    // Too large by its own account, and too large as it streams in with no length given.
    const declared = new Response('{}', { headers: { 'content-length': String(2 * 1024 * 1024) } })
    await expect(client(() => declared).http.list()).rejects.toHaveProperty('name', 'DirectoryTooLargeError')
    const big = new Uint8Array(64 * 1024).fill(0x20)
    const streamed = (): Response => new Response(new ReadableStream({
      pull: (controller) => { controller.enqueue(big) }
    }))
    await expect(client(streamed, { maxBytes: 256 * 1024 }).http.list()).rejects.toHaveProperty('name', 'DirectoryTooLargeError')
  })

  it('says the API is unavailable for an error status (404: an older relay) or a failed request', async () => {
    const missing = client(() => json('not found', 404)).http.list()
    await expect(missing).rejects.toMatchObject({ name: 'DirectoryUnavailableError', status: 404 })
    await expect(client(() => { throw new TypeError('network down') }).http.list()).rejects.toHaveProperty('name', 'DirectoryUnavailableError')
    await expect(client(() => json('oops', 500)).http.station(signedStation('Y').key.id)).rejects.toMatchObject({ status: 500 })
  })

  it('gives up after its timeout, and when the caller aborts', async () => {
    const never = (_url: string, init?: RequestInit): Promise<Response> => new Promise((_resolve, reject) => {
      init?.signal?.addEventListener('abort', () => { reject(init.signal?.reason) })
    })
    await expect(client(never, { timeoutMs: 10 }).http.list()).rejects.toHaveProperty('name', 'TimeoutError')
    const controller = new AbortController()
    const asked = client(never).http.list({}, { signal: controller.signal })
    controller.abort(new Error('left the page'))
    await expect(asked).rejects.toThrow('left the page')
  })
})
