/**
 * Each encrypted libp2p frame leaves as one transport message
 * (network/src/libp2p/whole-frames.ts). @libp2p/websockets and @libp2p/tcp
 * send every piece of a write on its own, and noise writes a frame as two
 * pieces (its 2-byte length, then the ciphertext), so without the wrapper
 * every frame cost two WebSocket messages, or two TCP segments: for a
 * studio's program, 200 a second instead of 100, each a wake-up of the
 * browser's network service and of the relay.
 */
import { Socket } from 'node:net'
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { openClient } from '@openstudio/node'
import type { Relay } from '@openstudio/relay'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket as WsWebSocket } from 'ws'
import { startRelay, tcpAddr } from '../src/network.ts'

const ECHO = '/openstudio-test/echo/1'
const ROUNDS = 20
const PAYLOAD_BYTES = 120
/** Noise's length prefix: a frame is this plus what the prefix says. */
const PREFIX_BYTES = 2

/** Sends `payload` and waits until it has all come back. */
async function echo (stream: Stream, payload: Uint8Array, replies: AsyncIterator<{ subarray: () => Uint8Array }>): Promise<void> {
  stream.send(payload)
  let received = 0
  while (received < payload.byteLength) {
    const next = await replies.next()
    if (next.done === true) throw new Error('the echo stream ended')
    received += next.value.subarray().byteLength
  }
}

/** Whether `bytes` is exactly one noise frame. */
function wholeFrame (bytes: Uint8Array): boolean {
  return bytes.byteLength >= PREFIX_BYTES && bytes.byteLength === PREFIX_BYTES + new DataView(bytes.buffer, bytes.byteOffset).getUint16(0)
}

describe('libp2p connections', () => {
  const cleanup: Array<() => Promise<void>> = []
  let relay: Relay
  beforeAll(async () => {
    relay = await startRelay()
    cleanup.push(async () => relay.stop())
    await relay.node.handle(ECHO, async (stream) => {
      for await (const chunk of stream) {
        if (!stream.send(chunk)) await stream.onDrain()
      }
      await stream.close()
    })
  })
  afterAll(async () => {
    for (const fn of cleanup.reverse()) await fn()
  })

  /**
   * Echoes ROUNDS payloads from a client that joined through `addr` alone,
   * and gives what `prototype.method` was handed meanwhile (in this process:
   * both the client's socket and the relay's).
   */
  async function messagesOfEchoes (addr: string, prototype: Record<string, unknown>, method: string): Promise<Uint8Array[]> {
    const client = await openClient({ bootstrap: [addr], allowPrivate: true })
    try {
      const stream = await client.dialProtocol(multiaddr(addr), ECHO)
      const replies = stream[Symbol.asyncIterator]()
      await echo(stream, new Uint8Array(PAYLOAD_BYTES), replies)
      const messages: Uint8Array[] = []
      const own = Object.hasOwn(prototype, method)
      const original = prototype[method] as (...args: unknown[]) => unknown
      prototype[method] = function (this: unknown, data: unknown, ...rest: unknown[]) {
        if (ArrayBuffer.isView(data)) messages.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength))
        else if (data instanceof ArrayBuffer) messages.push(new Uint8Array(data))
        return Reflect.apply(original, this, [data, ...rest])
      }
      try {
        for (let i = 0; i < ROUNDS; i++) await echo(stream, crypto.getRandomValues(new Uint8Array(PAYLOAD_BYTES)), replies)
      } finally {
        if (own) prototype[method] = original
        else Reflect.deleteProperty(prototype, method)
      }
      await stream.close()
      return messages
    } finally {
      await client.stop()
    }
  }

  it('send each encrypted frame as one WebSocket message, both ways', async () => {
    const wsAddr = relay.multiaddrs.map((ma) => ma.toString()).find((ma) => ma.includes('/ws'))
    if (wsAddr === undefined) throw new Error('the relay has no WebSocket address')
    const messages = await messagesOfEchoes(wsAddr, WsWebSocket.prototype as unknown as Record<string, unknown>, 'send')
    expect(messages.length).toBeGreaterThanOrEqual(2 * ROUNDS)
    expect(messages.filter((m) => !wholeFrame(m)).map((m) => m.byteLength)).toEqual([])
  })

  it('write each encrypted frame to a TCP socket at once, both ways', async () => {
    const writes = await messagesOfEchoes(tcpAddr(relay), Socket.prototype as unknown as Record<string, unknown>, 'write')
    expect(writes.length).toBeGreaterThanOrEqual(2 * ROUNDS)
    expect(writes.filter((w) => !wholeFrame(w)).map((w) => w.byteLength)).toEqual([])
  })
})
