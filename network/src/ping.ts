/**
 * `/openstudio/ping/1`: a station answers a small payload with the same bytes.
 * Callers use it to prove that a dial by key reached the station and to time
 * the round trip. It runs over relayed (limited) connections too.
 */
import { PROTOCOL } from '@openstudio/protocol'
import type { Connection, Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** Largest ping payload; a longer one is cut off and the stream closed. */
export const PING_MAX_BYTES = 64
export const PING_TIMEOUT_MS = 10_000

/**
 * Registers the echo handler on a station's node.
 * @returns `unhandle`, which unregisters it
 */
export async function handlePing (node: Pick<Libp2p, 'handle' | 'unhandle'>): Promise<() => Promise<void>> {
  await node.handle(PROTOCOL.ping, async (stream: Stream) => {
    let seen = 0
    for await (const chunk of stream) {
      const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
      const allowed = bytes.subarray(0, Math.max(0, PING_MAX_BYTES - seen))
      seen += bytes.byteLength
      if (allowed.byteLength > 0 && !stream.send(allowed)) await stream.onDrain()
      if (seen >= PING_MAX_BYTES) break
    }
    await stream.close()
  }, { runOnLimitedConnection: true, maxInboundStreams: 8 })
  return async () => { await node.unhandle(PROTOCOL.ping) }
}

export interface PingInit {
  /** Allow the ping over a relayed (limited) connection. @default true */
  runOnLimitedConnection?: boolean
  signal?: AbortSignal
}

/**
 * Sends 32 random bytes and waits for the echo.
 * @returns the round trip in milliseconds
 * @throws {Error} when the echo does not match
 */
export async function pingStation (node: Pick<Libp2p, 'dialProtocol'>, target: PeerId | Multiaddr | Multiaddr[], init: PingInit = {}): Promise<number> {
  const payload = crypto.getRandomValues(new Uint8Array(32))
  const started = performance.now()
  const stream = await node.dialProtocol(target, PROTOCOL.ping, {
    runOnLimitedConnection: init.runOnLimitedConnection ?? true,
    signal: init.signal ?? AbortSignal.timeout(PING_TIMEOUT_MS)
  })
  stream.send(payload)
  await stream.close()
  const echo = new Uint8Array(payload.byteLength)
  let received = 0
  for await (const chunk of stream) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    if (received + bytes.byteLength > echo.byteLength) throw new Error('ping echo is longer than the ping')
    echo.set(bytes, received)
    received += bytes.byteLength
  }
  const rtt = performance.now() - started
  if (received !== payload.byteLength || !echo.every((b, i) => b === payload[i])) throw new Error('ping echo does not match')
  return rtt
}

/** How a connection reaches its peer, for people. */
export type ConnectionKind = 'direct-webrtc' | 'relayed' | 'direct'

export function connectionKind (connection: Pick<Connection, 'remoteAddr' | 'limits'>): ConnectionKind {
  if (connection.limits !== undefined) return 'relayed'
  return connection.remoteAddr.toString().includes('/webrtc') ? 'direct-webrtc' : 'direct'
}
