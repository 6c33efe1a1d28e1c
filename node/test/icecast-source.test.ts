/**
 * The Icecast source client against a scripted Icecast on loopback: what it
 * sends (a plain, never chunked PUT with clean Ice-* headers, then the stream
 * headers and the audio), how it answers a refusal, how it replays after a
 * dropped connection, and how its ring buffer stays bounded, by time and by
 * bytes.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { ICECAST_SOURCE_DEFAULTS, IcecastSource, type SourceStatus } from '../src/index.ts'

interface Connection { socket: Socket, head: string, body: Buffer }

/** A fake Icecast: answers every PUT with `answer`, and records what each connection sent. */
async function fakeIcecast (answer: string): Promise<{ server: Server, url: string, connections: Connection[] }> {
  const connections: Connection[] = []
  const server = createServer((socket) => {
    const connection: Connection = { socket, head: '', body: Buffer.alloc(0) }
    connections.push(connection)
    let buffer = Buffer.alloc(0)
    socket.on('data', (chunk: Buffer) => {
      if (connection.head !== '') { connection.body = Buffer.concat([connection.body, chunk]); return }
      buffer = Buffer.concat([buffer, chunk])
      const end = buffer.indexOf('\r\n\r\n')
      if (end < 0) return
      connection.head = buffer.subarray(0, end).toString()
      connection.body = buffer.subarray(end + 4)
      socket.write(answer)
      if (!answer.startsWith('HTTP/1.0 200')) socket.end()
    })
    socket.on('error', () => {})
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address() as { port: number }
  return { server, url: `http://127.0.0.1:${address.port}`, connections }
}

async function until (what: string, check: () => boolean): Promise<void> {
  const deadline = Date.now() + 5_000
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setImmediate(resolve))
  }
}

