import { describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { MAX_SIGNAL_BYTES, type SignalMessage } from '@openstudio/protocol'
import { encodeCanonical } from '../../protocol/src/cbor.ts'
import * as varint from 'uint8-varint'
import { SignalChannel } from '../src/signal/channel.ts'
import vectors from '../../protocol/test/fixtures/vectors.json'

const peer = peerIdFromString(vectors.stationId)

async function pair (): Promise<[SignalChannel, SignalChannel]> {
  const [a, b] = await streamPair()
  return [new SignalChannel(a, peer), new SignalChannel(b, peer)]
}

describe('signalling channel', () => {
  it('carries messages both ways, in order, and ends when the remote closes', async () => {
    const [caller, studio] = await pair()
    const sent: SignalMessage[] = [
      { type: 'hello', name: 'Ada' },
      { type: 'description', description: { type: 'offer', sdp: 'v=0\r\n'.repeat(2000) } },
      { type: 'candidate', candidate: null }
    ]
    for (const message of sent) await caller.send(message)
    await caller.close()
    const received: SignalMessage[] = []
    for await (const message of studio.messages()) received.push(message)
    expect(received).toEqual(sent)
    await studio.send({ type: 'welcome' })
    expect(await caller.read()).toEqual({ type: 'welcome' })
  })

  it('refuses a well-framed message of the wrong shape, and aborts the stream', async () => {
    const [a, b] = await streamPair()
    const studio = new SignalChannel(b, peer)
    const body = encodeCanonical({ type: 'hello', name: 'x', admin: true })
    a.send(varint.encode(body.byteLength))
    a.send(body)
    await expect(studio.read()).rejects.toMatchObject({ name: 'MalformedError' })
    expect(studio.open).toBe(false)
  })

  it('refuses a frame longer than the signalling limit before reading it', async () => {
    const [a, b] = await streamPair()
    const studio = new SignalChannel(b, peer)
    a.send(varint.encode(MAX_SIGNAL_BYTES + 1))
    await expect(studio.read()).rejects.toMatchObject({ name: 'InvalidDataLengthError' })
  })
})
