/**
 * The Icecast source client against a scripted Icecast on loopback: what it
 * sends (a plain, never chunked PUT with clean Ice-* headers, then the stream
 * headers and the audio), how it answers a refusal, how it replays after a
 * dropped connection, and how its ring buffer stays bounded.
 */
import { createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { IcecastSource, type SourceStatus } from '../src/index.ts'

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
})
