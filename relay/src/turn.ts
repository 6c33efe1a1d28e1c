/**
 * The relay's TURN policy for `/openstudio/turn/1`: short-lived coturn
 * credentials (the shared-secret scheme) go only to peers that the relay's
 * gossipsub sees subscribed to the room they ask about, a few times a minute
 * at most. The stream itself is read and written by network/'s `handleTurn`.
 */
import { logger } from '@libp2p/logger'
import { TypedEventEmitter, type Libp2p, type PeerId } from '@libp2p/interface'
import { handleTurn, type OpenStudioServices } from '@openstudio/node'
import { isIceUrl, PROTOCOL, TOPIC, turnCredentials, TURN_CREDENTIAL_TTL_S, type TurnRefusal, type TurnRequest, type TurnResponse } from '@openstudio/protocol'
import { TURN_POLICY_DEFAULTS } from './constants.ts'
import { readSecretFile } from './secret-file.ts'
import { PeerRateLimiter } from './rate-limit.ts'

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
  /** A TURN stream that has not finished by then is aborted. @default TURN_DEFAULTS.handlerTimeoutMs (network) */
  timeoutMs?: number
}

export interface TurnServiceComponents {
  registrar: Pick<Libp2p, 'handle' | 'unhandle'>
  pubsub: Pick<OpenStudioServices['pubsub'], 'getSubscribers'>
}

/** Why a stream got no credentials: a refusal sent to the peer, or a stream cut off for taking too long. */
export type TurnOutcome = TurnRefusal | 'timeout'

export interface TurnServiceEvents {
  /** Credentials went to `peer` for `room`. */
  'turn:grant': CustomEvent<{ peer: string, room: string }>
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
 * const turn = turnService({ urls: ['turn:127.0.0.1:3478?transport=udp'], secret })({ registrar: node, pubsub: node.services.pubsub })
 * await turn.start()
 * ```
 */
export function turnService (init: TurnInit): (components: TurnServiceComponents) => TurnService {
  return (components) => new TurnService(components, init)
}

export class TurnService extends TypedEventEmitter<TurnServiceEvents> {
  private readonly limiter: PeerRateLimiter
  private readonly ttlSeconds: number
  private running = false

  /** @throws {TurnConfigError} */
  constructor (private readonly components: TurnServiceComponents, private readonly init: TurnInit) {
    super()
    if (init.urls.length === 0) throw new TurnConfigError('TURN needs at least one URL')
    for (const url of init.urls) if (!isIceUrl(url)) throw new TurnConfigError(`not a TURN URL: ${url} (expected e.g. turn:turn.example.org:3478?transport=udp)`)
    if (init.secret.length === 0) throw new TurnConfigError('the TURN secret is empty')
    this.ttlSeconds = init.ttlSeconds ?? TURN_CREDENTIAL_TTL_S
    this.limiter = new PeerRateLimiter(init.requestsPerMinute ?? TURN_POLICY_DEFAULTS.requestsPerMinute, 60_000, TURN_POLICY_DEFAULTS.trackedPeersMax)
  }

  /** Registers `/openstudio/turn/1`. Idempotent. */
  async start (): Promise<void> {
    if (this.running) return
    await handleTurn(this.components.registrar, {
      answer: (from, request) => this.answer(from, request, Date.now()),
      onRejected: (from, why) => { this.refuse(from, why) }
    }, { timeoutMs: this.init.timeoutMs })
    this.running = true
  }

  /** Unregisters the protocol. Idempotent. */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    await this.components.registrar.unhandle(PROTOCOL.turn)
  }

  /** Decides on one well-formed request at `now` (unix ms). Public for tests without a network. */
  answer (from: PeerId, request: TurnRequest, now: number): TurnResponse {
    const peer = from.toString()
    if (!this.limiter.take(peer, now)) return this.refuse(from, 'rate-limited')
    const subscribed = this.components.pubsub.getSubscribers(TOPIC.room(request.room)).some((p) => p.equals(from))
    if (!subscribed) return this.refuse(from, 'not-in-room')
    let credentials
    try {
      credentials = turnCredentials(this.init.secret, { name: peer, now: Math.floor(now / 1000), ttlSeconds: this.ttlSeconds })
    } catch (err) {
      log('no TURN credentials for %p: %s', from, (err as Error).message)
      return this.refuse(from, 'unavailable')
    }
    log('TURN credentials for %p in room %s until %d', from, request.room, credentials.expiresAt)
    this.safeDispatchEvent('turn:grant', { detail: { peer, room: request.room } })
    return {
      ok: true,
      iceServers: [{ urls: [...this.init.urls], username: credentials.username, credential: credentials.credential }],
      expiresAt: credentials.expiresAt
    }
  }

  private refuse (from: PeerId, reason: TurnOutcome): TurnResponse & { ok: false } {
    this.safeDispatchEvent('turn:refuse', { detail: { peer: from.toString(), reason } })
    // A timed-out stream is never answered; the value only satisfies the type.
    return { ok: false, reason: reason === 'timeout' ? 'malformed' : reason }
  }
}

/**
 * Reads coturn's static-auth-secret from a file.
 * @throws {TurnConfigError} when the file is missing, too large or empty
 */
export async function readTurnSecret (file: string): Promise<Uint8Array> {
  return new TextEncoder().encode(await readSecretFile(file, 'TURN secret file', TurnConfigError))
}
