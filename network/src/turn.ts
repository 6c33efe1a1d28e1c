/**
 * `/openstudio/turn/1`: a peer in a call asks a relay for short-lived TURN
 * credentials. One length-prefixed request goes up, one length-prefixed
 * response comes back, both decoded and schema-checked by protocol/. This file
 * holds both ends of the stream; the relay supplies the policy (who gets
 * credentials) as the `answer` callback of {@link handleTurn}.
 */
import { logger } from '@libp2p/logger'
import { lpStream, type LengthPrefixedStream } from '@libp2p/utils'
import {
  decodeTurnRequest, decodeTurnResponse, encodeTurnRequest, encodeTurnResponse, MAX_TURN_MESSAGE_BYTES, PROTOCOL,
  type TurnRequest, type TurnResponse
} from '@openstudio/protocol'
import { TimeoutError, TurnRefusedError, TurnUnavailableError } from './errors.ts'
import type { Libp2p, PeerId, Stream } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

const log = logger('openstudio:turn')

/** One frame and its length prefix: a peer that sends more than that is cut off. */
const LP_INIT = { maxDataLength: MAX_TURN_MESSAGE_BYTES, maxBufferSize: MAX_TURN_MESSAGE_BYTES + 16 }

export const TURN_DEFAULTS = {
  /** A request, from dial to answer, that takes longer is abandoned. */
  requestTimeoutMs: 10_000,
  /** The relay aborts a stream that has not finished its exchange by then. */
  handlerTimeoutMs: 5_000,
  /** Concurrent TURN streams per connection the relay accepts. */
  maxInboundStreams: 2
} as const

/**
 * One ICE server as `RTCPeerConnection` takes it (assignable to the DOM's
 * `RTCIceServer`), declared here because network/ has no DOM types.
 */
export interface IceServer {
  urls: string[]
  username: string
  credential: string
}

/** What a relay granted. */
export interface TurnServers {
  iceServers: IceServer[]
  /** Unix seconds after which the TURN server refuses the credentials: ask again before then. */
  expiresAt: number
}

export interface TurnRequestInit {
  /** The call pass from the studio's welcome (a caller needs it; the studio itself does not). @default none */
  pass?: string
  /** An invite token of the station, for a peer without a pass. @default none */
  invite?: string
  signal?: AbortSignal
  /** @default TURN_DEFAULTS.requestTimeoutMs */
  timeoutMs?: number
}

/**
 * Asks a relay for TURN servers for the calls of `room` (a station id). A
 * relay that serves the station grants them to its studio (this node's peer
 * id is the station id), or to a peer that shows the call pass the studio
 * signed for it, or an invite of the station (see docs/turn.md).
 *
 * @example
 * ```ts
 * const welcome = await channel.read() // { type: 'welcome', pass }
 * const { iceServers } = await requestTurnServers(node, relayPeerId, stationId, { pass: welcome.pass })
 * const pc = new RTCPeerConnection({ iceServers })
 * ```
 * @throws {TurnRefusedError} the relay said no (`reason`: not-served, no-pass, malformed, rate-limited)
 * @throws {TurnUnavailableError} the relay offers no TURN, or could not derive credentials
 * @throws {TimeoutError} no answer within `timeoutMs`
 * @throws {MalformedError | TooLargeError} `room` is not a station id, or the relay's answer is not a TURN response
 */
export async function requestTurnServers (node: Pick<Libp2p, 'dialProtocol'>, relay: PeerId | Multiaddr, room: string, init: TurnRequestInit = {}): Promise<TurnServers> {
  const request = encodeTurnRequest({ room, pass: init.pass, invite: init.invite })
  const timeoutMs = init.timeoutMs ?? TURN_DEFAULTS.requestTimeoutMs
  const timeout = AbortSignal.timeout(timeoutMs)
  const signal = init.signal === undefined ? timeout : AbortSignal.any([init.signal, timeout])
  const timedOut = (): boolean => timeout.aborted && init.signal?.aborted !== true

  let stream: Stream
  try {
    stream = await node.dialProtocol(relay, PROTOCOL.turn, { signal, runOnLimitedConnection: true })
  } catch (err) {
    if ((err as Error).name === 'UnsupportedProtocolError') throw new TurnUnavailableError('the relay does not offer TURN')
    if (timedOut()) throw new TimeoutError(`no TURN stream within ${timeoutMs} ms`)
    throw err
  }
  let response: TurnResponse
  try {
    const lp = lpStream(stream, LP_INIT)
    await lp.write(request, { signal })
    await stream.close({ signal })
    response = decodeTurnResponse((await lp.read({ signal })).subarray())
  } catch (err) {
    stream.abort(err as Error)
    if (timedOut()) throw new TimeoutError(`no TURN answer within ${timeoutMs} ms`)
    throw err
  }
  if (response.ok) return { iceServers: response.iceServers, expiresAt: response.expiresAt }
  if (response.reason === 'unavailable') throw new TurnUnavailableError('the relay could not issue TURN credentials')
  throw new TurnRefusedError(`the relay refused TURN credentials: ${response.reason}`, response.reason)
}

