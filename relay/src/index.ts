/**
 * @packageDocumentation
 *
 * The OpenStudio relay node: the network's backbone that station owners run.
 *
 * @example
 * ```ts
 * import '@openstudio/node/polyfill'
 * import { Relay } from '@openstudio/relay'
 *
 * const relay = await Relay.create({ dataDir: './data', http: { host: '127.0.0.1', port: 8080 } })
 * console.log(relay.multiaddrs)
 * await relay.stop()
 * ```
 */
export { Relay, STATION_TAG, type RelayHealth, type RelayInit } from './relay.ts'
export { DEFAULT_LISTEN, DEFAULT_MAX_ROOMS, PROGRAM_POLICY_DEFAULTS, TURN_POLICY_DEFAULTS } from './constants.ts'
export { RoomRouter, roomOf, type RoomRouterComponents, type RoomRouterEvents, type RoomRouterInit } from './rooms.ts'
export {
  readTurnSecret, TurnConfigError, TurnService, turnService,
  type TurnInit, type TurnOutcome, type TurnServiceComponents, type TurnServiceEvents
} from './turn.ts'
export { iceHeaders, ProgramConfigError, ProgramService, type ProgramInit, type ProgramServiceComponents, type ProgramServiceEvents } from './program.ts'
export { RelayDirectory, RELAY_DIRECTORY_DEFAULTS, DirectoryRefusedError } from './directory.ts'
export { QUERIES_PER_HOST } from './directory-http.ts'
export { InvalidQueryError, StationIndex, STATION_INDEX_DEFAULTS, STATION_QUERY_LIMITS, type IndexedStation, type StationQuery, type StationSource } from './station-index.ts'
