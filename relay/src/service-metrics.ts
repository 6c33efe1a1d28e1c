/** Prometheus metrics of the relay's room routing and TURN service, fed by their events. */
import { Counter, Gauge, type Registry } from 'prom-client'
import type { RoomRouter } from './rooms.ts'
import type { TurnService } from './turn.ts'

export function registerRoomMetrics (registry: Registry, rooms: RoomRouter): void {
  const registers = [registry]
  new Gauge({ name: 'openstudio_relay_rooms', help: 'Room topics this relay routes (subscribes to for its peers)', registers, collect () { this.set(rooms.rooms.size) } })
  const refused = new Counter({ name: 'openstudio_relay_rooms_refused_total', help: 'Room subscriptions not followed because the relay routes its maximum of rooms', registers })
  rooms.addEventListener('room:refuse', () => { refused.inc() })
}

export function registerTurnMetrics (registry: Registry, turn: TurnService): void {
  const requests = new Counter({
    name: 'openstudio_relay_turn_requests_total',
    help: 'TURN credential requests by result: granted, or the reason for refusing',
    labelNames: ['result'] as const,
    registers: [registry]
  })
  for (const result of ['granted', 'not-in-room', 'malformed', 'rate-limited', 'unavailable', 'timeout']) requests.labels(result).inc(0)
  turn.addEventListener('turn:grant', () => { requests.labels('granted').inc() })
  turn.addEventListener('turn:refuse', (event) => { requests.labels(event.detail.reason).inc() })
}