describe('Icecast source client', () => {
  const cleanup: Array<() => Promise<void> | void> = []
  afterEach(async () => { for (const fn of cleanup.splice(0)) await fn() })

  const source = (url: string, extra: Partial<ConstructorParameters<typeof IcecastSource>[0]> = {}): IcecastSource => {
    const s = new IcecastSource({ url, mount: '/live.ogg', password: 'hackme', contentType: 'audio/ogg', backoffInitialMs: 10, backoffMaxMs: 20, ...extra })
    cleanup.push(async () => { await s.stop() })
    return s
  }

  it('sends a plain PUT with a bare type and clean Ice-* headers, then the stream headers, then the audio', async () => {
    const ice = await fakeIcecast('HTTP/1.0 200 OK\r\n\r\n')
    cleanup.push(() => { ice.server.close() })
    const s = source(ice.url, { headers: { name: 'Radio\r\nX-Injected: 1', description: 'Talk, über alles', public: false, audioInfo: 'channels=2;samplerate=48000;bitrate=96' } })
    s.setStreamHeaders([Buffer.from('HEAD')])
    s.push(Buffer.from('one'), 10)
    s.start()
    await until('the audio', () => ice.connections[0]?.body.toString() === 'HEADone')
    s.push(Buffer.from('two'), 10)
    await until('more audio', () => ice.connections[0]?.body.toString() === 'HEADonetwo')
    const head = ice.connections[0]?.head ?? ''
    expect(head).toMatch(/^PUT \/live\.ogg HTTP\/1\.1\r\n/)
    expect(head).toContain(`Authorization: Basic ${Buffer.from('source:hackme').toString('base64')}`)
    expect(head).toContain('\r\nContent-Type: audio/ogg\r\n')
    expect(head).not.toMatch(/Transfer-Encoding|chunked/i)
    expect(head).toContain('\r\nIce-Name: Radio X-Injected: 1\r\n')
    expect(head).not.toContain('\r\nX-Injected')
    expect(head).toContain('Ice-Description: Talk, über alles')
    expect(head).toContain('Ice-Public: 0')
    expect(s.status.state).toBe('connected')
  })

  it('reports a refusal as failed, with the reason, and keeps trying', async () => {
    const ice = await fakeIcecast('HTTP/1.0 401 Authentication Required\r\n\r\n')
    cleanup.push(() => { ice.server.close() })
    const s = source(ice.url)
    const states: SourceStatus[] = []
    s.addEventListener('status:change', (e) => { states.push(e.detail) })
    s.start()
    await until('three attempts', () => ice.connections.length >= 3)
    expect(s.status.state).toBe('failed')
    expect(s.status.error).toBe('Icecast refused the source: 401 Authentication Required')
    expect(states.some((st) => st.state === 'connected')).toBe(false)
  })

  it('after a dropped connection, reconnects, sends the stream headers again, and replays what came in meanwhile', async () => {
    const ice = await fakeIcecast('HTTP/1.0 200 OK\r\n\r\n')
    cleanup.push(() => { ice.server.close() })
    const s = source(ice.url, { replayOverlapMs: 0 })
    s.setStreamHeaders([Buffer.from('H')])
    s.start()
    s.push(Buffer.from('a'), 10)
    await until('the first audio', () => ice.connections[0]?.body.toString() === 'Ha')
    ice.connections[0]?.socket.destroy()
    await until('the source to notice', () => s.status.state === 'reconnecting' || ice.connections.length > 1)
    s.push(Buffer.from('b'), 10)
    s.push(Buffer.from('c'), 10)
    await until('the replay', () => ice.connections[1]?.body.toString() === 'Hbc')
    await until('the reconnect to count', () => s.status.reconnects === 1)
  })

  it('keeps at most bufferMs of audio while Icecast is away, and counts what it had to drop', () => {
    const s = source('http://127.0.0.1:9', { bufferMs: 30_000 })
    for (let i = 0; i < 4000; i++) s.push(new Uint8Array(100), 10)
    expect(s.status.bufferedMs).toBeLessThanOrEqual(30_000)
    expect(s.status.backlogMs).toBe(s.status.bufferedMs)
    expect(s.status.lostMs).toBe(10_000)
    expect(s.status.bytesIn).toBe(400_000)
  })

  /** A page of `size` bytes, each `n`, so that Icecast's copy tells which pages reached it. */
  const page = (n: number, size = 1000): Uint8Array => new Uint8Array(size).fill(n % 256)
  /** The memory `n` pages of `size` bytes cost the ring. */
  const cost = (n: number, size = 1000): number => n * (size + ICECAST_SOURCE_DEFAULTS.unitOverheadBytes)

  it('holds at most bufferBytes of pages that claim no time (a granule that never advances), drops the oldest first, and counts them lost', async () => {
    const ice = await fakeIcecast('HTTP/1.0 200 OK\r\n\r\n')
    cleanup.push(() => { ice.server.close() })
    const s = source(ice.url, { bufferBytes: cost(10) })
    for (let i = 0; i < 100; i++) s.push(page(i), 0)
    expect(s.status).toMatchObject({ bytesIn: 100_000, bufferedBytes: 10_000, bufferedMs: 0, backlogMs: 0, lostBytes: 90_000, lostMs: 0 })
    s.start()
    await until('the ring at Icecast', () => ice.connections[0]?.body.length === 10_000)
    // The newest ten pages, in order.
    expect(ice.connections[0]?.body).toEqual(Buffer.concat(Array.from({ length: 10 }, (_, i) => page(90 + i))))
    expect(s.status).toMatchObject({ bytesOut: 10_000, bufferedBytes: 10_000, lostBytes: 90_000 })
  })

  it('counts the audio of pages dropped for bytes as lost, as it does for an outage longer than the buffer', () => {
    const s = source('http://127.0.0.1:9', { bufferMs: 30_000, bufferBytes: cost(10) })
    for (let i = 0; i < 100; i++) s.push(page(i), 10)
    expect(s.status).toMatchObject({ bufferedBytes: 10_000, bufferedMs: 100, backlogMs: 100, lostBytes: 90_000, lostMs: 900 })
  })

  it('bounds its memory by default in proportion to bufferMs, however small the pages', () => {
    const s = source('http://127.0.0.1:9', { bufferMs: 1_000 })
    const max = 1_000 * ICECAST_SOURCE_DEFAULTS.bufferBytesPerSecond / 1000
    for (let i = 0; i < 10_000; i++) s.push(page(i, 30), 0)
    const held = s.status.bufferedBytes / 30
    expect(cost(held, 30)).toBeLessThanOrEqual(max)
    expect(cost(held + 1, 30)).toBeGreaterThan(max)
    expect(s.status.lostBytes).toBe(300_000 - s.status.bufferedBytes)
  })

  it('keeps the backlog within bufferBytes while Icecast is connected but takes nothing', async () => {
    const ice = await fakeIcecast('HTTP/1.0 200 OK\r\n\r\n')
    cleanup.push(() => { ice.server.close() })
    const s = source(ice.url, { bufferBytes: cost(64) })
    s.start()
    await until('the connection', () => s.status.state === 'connected' && ice.connections[0] !== undefined)
    ice.connections[0]?.socket.pause()
    // More than the kernel's socket buffers take, so the rest waits in the ring.
    const one = page(1)
    for (let i = 0; i < 32_000; i++) s.push(one, 0)
    const { bytesIn, bytesOut, bufferedBytes, lostBytes } = s.status
    expect(bufferedBytes).toBeLessThanOrEqual(64_000)
    expect(lostBytes).toBeGreaterThan(0)
    // Every byte was sent, is waiting in the ring, or was counted lost.
    expect(bytesOut + lostBytes).toBeLessThanOrEqual(bytesIn)
    expect(bytesOut + lostBytes + bufferedBytes).toBeGreaterThanOrEqual(bytesIn)
    ice.connections[0]?.socket.destroy()
  })
})
