import { describe, expect, it } from 'vitest'
import { UnsupportedProtocolError, type Connection, type Stream, type StreamHandler } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { encodeProgramUp, MalformedError, type ProgramStart } from '@openstudio/protocol'
import * as varint from 'uint8-varint'
import { ProgramRefusedError } from '../src/errors.ts'
import { handleProgram, ProgramSender, type HandleProgramInit, type ProgramIngest, type ProgramSink } from '../src/program.ts'
import vectors from '../../protocol/test/fixtures/vectors.json'

const relay = peerIdFromString(vectors.stationId)
const start: ProgramStart = { type: 'start', record: new Uint8Array([1, 2, 3]), format: 'ogg-opus', bitrate: 96, channels: 2, sampleRate: 48_000 }

interface Deferred<T> { promise: Promise<T>, resolve: (value: T) => void }
function deferred<T> (): Deferred<T> {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((res) => { resolve = res })
  return { promise, resolve }
}

/** Waits for `promise`, or fails saying what it waited for. */
async function within<T> (promise: Promise<T>, what: string, ms = 2_000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined
  const late = new Promise<never>((_resolve, reject) => { timer = setTimeout(() => { reject(new Error(`timed out waiting for ${what}`)) }, ms) })
  try {
    return await Promise.race([promise, late])
  } finally {
    clearTimeout(timer)
  }
}

/** A sink that records what the relay's policy hears. */
function recordingSink (): ProgramSink & { received: Uint8Array[], closed: Promise<string> } {
  const closed = deferred<string>()
  const received: Uint8Array[] = []
  return {
    mount: '/live.ogg',
    listenUrl: 'http://icecast.test:8000/live.ogg',
    received,
    closed: closed.promise,
    data: (bytes) => {
      if (bytes[0] === 0xff) throw new MalformedError('not an Ogg page')
      received.push(bytes)
    },
    close: (why) => { closed.resolve(why) }
  }
}

/** The relay's dispatcher on one end of an in-memory stream pair, and a node that dials it on the other. */
async function programLink (ingest: ProgramIngest, init: HandleProgramInit = {}): Promise<{ studio: Stream, node: { dialProtocol: () => Promise<Stream> }, served: Promise<void> }> {
  const [studio, relayEnd] = await streamPair()
  let handler: StreamHandler | undefined
  await handleProgram({ handle: async (_protocol, h) => { handler = h }, unhandle: async () => {} }, ingest, init)
  const served = deferred<void>()
  const node = {
    dialProtocol: async (): Promise<Stream> => {
      void Promise.resolve(handler?.(relayEnd, { remotePeer: relay } as unknown as Connection)).then(() => { served.resolve() })
      return studio
    }
  }
  return { studio, node, served: served.promise }
}

describe('/openstudio/program/1', () => {
  it('carries the program from an accepted start to end', async () => {
    const sink = recordingSink()
    const { node } = await programLink({ accept: () => sink })
    const sender = await ProgramSender.open(node, relay, start)
    expect(sender.listenUrl).toBe(sink.listenUrl)
    sender.send(new Uint8Array([1]))
    sender.send(new Uint8Array([2]))
    await sender.end()
    expect(await within(sink.closed, 'the relay to hear the end')).toBe('end')
    expect(sink.received).toEqual([new Uint8Array([1]), new Uint8Array([2])])
  })

  it('gives a refusal as a ProgramRefusedError with its reason', async () => {
    const { node } = await programLink({ accept: () => 'not-station' })
    const refused = ProgramSender.open(node, relay, start)
    await expect(refused).rejects.toBeInstanceOf(ProgramRefusedError)
    await expect(refused).rejects.toMatchObject({ name: 'ProgramRefusedError', reason: 'not-station' })
  })

  it('counts a relay that takes no program as refusing the station', async () => {
    const node = { dialProtocol: async (): Promise<Stream> => { throw new UnsupportedProtocolError('Protocol selection failed') } }
    await expect(ProgramSender.open(node, relay, start)).rejects.toMatchObject({ name: 'ProgramRefusedError', reason: 'not-station' })
  })

  it('gives up when its signal aborts while the relay decides: the stream is aborted, and the relay hears it closed', async () => {
    const verdict = deferred<ProgramSink>()
    const deciding = deferred<undefined>()
    const { node, studio, served } = await programLink({ accept: async () => { deciding.resolve(undefined); return verdict.promise } })
    const controller = new AbortController()
    const opening = ProgramSender.open(node, relay, start, { signal: controller.signal })
    await within(deciding.promise, 'the relay policy to get the start')
    controller.abort()
    await expect(opening).rejects.toMatchObject({ name: 'AbortError' })
    expect(studio.status).toBe('aborted')
    const sink = recordingSink()
    verdict.resolve(sink)
    expect(await within(sink.closed, 'the relay to hear the studio gave up')).toBe('closed')
    await within(served, 'the dispatcher to finish')
  })

  it('does not dial with a signal that already aborted', async () => {
    let dialled = false
    const node = { dialProtocol: async (): Promise<Stream> => { dialled = true; throw new Error('unreachable') } }
    await expect(ProgramSender.open(node, relay, start, { signal: AbortSignal.abort() })).rejects.toMatchObject({ name: 'AbortError' })
    expect(dialled).toBe(false)
  })

  it('tells the policy why a stream ended: stalled, malformed, or closed', async () => {
    const stalled = recordingSink()
    const quiet = await programLink({ accept: () => stalled }, { idleTimeoutMs: 50 })
    await ProgramSender.open(quiet.node, relay, start)
    expect(await within(stalled.closed, 'the relay to cut off the silent sender')).toBe('stalled')

    const malformed = recordingSink()
    const junk = await programLink({ accept: () => malformed })
    const sender = await ProgramSender.open(junk.node, relay, start)
    const closed = new Promise((resolve) => { sender.addEventListener('program:close', (e) => { resolve(e.detail) }, { once: true }) })
    sender.send(new Uint8Array([0xff]))
    expect(await within(malformed.closed, 'the relay to refuse the junk')).toBe('malformed')
    expect(await within(closed, 'the studio to hear the refusal')).toMatchObject({ refused: 'malformed' })

    const broken = recordingSink()
    const gone = await programLink({ accept: () => broken })
    await ProgramSender.open(gone.node, relay, start)
    gone.studio.abort(new Error('the page closed'))
    expect(await within(broken.closed, 'the relay to see the link break')).toBe('closed')
  })

  it('rejects a first message that is not start as malformed, and a silent stream as a timeout', async () => {
    const rejected: string[] = []
    const ingest: ProgramIngest = { accept: () => recordingSink(), onRejected: (_from, why) => { rejected.push(why) } }
    const early = await programLink(ingest)
    const stream = await early.node.dialProtocol()
    const end = encodeProgramUp({ type: 'end' })
    stream.send(varint.encode(end.byteLength))
    stream.send(end)
    await within(early.served, 'the dispatcher to reject the early end')
    const silent = await programLink(ingest, { startTimeoutMs: 50 })
    await silent.node.dialProtocol()
    await within(silent.served, 'the dispatcher to give up on the silent stream')
    expect(rejected).toEqual(['malformed', 'timeout'])
  })
})
