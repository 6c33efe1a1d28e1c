/**
 * The relay's TURN policy for `/openstudio/turn/1`: short-lived coturn
 * credentials (the shared-secret scheme) go only to the calls of a station
 * this relay serves (`--station`), and there only to the studio itself (its
 * peer id is the station id), to a caller that shows the call pass the studio
 * signed into its welcome, naming that caller, or to a holder of an invite
 * the station signed. A few requests a minute per peer, and per host, at most.
 * The stream itself is read and written by network/'s `handleTurn`. See
 * docs/turn.md.
 *
 * The relay no longer asks gossipsub whether the requester is subscribed to
 * the room's topic: a subscription is free to make up (for any room, real or
 * not), so it proved nothing the pass does not prove better, and it raced the
 * gossip mesh (a caller that asked right after subscribing could be refused
 * because its subscription had not reached the relay yet).
 */
import { logger } from '@libp2p/logger'
import { TypedEventEmitter, type Libp2p, type PeerId } from '@libp2p/interface'
import { handleTurn, hostOf, type TurnRequestContext } from '@openstudio/node'
import type { Multiaddr } from '@multiformats/multiaddr'
import {
  isIceUrl, turnCredentials, TURN_CREDENTIAL_TTL_S, verifyCallPass, verifyInvite,
  type TurnRefusal, type TurnRequest, type TurnResponse
} from '@openstudio/protocol'
import { TURN_POLICY_DEFAULTS } from './constants.ts'
import { readSecretFile } from './secret-file.ts'
import { PeerRateLimiter } from './rate-limit.ts'
import { NO_REFUSALS, type Refusals } from './refusals.ts'
import type { ServedStations } from './stations.ts'

const log = logger('openstudio:relay:turn')

export interface TurnInit {
  /** ICE URLs of the coturn that shares `secret`, e.g. `turn:turn.example.org:3478?transport=udp`. */
  urls: string[]
  /** coturn's `static-auth-secret`, as bytes (the UTF-8 of the configured string). */
  secret: Uint8Array
  /** Lifetime of the credentials handed out. @default TURN_CREDENTIAL_TTL_S */
  ttlSeconds?: number
  /** Requests one peer may make per minute. @default TURN_POLICY_DEFAULTS.requestsPerMinute */
  requestsPerMinute?: number
  /** Requests one host (see `hostOf`) may make per minute, across all its peer ids. @default TURN_POLICY_DEFAULTS.requestsPerHostPerMinute */
  requestsPerHostPerMinute?: number
  /** A TURN stream that has not finished by then is aborted. @default TURN_DEFAULTS.handlerTimeoutMs (network) */
  timeoutMs?: number
}

export interface TurnServiceComponents {
  registrar: Pick<Libp2p, 'handle' | 'unhandle'>
  /** The host a connection counts against (undefined: none, as for a trusted proxy). @default hostOf */
  hostOf?: (remoteAddr: Multiaddr) => string | undefined
  /** The stations this relay serves: only their calls get credentials. */
  stations: Pick<ServedStations, 'serves'>
  /** Told of every refusal, as `turn` and its outcome. @default NO_REFUSALS */
  refusals?: Refusals
}

/**
 * Why a stream got no credentials: a refusal sent to the peer, a host over
 * its limit (the peer hears `rate-limited`), or a stream cut off for taking
 * too long.
 */
export type TurnOutcome = TurnRefusal | 'host-rate-limited' | 'timeout'

/** Why a peer got credentials: it is the studio, or it showed a call pass, or an invite. */
export type TurnGrantBasis = 'studio' | 'pass' | 'invite'

export interface TurnServiceEvents {
  /** Credentials went to `peer` for `room`. */
  'turn:grant': CustomEvent<{ peer: string, room: string, basis: TurnGrantBasis }>
  /** A request got no credentials. */
  'turn:refuse': CustomEvent<{ peer: string, reason: TurnOutcome }>
}

/** TURN options that cannot work (no URLs, a bad URL, an empty or unreadable secret). */
export class TurnConfigError extends Error {
  override readonly name = 'TurnConfigError'
}

/**
 * @example
 * ```ts
 * const turn = turnService({ urls: ['turn:127.0.0.1:3478?transport=udp'], secret })({ registrar: node, stations: servedStations([stationId]) })
 * await turn.start()
 * ```
 */
export function turnService (init: TurnInit): (components: TurnServiceComponents) => TurnService {
  return (components) => new TurnService(components, init)
}

export class TurnService extends TypedEventEmitter<TurnServiceEvents> {
  private readonly peerLimiter: PeerRateLimiter
  private readonly hostLimiter: PeerRateLimiter
  private readonly refusals: Refusals
  private readonly ttlSeconds: number
  /** Unregisters the protocol, while it is registered. */
  private unhandle?: () => Promise<void>

