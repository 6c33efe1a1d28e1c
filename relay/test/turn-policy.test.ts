/**
 * The relay's TURN policy without a network: who gets credentials, and how
 * often. Time is passed in, so the limits' windows are tested without waiting.
 */
import { describe, expect, it } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import {
  CALL_PASS_TTL_MS, createCallPass, createInvite, generateStationKey, TURN_CREDENTIAL_TTL_S, type TurnRequest, type TurnResponse
} from '@openstudio/protocol'
import { TURN_POLICY_DEFAULTS } from '../src/constants.ts'
import { servedStations } from '../src/stations.ts'
import { TurnService, type TurnGrantBasis, type TurnInit, type TurnOutcome } from '../src/turn.ts'
import type { RefusedResource } from '../src/refusals.ts'

const NOW = Date.UTC(2026, 10, 21, 12, 0, 0)
const MINUTE = 60_000
const station = generateStationKey()
const caller = generateStationKey().id
const stranger = generateStationKey().id
const home = { remoteAddr: multiaddr('/ip4/198.51.100.7/tcp/51234/ws') }
const SECRET = new TextEncoder().encode('turn-policy-secret')

/** A policy over `stations`, with what it refused and granted. */
function policy (stations: string[], init: Partial<TurnInit> = {}): {
  turn: TurnService
  refused: Array<[RefusedResource, string]>
  events: Array<TurnGrantBasis | TurnOutcome>
} {
  const refused: Array<[RefusedResource, string]> = []
  const events: Array<TurnGrantBasis | TurnOutcome> = []
  const registrar = { handle: async () => {}, unhandle: async () => {} }
  const turn = new TurnService({ registrar, stations: servedStations(stations), refusals: { refuse: (resource, reason) => { refused.push([resource, reason]) } } }, {
    urls: ['turn:turn.example.org:3478?transport=udp'], secret: SECRET, ...init
  })
  turn.addEventListener('turn:grant', (e) => { events.push(e.detail.basis) })
  turn.addEventListener('turn:refuse', (e) => { events.push(e.detail.reason) })
  return { turn, refused, events }
}

function ask (turn: TurnService, from: string, request: Partial<TurnRequest> = {}, init: { now?: number, remoteAddr?: ReturnType<typeof multiaddr> } = {}): TurnResponse {
  return turn.answer(peerIdFromString(from), { room: station.id, ...request }, { remoteAddr: init.remoteAddr ?? home.remoteAddr }, init.now ?? NOW)
}

const refusal = (response: TurnResponse): string => response.ok ? 'granted' : response.reason
const passFor = (peer: string, expiresAt = NOW + CALL_PASS_TTL_MS, key = station): string => createCallPass(key, { peer, expiresAt })

