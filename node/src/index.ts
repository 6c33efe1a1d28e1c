/**
 * @packageDocumentation
 *
 * OpenStudio on Node.js: the libp2p node factory, station publishing and
 * resolving, the directory, and key files. Import `@openstudio/node/polyfill`
 * first in every entry point (Node 20).
 *
 * @example
 * ```ts
 * import '@openstudio/node/polyfill'
 * import { openClient, resolveStation } from '@openstudio/node'
 *
 * const client = await openClient({ bootstrap: ['/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW…'], allowPrivate: true })
 * const { manifest } = await resolveStation(client.services, '12D3KooW…')
 * await client.stop()
 * ```
 */
export * from './errors.ts'
export { createOpenStudioNode, privateAddressGater, type OpenStudioNode, type OpenStudioNodeInit, type OpenStudioServices, type RelayServerInit } from './libp2p/create-node.ts'
export { DHT_DATASTORE_PREFIX, RELAY_SERVER_DEFAULTS } from './libp2p/constants.ts'
export { connectToRelays, type ConnectInit } from './libp2p/connect.ts'
export { generateKeyPair, libp2pKeyOf, privateKeyFromProtobuf, privateKeyToProtobuf } from './libp2p/keys.ts'
export { openClient, type ClientInit } from './client.ts'
export { recordRules, selectRecord, type RecordRules } from './libp2p/dht-records.ts'
export { publishStation, type PublishInit, type PublishResult, type PublishStep } from './station/publish.ts'
export { Republisher, REPUBLISH_DEFAULTS, type RepublisherEvents, type RepublisherInit } from './station/republisher.ts'
export { resolveStation, type ResolveInit, type ResolvedStation } from './station/resolve.ts'
export { listDirectory, type ListInit } from './directory/list.ts'
export { DirectoryWatcher, type DirectoryWatcherEvents } from './directory/watcher.ts'
export { readKeyFile, writeKeyFile } from './keyfile.ts'