/** Why the dispatcher answered a stream without asking the policy. */
export type TurnRejection = 'malformed' | 'timeout'

/** Where a request came from, beyond the peer id (which is free): for limits that count by host (see `hostOf`). */
export interface TurnRequestContext {
  /** The remote address of the connection the request came on. */
  remoteAddr: Multiaddr
}

/** The relay's side: the policy, and what to tell it about streams it never saw. */
export interface TurnAnswerer {
  /** Decides on a well-formed request from `from`. */
  answer: (from: PeerId, request: TurnRequest, context: TurnRequestContext) => TurnResponse | Promise<TurnResponse>
  /** A stream whose request did not decode, was too large, or did not arrive in time. */
  onRejected?: (from: PeerId, why: TurnRejection, err: Error) => void
}

export interface HandleTurnInit {
  /** @default TURN_DEFAULTS.handlerTimeoutMs */
  timeoutMs?: number
  /** @default TURN_DEFAULTS.maxInboundStreams */
  maxInboundStreams?: number
}

/**
 * Registers the `/openstudio/turn/1` handler: the one place that reads and
 * writes TURN streams. Each stream lives at most `timeoutMs`, and reads at most
 * one request of at most MAX_TURN_MESSAGE_BYTES.
 * @returns a function that unregisters it
 */
export async function handleTurn (node: Pick<Libp2p, 'handle' | 'unhandle'>, answerer: TurnAnswerer, init: HandleTurnInit = {}): Promise<() => Promise<void>> {
  const timeoutMs = init.timeoutMs ?? TURN_DEFAULTS.handlerTimeoutMs
  await node.handle(PROTOCOL.turn, async (stream, connection) => {
    await serveTurnStream(stream, connection.remotePeer, { remoteAddr: connection.remoteAddr }, answerer, timeoutMs)
  }, { runOnLimitedConnection: true, maxInboundStreams: init.maxInboundStreams ?? TURN_DEFAULTS.maxInboundStreams })
  return async () => { await node.unhandle(PROTOCOL.turn) }
}

async function serveTurnStream (stream: Stream, from: PeerId, context: TurnRequestContext, answerer: TurnAnswerer, timeoutMs: number): Promise<void> {
  const deadline = AbortSignal.timeout(timeoutMs)
  // A requester that never closes its end would hold the stream open: the deadline bounds the stream's whole life.
  const onDeadline = (): void => { stream.abort(new TimeoutError(`TURN stream from ${from} outlived ${timeoutMs} ms`)) }
  deadline.addEventListener('abort', onDeadline, { once: true })
  stream.addEventListener('close', () => { deadline.removeEventListener('abort', onDeadline) }, { once: true })

  const lp = lpStream(stream, LP_INIT)
  let request: TurnRequest
  try {
    request = decodeTurnRequest((await lp.read({ signal: deadline })).subarray())
  } catch (err) {
    const why: TurnRejection = deadline.aborted ? 'timeout' : 'malformed'
    log('%s TURN request from %p: %s', why, from, (err as Error).message)
    answerer.onRejected?.(from, why, err as Error)
    // Nothing to answer when the requester is gone or too slow; anything else hears why.
    if (why === 'timeout' || (err as Error).name === 'UnexpectedEOFError') {
      stream.abort(err as Error)
      return
    }
    await reply(stream, lp, { ok: false, reason: 'malformed' }, deadline, from)
    return
  }
  let response: TurnResponse
  try {
    response = await answerer.answer(from, request, context)
  } catch (err) {
    log.error('TURN policy failed for %p: %s', from, (err as Error).message)
    response = { ok: false, reason: 'unavailable' }
  }
  await reply(stream, lp, response, deadline, from)
}

async function reply (stream: Stream, lp: LengthPrefixedStream<Stream>, response: TurnResponse, signal: AbortSignal, to: PeerId): Promise<void> {
  try {
    await lp.write(encodeTurnResponse(response), { signal })
    await stream.close({ signal })
  } catch (err) {
    log('TURN answer to %p failed: %s', to, (err as Error).message)
    stream.abort(err as Error)
  }
}