describe('TURN policy', () => {
  it('gives the studio itself credentials for its own station, in the coturn scheme', () => {
    const { turn, events } = policy([station.id])
    const response = ask(turn, station.id)
    expect(response.ok).toBe(true)
    if (!response.ok) return
    expect(response.expiresAt).toBe(NOW / 1000 + TURN_CREDENTIAL_TTL_S)
    expect(response.iceServers).toEqual([expect.objectContaining({ urls: ['turn:turn.example.org:3478?transport=udp'], username: `${response.expiresAt}:${station.id}` })])
    expect(events).toEqual(['studio'])
  })

  it('refuses every request about a station it does not serve, the studio and pass holders too', () => {
    const { turn, refused } = policy([generateStationKey().id])
    expect(refusal(ask(turn, station.id))).toBe('not-served')
    expect(refusal(ask(turn, caller, { pass: passFor(caller) }))).toBe('not-served')
    expect(refused).toEqual([['turn', 'not-served'], ['turn', 'not-served']])
    expect(refusal(ask(policy([]).turn, station.id))).toBe('not-served')
  })

  it("serves any station with '*'", () => {
    const { turn } = policy(['*'])
    expect(refusal(ask(turn, station.id))).toBe('granted')
    expect(refusal(ask(turn, caller, { pass: passFor(caller) }))).toBe('granted')
    // Any station is served, but a made-up room still needs its studio's pass.
    expect(refusal(ask(turn, stranger, { room: generateStationKey().id }))).toBe('no-pass')
    expect(refusal(ask(turn, stranger, { room: generateStationKey().id, pass: passFor(stranger) }))).toBe('no-pass')
  })

  it('gives a caller credentials with the pass the studio signed for it', () => {
    const { turn, events } = policy([station.id])
    expect(refusal(ask(turn, caller, { pass: passFor(caller) }))).toBe('granted')
    expect(events).toEqual(['pass'])
  })

  it('refuses a stranger without a pass, and every pass that is not this peer\'s for this station now', () => {
    const { turn, refused } = policy([station.id])
    expect(refusal(ask(turn, stranger))).toBe('no-pass')
    // Another peer's pass.
    expect(refusal(ask(turn, stranger, { pass: passFor(caller) }))).toBe('no-pass')
    // Expired: at its expiry, and a pass whose call ended long ago.
    expect(refusal(ask(turn, caller, { pass: passFor(caller, NOW) }))).toBe('no-pass')
    expect(refusal(ask(turn, caller, { pass: passFor(caller) }, { now: NOW + CALL_PASS_TTL_MS }))).toBe('no-pass')
    // A pass for this caller from another station: it does not open this room.
    expect(refusal(ask(turn, caller, { pass: passFor(caller, NOW + CALL_PASS_TTL_MS, generateStationKey()) }))).toBe('no-pass')
    // Garbage.
    expect(refusal(ask(turn, caller, { pass: 'gwFYYKNhZRsAAAGh' }))).toBe('no-pass')
    expect(refused.every(([resource, reason]) => resource === 'turn' && reason === 'no-pass')).toBe(true)
    expect(refused).toHaveLength(6)
  })

  it('gives a holder of a valid invite of the station credentials, and no one with an invalid one', () => {
    const { turn, events } = policy([station.id])
    const invite = (expiresAt: number, key = station): string => createInvite(key, { role: 'caller', expiresAt, nonce: new Uint8Array(16).fill(7) })
    expect(refusal(ask(turn, stranger, { invite: invite(NOW + MINUTE) }))).toBe('granted')
    expect(refusal(ask(turn, caller, { invite: invite(NOW) }))).toBe('no-pass')
    expect(refusal(ask(turn, caller, { invite: invite(NOW + MINUTE, generateStationKey()) }))).toBe('no-pass')
    // A bad pass does not spoil a good invite.
    expect(refusal(ask(turn, generateStationKey().id, { pass: passFor(caller), invite: invite(NOW + MINUTE) }))).toBe('granted')
    expect(events).toEqual(['invite', 'no-pass', 'no-pass', 'invite'])
  })

  it('limits each peer per minute, and lets it back in the next minute', () => {
    const { turn, refused } = policy([station.id], { requestsPerMinute: 2 })
    const pass = passFor(caller)
    expect(refusal(ask(turn, caller, { pass }))).toBe('granted')
    expect(refusal(ask(turn, caller, { pass }, { now: NOW + 1 }))).toBe('granted')
    expect(refusal(ask(turn, caller, { pass }, { now: NOW + 2 }))).toBe('rate-limited')
    // Another peer on the same host is not held back by this one.
    expect(refusal(ask(turn, station.id, {}, { now: NOW + 3 }))).toBe('granted')
    expect(refusal(ask(turn, caller, { pass }, { now: NOW + MINUTE }))).toBe('granted')
    expect(refused).toEqual([['turn', 'rate-limited']])
  })

  it('limits each host per minute across all its peer ids, since a peer id is free', () => {
    const { turn, refused, events } = policy([station.id], { requestsPerHostPerMinute: 3 })
    const fresh = (): string => generateStationKey().id
    const fromHome = (now = NOW): string => { const peer = fresh(); return refusal(ask(turn, peer, { pass: passFor(peer) }, { now })) }
    expect([fromHome(), fromHome(), fromHome(), fromHome()]).toEqual(['granted', 'granted', 'granted', 'rate-limited'])
    // The same /64 of IPv6 is one host; another address is another.
    const v6 = (suffix: string): { remoteAddr: ReturnType<typeof multiaddr> } => ({ remoteAddr: multiaddr(`/ip6/2001:db8:0:1:${suffix}/tcp/1`) })
    const peers = [fresh(), fresh(), fresh(), fresh()]
    const answers = peers.map((peer, i) => refusal(ask(turn, peer, { pass: passFor(peer) }, v6(`${i}::${i + 1}`))))
    expect(answers).toEqual(['granted', 'granted', 'granted', 'rate-limited'])
    expect(refusal(ask(turn, station.id, {}, { remoteAddr: multiaddr('/ip4/203.0.113.9/tcp/1') }))).toBe('granted')
    // The peer hears 'rate-limited'; the operator sees which limit it was.
    expect(refused).toEqual([['turn', 'host-rate-limited'], ['turn', 'host-rate-limited']])
    expect(events.filter((e) => e === 'host-rate-limited')).toHaveLength(2)
    // A minute on, the host may ask again.
    expect(fromHome(NOW + MINUTE)).toBe('granted')
  })

  it('counts a request against its host even when it is refused for another reason', () => {
    const { turn } = policy([station.id], { requestsPerHostPerMinute: 2 })
    expect(refusal(ask(turn, stranger))).toBe('no-pass')
    expect(refusal(ask(turn, generateStationKey().id))).toBe('no-pass')
    expect(refusal(ask(turn, caller, { pass: passFor(caller) }))).toBe('rate-limited')
  })

  it('defaults to a per-host limit above the per-peer one', () => {
    expect(TURN_POLICY_DEFAULTS.requestsPerHostPerMinute).toBeGreaterThan(TURN_POLICY_DEFAULTS.requestsPerMinute)
  })
})
