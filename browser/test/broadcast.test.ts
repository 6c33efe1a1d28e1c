import { describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { ProgramRefusedError, TimeoutError, type ProgramSenderEvents } from '@openstudio/network'
import { generateStationKey, type ProgramRefusal, type ProgramStart } from '@openstudio/protocol'
import type { PeerId } from '@libp2p/interface'
import { TypedEventEmitter } from 'main-event'
import { Broadcast, type BroadcastSettings, type BroadcastState, type BroadcastStatus, type ProgramLink } from '../src/services/program/broadcast.ts'
import { BROADCAST_DEFAULTS } from '../src/services/program/constants.ts'
import type { EncoderInit, ProgramEncoder, UnitSink } from '../src/services/program/encoder.ts'

const relayA = peerIdFromString(generateStationKey().id)
const relayB = peerIdFromString(generateStationKey().id)
const record = new Uint8Array([1, 2, 3])
const header = new Uint8Array([0x4f, 0x67, 0x67, 0x53, 1])
const page = (n: number): Uint8Array => new Uint8Array([0x4f, 0x67, 0x67, 0x53, 2, n])

interface Deferred<T> { promise: Promise<T>, resolve: (value: T) => void, reject: (err: unknown) => void }
function deferred<T> (): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (err: unknown) => void
  const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
  return { promise, resolve, reject }
}

/** Calls to a fake, in order; `next` waits for the next one (never sleeps). */
class Calls<T> {
  readonly all: T[] = []
  private taken = 0
  private arrived?: () => void

  push (call: T): void {
    this.all.push(call)
    this.arrived?.()
  }

  async next (what: string): Promise<T> {
    while (this.all.length <= this.taken) {
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => { reject(new Error(`timed out waiting for ${what}`)) }, 2_000)
        this.arrived = () => { clearTimeout(timer); resolve() }
      })
    }
    return this.all[this.taken++] as T
  }
}

/** A program stream the relay accepted, in memory. */
class FakeLink extends TypedEventEmitter<ProgramSenderEvents> implements ProgramLink {
  readonly mount = '/live.ogg'
  readonly listenUrl = 'http://icecast.test:8000/live.ogg'
  readonly renditions = [{ url: 'http://icecast.test:8000/live.mp3', codec: 'mp3', bitrate: 128, mount: '/live.mp3' }]
  readonly sent: Uint8Array[] = []
  readonly titles: Uint8Array[] = []
  bytesSent = 0
  queuedBytes = 0
  ends = 0
  private closed = false

  constructor (readonly relay: PeerId) {
    super()
  }

  get open (): boolean {
    return !this.closed
  }

  send (bytes: Uint8Array): void {
    if (this.closed) return
    this.sent.push(bytes)
    this.bytesSent += bytes.length
  }

  takeQueue (): Uint8Array[] {
    return []
  }

  nowPlaying (statement: Uint8Array): void {
    this.titles.push(statement)
  }

  async end (): Promise<void> {
    this.ends++
    if (this.closed) return
    this.closed = true
    this.safeDispatchEvent('program:close', { detail: {} })
  }

  /** The relay ended the stream, or the link broke. */
  close (detail: { refused?: ProgramRefusal, error?: Error }): void {
    this.closed = true
    this.safeDispatchEvent('program:close', { detail })
  }
}

class FakeEncoder implements ProgramEncoder {
  readonly format = 'ogg-opus'
  readonly description = 'fake encoder'
  readonly headers: Uint8Array[] = []
  readonly droppedMs = 0
  stops = 0

  constructor (private readonly onUnit: UnitSink) {}

  /** The encoder hands out a unit, as the real one does: headers first, kept in `headers`. */
  emit (bytes: Uint8Array, isHeader = false): void {
    if (isHeader) this.headers.push(bytes)
    this.onUnit(bytes, 10, isHeader)
  }

  async stop (): Promise<void> {
    this.stops++
  }
}

interface OpenCall extends Deferred<ProgramLink> { relay: PeerId, start: ProgramStart, signal: AbortSignal }
interface EncoderCall extends Deferred<ProgramEncoder> { init: EncoderInit, encoder: FakeEncoder, signal: AbortSignal }
interface PauseCall extends Deferred<undefined> { ms: number, signal: AbortSignal }