  /** @throws {TurnConfigError} */
  constructor (private readonly components: TurnServiceComponents, private readonly init: TurnInit) {
    super()
    if (init.urls.length === 0) throw new TurnConfigError('TURN needs at least one URL')
    for (const url of init.urls) if (!isIceUrl(url)) throw new TurnConfigError(`not a TURN URL: ${url} (expected e.g. turn:turn.example.org:3478?transport=udp)`)
    if (init.secret.length === 0) throw new TurnConfigError('the TURN secret is empty')
    this.ttlSeconds = init.ttlSeconds ?? TURN_CREDENTIAL_TTL_S
    this.peerLimiter = new PeerRateLimiter(init.requestsPerMinute ?? TURN_POLICY_DEFAULTS.requestsPerMinute, 60_000, TURN_POLICY_DEFAULTS.trackedPeersMax)
    this.hostLimiter = new PeerRateLimiter(init.requestsPerHostPerMinute ?? TURN_POLICY_DEFAULTS.requestsPerHostPerMinute, 60_000, TURN_POLICY_DEFAULTS.trackedPeersMax)
    this.refusals = components.refusals ?? NO_REFUSALS
  }

  /** Registers `/openstudio/turn/1`. Idempotent. */
  async start (): Promise<void> {
    if (this.unhandle !== undefined) return
    this.unhandle = await handleTurn(this.components.registrar, {
      answer: (from, request, context) => this.answer(from, request, context, Date.now()),
      onRejected: (from, why) => { this.refuse(from, why) }
    }, { timeoutMs: this.init.timeoutMs })
  }

  /** Unregisters the protocol. Idempotent. */
  async stop (): Promise<void> {
    const unhandle = this.unhandle
    this.unhandle = undefined
    await unhandle?.()
  }

  /**
   * Decides on one well-formed request, that came on a connection from
   * `context.remoteAddr`, at `now` (unix ms). Every request counts against
   * its peer's and its host's limits before anything is verified, so that
   * signature checks cost a flood no more than its limits allow. Public for
   * tests without a network.
   */
  answer (from: PeerId, request: TurnRequest, context: TurnRequestContext, now: number): TurnResponse {
    const peer = from.toString()
    if (!this.peerLimiter.take(peer, now)) return this.refuse(from, 'rate-limited')
    const host = (this.components.hostOf ?? hostOf)(context.remoteAddr)
    if (host !== undefined && !this.hostLimiter.take(host, now)) return this.refuse(from, 'host-rate-limited')
    if (!this.components.stations.serves(request.room)) return this.refuse(from, 'not-served')
    const basis = this.basisOf(peer, request, now)
    if (basis === undefined) return this.refuse(from, 'no-pass')
    let credentials
    try {
      credentials = turnCredentials(this.init.secret, { name: peer, now: Math.floor(now / 1000), ttlSeconds: this.ttlSeconds })
    } catch (err) {
      log('no TURN credentials for %p: %s', from, (err as Error).message)
      return this.refuse(from, 'unavailable')
    }
    log('TURN credentials for %p (%s) in room %s until %d', from, basis, request.room, credentials.expiresAt)
    this.safeDispatchEvent('turn:grant', { detail: { peer, room: request.room, basis } })
    return {
      ok: true,
      iceServers: [{ urls: [...this.init.urls], username: credentials.username, credential: credentials.credential }],
      expiresAt: credentials.expiresAt
    }
  }

  /** Why `peer` may have credentials for `request.room` (a station served here), if it may. */
  private basisOf (peer: string, request: TurnRequest, now: number): TurnGrantBasis | undefined {
    if (peer === request.room) return 'studio'
    if (request.pass !== undefined) {
      const pass = verifyCallPass(request.pass, { stationId: request.room, peer, now })
      if (pass.ok) return 'pass'
      log('call pass of %s for room %s refused: %s', peer, request.room, pass.reason)
    }
    if (request.invite !== undefined) {
      const invite = verifyInvite(request.invite, { stationId: request.room, now })
      if (invite.ok) return 'invite'
      log('invite of %s for room %s refused: %s', peer, request.room, invite.reason)
    }
    return undefined
  }

  private refuse (from: PeerId, reason: TurnOutcome): TurnResponse & { ok: false } {
    this.refusals.refuse('turn', reason)
    this.safeDispatchEvent('turn:refuse', { detail: { peer: from.toString(), reason } })
    // A timed-out stream is never answered; the value only satisfies the type.
    return { ok: false, reason: reason === 'timeout' ? 'malformed' : reason === 'host-rate-limited' ? 'rate-limited' : reason }
  }
}

/**
 * Reads coturn's static-auth-secret from a file.
 * @throws {TurnConfigError} when the file is missing, too large or empty
 */
export async function readTurnSecret (file: string): Promise<Uint8Array> {
  return new TextEncoder().encode(await readSecretFile(file, 'TURN secret file', TurnConfigError))
}
