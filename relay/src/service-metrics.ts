/** Prometheus metrics of the relay's room routing and TURN service, fed by their events. */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { RoomRouter } from './rooms.ts'
import type { ProgramService } from './program.ts'
import type { TurnOutcome, TurnService } from './turn.ts'

export function registerRoomMetrics (registry: Registry, rooms: RoomRouter): void {
  const registers = [registry]
  new Gauge({ name: 'openstudio_relay_rooms', help: 'Room topics this relay routes (subscribes to for its peers)', registers, collect () { this.set(rooms.rooms.size) } })
  const refused = new Counter({ name: 'openstudio_relay_rooms_refused_total', help: 'Room subscriptions not followed: the relay routes its maximum of rooms, or the peer or its host opened its share (see openstudio_relay_refused_total{resource="room"})', registers })
  rooms.addEventListener('room:refuse', () => { refused.inc() })
}

export function registerTurnMetrics (registry: Registry, turn: TurnService): void {
  const requests = new Counter({
    name: 'openstudio_relay_turn_requests_total',
    help: 'TURN credential requests by result: granted, or the reason for refusing',
    labelNames: ['result'] as const,
    registers: [registry]
  })
  // Every outcome, so that a new one cannot go unlisted: each series exists at 0 before its first request.
  const outcomes: Record<TurnOutcome, true> = { 'not-served': true, 'no-pass': true, malformed: true, 'rate-limited': true, 'host-rate-limited': true, unavailable: true, timeout: true }
  for (const result of ['granted', ...Object.keys(outcomes)]) requests.labels(result).inc(0)
  turn.addEventListener('turn:grant', () => { requests.labels('granted').inc() })
  turn.addEventListener('turn:refuse', (event) => { requests.labels(event.detail.reason).inc() })
}

export function registerProgramMetrics (registry: Registry, program: ProgramService): void {
  const registers = [registry]
  const status = (): ProgramService['current'] => program.current
  new Gauge({ name: 'openstudio_program_active', help: 'Whether a program is being fed to Icecast (1) or not (0)', registers, collect () { this.set(status() === undefined ? 0 : 1) } })
  new Gauge({ name: 'openstudio_program_bytes_in', help: 'Bytes of the current program received from the studio', registers, collect () { this.set(status()?.status.bytesIn ?? 0) } })
  new Gauge({ name: 'openstudio_program_bytes_out', help: 'Bytes of the current program sent to Icecast (replays included)', registers, collect () { this.set(status()?.status.bytesOut ?? 0) } })
  new Gauge({ name: 'openstudio_program_buffer_ms', help: 'Audio held for replay after an Icecast outage, in ms', registers, collect () { this.set(status()?.status.bufferedMs ?? 0) } })
  new Gauge({ name: 'openstudio_program_buffer_bytes', help: 'Bytes of audio held for replay after an Icecast outage (bounded by the program buffer bytes)', registers, collect () { this.set(status()?.status.bufferedBytes ?? 0) } })
  new Gauge({ name: 'openstudio_program_backlog_ms', help: 'Audio waiting for Icecast, in ms', registers, collect () { this.set(status()?.status.backlogMs ?? 0) } })
  new Gauge({ name: 'openstudio_program_lost_ms', help: 'Audio dropped because an outage outlasted the buffer, in ms', registers, collect () { this.set(status()?.status.lostMs ?? 0) } })
  new Gauge({ name: 'openstudio_program_lost_bytes', help: 'Bytes of the program dropped from the replay buffer before Icecast had them (an outage, or the byte bound)', registers, collect () { this.set(status()?.status.lostBytes ?? 0) } })
  new Gauge({ name: 'openstudio_program_listeners', help: 'Listeners of the mount, as Icecast reports them', registers, collect () { this.set(status()?.listeners ?? 0) } })
  const reconnects = new Counter({ name: 'openstudio_program_icecast_reconnects_total', help: 'Icecast source connections re-established after a failure', registers })
  const streams = new Counter({ name: 'openstudio_program_streams_total', help: 'Program streams by result: accepted, or the reason for refusing', labelNames: ['result'] as const, registers })
  for (const result of ['accepted', 'not-station', 'bad-manifest', 'malformed', 'timeout']) streams.labels(result).inc(0)
  program.addEventListener('program:start', () => { streams.labels('accepted').inc() })
  program.addEventListener('program:refuse', (e) => { streams.labels(e.detail.reason).inc() })
  program.addEventListener('program:status', (e) => { if (e.detail.state === 'connected' && e.detail.reconnects > 0) reconnects.inc() })
}