/** A broadcast over fakes: every dial, encoder start, backoff and status ticker is a call the test settles. */
function harness (settings: Partial<BroadcastSettings> = {}, init: { encoderStartsAtOnce?: boolean, dialsIgnoreAbort?: boolean } = {}): {
  broadcast: Broadcast
  opens: Calls<OpenCall>
  encoders: Calls<EncoderCall>
  pauses: Calls<PauseCall>
  tickers: AbortSignal[]
  statuses: BroadcastStatus[]
  accepted: Array<{ listenUrl: string, mount: string }>
} {
  const opens = new Calls<OpenCall>()
  const encoders = new Calls<EncoderCall>()
  const pauses = new Calls<PauseCall>()
  const tickers: AbortSignal[] = []
  const broadcast = new Broadcast({
    openSender: async (relay, start, { signal }) => {
      const call = { ...deferred<ProgramLink>(), relay, start, signal }
      // Like ProgramSender.open: an abort rejects the open (unless the relay's verdict came first).
      if (init.dialsIgnoreAbort !== true) signal.addEventListener('abort', () => { call.reject(signal.reason) }, { once: true })
      opens.push(call)
      return call.promise
    },
    createEncoder: async (encoderInit, onUnit, { signal }) => {
      const call = { ...deferred<ProgramEncoder>(), init: encoderInit, encoder: new FakeEncoder(onUnit), signal }
      encoders.push(call)
      if (init.encoderStartsAtOnce !== false) call.resolve(call.encoder)
      return call.promise
    },
    pause: async (ms, { signal }) => {
      const call = { ...deferred<undefined>(), ms, signal }
      signal.addEventListener('abort', () => { call.reject(signal.reason) }, { once: true })
      pauses.push(call)
      await call.promise
    },
    every: (_ms, _tick, { signal }) => { tickers.push(signal) },
    now: () => 0
  }, { relays: () => [relayA], record: () => record, ...settings })
  const statuses: BroadcastStatus[] = []
  const accepted: Array<{ listenUrl: string, mount: string }> = []
  broadcast.addEventListener('status:change', (e) => { statuses.push(e.detail) })
  broadcast.addEventListener('broadcast:accepted', (e) => { accepted.push(e.detail) })
  return { broadcast, opens, encoders, pauses, tickers, statuses, accepted }
}

async function until (broadcast: Broadcast, state: BroadcastState): Promise<void> {
  if (broadcast.current.state === state) return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`timed out waiting for the broadcast to be ${state} (it is ${broadcast.current.state})`)) }, 2_000)
    broadcast.addEventListener('status:change', (e) => {
      if (e.detail.state !== state) return
      clearTimeout(timer)
      resolve()
    })
  })
}

describe('broadcast', () => {
  it('goes live on the first relay that accepts: headers first, then the audio that waited', async () => {
    const h = harness()
    await h.broadcast.start()
    const { encoder } = await h.encoders.next('the encoder')
    encoder.emit(header, true)
    encoder.emit(page(1))
    const open = await h.opens.next('the dial to the relay')
    expect(open.relay.equals(relayA)).toBe(true)
    expect(open.start).toEqual({ type: 'start', record, format: 'ogg-opus', bitrate: BROADCAST_DEFAULTS.bitrate, channels: BROADCAST_DEFAULTS.channels, sampleRate: 48_000 })
    const link = new FakeLink(relayA)
    open.resolve(link)
    await until(h.broadcast, 'live')
    encoder.emit(page(2))
    expect(link.sent).toEqual([header, page(1), page(2)])
    expect(h.accepted).toEqual([{ listenUrl: link.listenUrl, mount: link.mount, renditions: link.renditions }])
    expect(h.broadcast.current).toMatchObject({ state: 'live', relay: relayA.toString(), listenUrl: link.listenUrl, mount: '/live.ogg', encoder: 'fake encoder' })
    await h.broadcast.stop()
    expect(link.ends).toBe(1)
    expect(encoder.stops).toBe(1)
  })

  it.each([
    { when: 'in the same turn as the end of the show', dialsIgnoreAbort: false },
    { when: 'after the end of the show, from a dial that ignores the abort', dialsIgnoreAbort: true }
  ])('ends the show while the relay is still accepting ($when): the late stream is ended, never announced, and nothing runs', async ({ dialsIgnoreAbort }) => {
    const h = harness({}, { dialsIgnoreAbort })
    await h.broadcast.start()
    const { encoder } = await h.encoders.next('the encoder')
    const open = await h.opens.next('the dial to the relay')
    const late = new FakeLink(relayA)
    let stopping: Promise<void>
    if (dialsIgnoreAbort) {
      stopping = h.broadcast.stop()
      open.resolve(late)
    } else {
      open.resolve(late)
      stopping = h.broadcast.stop()
    }
    await stopping
    expect(h.accepted).toEqual([])
    expect(h.statuses.map((s) => s.state)).not.toContain('live')
    expect(late.ends).toBe(1)
    expect(late.open).toBe(false)
    expect(h.broadcast.current.state).toBe('stopped')
    expect(open.signal.aborted).toBe(true)
    expect(encoder.stops).toBe(1)
    expect(h.tickers.every((signal) => signal.aborted)).toBe(true)
    expect(h.pauses.all).toEqual([])
  })

  it('ends the show during a dial: the dial is aborted and no other relay is tried', async () => {
    const h = harness({ relays: () => [relayA, relayB] })
    await h.broadcast.start()
    const open = await h.opens.next('the dial to the first relay')
    await h.broadcast.stop()
    expect(open.signal.aborted).toBe(true)
    expect(h.opens.all).toHaveLength(1)
    expect(h.pauses.all).toEqual([])
    expect(h.accepted).toEqual([])
    expect(h.broadcast.current.state).toBe('stopped')
  })

  it('fails at once when every relay refuses the station: no retry', async () => {
    const h = harness({ relays: () => [relayA, relayB] })
    await h.broadcast.start()
    const { encoder } = await h.encoders.next('the encoder')
    ;(await h.opens.next('the dial to the first relay')).reject(new ProgramRefusedError('the relay refused the program: not-station', 'not-station'))
    ;(await h.opens.next('the dial to the second relay')).reject(new ProgramRefusedError('the relay takes no program', 'not-station'))
    await until(h.broadcast, 'failed')
    expect(h.broadcast.current.error).toMatch(/^None of the station's 2 relays takes its program/)
    expect(h.pauses.all).toEqual([])
    expect(h.opens.all).toHaveLength(2)
    expect(encoder.stops).toBe(1)
    expect(h.tickers.every((signal) => signal.aborted)).toBe(true)
    await h.broadcast.stop()
    expect(h.broadcast.current.state).toBe('stopped')
  })

  it('retries a broken link with a doubling backoff, reset once live, and carries the audio over', async () => {
    const h = harness({ relays: () => [relayA, relayB] })
    await h.broadcast.start()
    const { encoder } = await h.encoders.next('the encoder')
    encoder.emit(header, true)
    // A refusal beside a broken link is worth another round.
    ;(await h.opens.next('the first dial to relay A')).reject(new ProgramRefusedError('the relay refused the program: not-station', 'not-station'))
    ;(await h.opens.next('the first dial to relay B')).reject(new TimeoutError('the relay did not accept the program within 10000 ms'))
    const first = await h.pauses.next('the first backoff')
    expect(first.ms).toBe(BROADCAST_DEFAULTS.backoffInitialMs)
    expect(h.broadcast.current).toMatchObject({ state: 'reconnecting', error: 'not-station; the relay did not accept the program within 10000 ms' })
    first.resolve(undefined)
    ;(await h.opens.next('the second dial to relay A')).reject(new Error('connection reset'))
    ;(await h.opens.next('the second dial to relay B')).reject(new Error('connection reset'))
    const second = await h.pauses.next('the second backoff')
    expect(second.ms).toBe(BROADCAST_DEFAULTS.backoffInitialMs * 2)
    second.resolve(undefined)
    const link = new FakeLink(relayA)
    ;(await h.opens.next('the third dial to relay A')).resolve(link)
    await until(h.broadcast, 'live')
    expect(h.accepted).toHaveLength(1)

    link.close({ error: new Error('stream reset') })
    await until(h.broadcast, 'reconnecting')
    expect(h.broadcast.current.error).toBe('stream reset')
    encoder.emit(page(7))
    const third = await h.pauses.next('the backoff after the link broke')
    expect(third.ms).toBe(BROADCAST_DEFAULTS.backoffInitialMs)
    third.resolve(undefined)
    const again = new FakeLink(relayA)
    ;(await h.opens.next('the redial after the link broke')).resolve(again)
    await until(h.broadcast, 'live')
    expect(again.sent).toEqual([header, page(7)])
    expect(h.accepted).toHaveLength(2)
    await h.broadcast.stop()
  })

  it('sends the now-playing statement to the relay, and again to each relay that takes the program after a break', async () => {
    const h = harness({ relays: () => [relayA] })
    await h.broadcast.start()
    const { encoder } = await h.encoders.next('the encoder')
    encoder.emit(header, true)
    const link = new FakeLink(relayA)
    ;(await h.opens.next('the dial')).resolve(link)
    await until(h.broadcast, 'live')
    const title = Uint8Array.of(1, 2, 3)
    h.broadcast.nowPlaying(title)
    expect(link.titles).toEqual([title])
    link.close({ error: new Error('stream reset') })
    ;(await h.pauses.next('the backoff')).resolve(undefined)
    const again = new FakeLink(relayA)
    ;(await h.opens.next('the redial')).resolve(again)
    await until(h.broadcast, 'live')
    expect(again.titles).toEqual([title])
    await h.broadcast.stop()
  })

  it('fails when another studio of the station takes the program over', async () => {
    const h = harness()
    await h.broadcast.start()
    const link = new FakeLink(relayA)
    ;(await h.opens.next('the dial to the relay')).resolve(link)
    await until(h.broadcast, 'live')
    link.close({ refused: 'replaced' })
    await until(h.broadcast, 'failed')
    expect(h.broadcast.current.error).toBe('Another studio of this station took over the program.')
    expect(h.pauses.all).toEqual([])
    await h.broadcast.stop()
  })

  it('stopped during start: the encoder that comes up late is stopped, and nothing else starts', async () => {
    const h = harness({}, { encoderStartsAtOnce: false })
    const starting = h.broadcast.start()
    const call = await h.encoders.next('the encoder start')
    const stopping = h.broadcast.stop()
    expect(call.signal.aborted).toBe(true)
    call.resolve(call.encoder)
    await starting
    await stopping
    expect(call.encoder.stops).toBe(1)
    expect(h.opens.all).toEqual([])
    expect(h.tickers).toEqual([])
    expect(h.broadcast.current.state).toBe('stopped')
  })

  it('rolls back a start whose signal aborts, and rejects with its reason', async () => {
    const h = harness({}, { encoderStartsAtOnce: false })
    const controller = new AbortController()
    const starting = h.broadcast.start({ signal: controller.signal })
    const call = await h.encoders.next('the encoder start')
    controller.abort()
    call.reject(call.signal.reason)
    await expect(starting).rejects.toMatchObject({ name: 'AbortError' })
    await h.broadcast.stop()
    expect(h.opens.all).toEqual([])
    expect(h.tickers).toEqual([])
    expect(h.broadcast.current.state).toBe('stopped')
  })

  it('starts and stops once, however often it is asked', async () => {
    const h = harness()
    await Promise.all([h.broadcast.start(), h.broadcast.start()])
    expect(h.encoders.all).toHaveLength(1)
    const link = new FakeLink(relayA)
    ;(await h.opens.next('the dial to the relay')).resolve(link)
    await until(h.broadcast, 'live')
    await Promise.all([h.broadcast.stop(), h.broadcast.stop()])
    await h.broadcast.stop()
    await h.broadcast.start()
    expect(link.ends).toBe(1)
    expect((h.encoders.all[0] as EncoderCall).encoder.stops).toBe(1)
    expect(h.statuses.filter((s) => s.state === 'stopped')).toHaveLength(1)
    expect(h.encoders.all).toHaveLength(1)
    expect(h.opens.all).toHaveLength(1)
    expect(h.tickers.every((signal) => signal.aborted)).toBe(true)
  })
})
