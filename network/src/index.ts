/**
 * @packageDocumentation
 *
 * The OpenStudio network layer, shared by Node (relays, CLI) and the browser:
 * the one libp2p node factory (platform transports injected), the DHT record
 * rules, publishing, resolving and listing stations, and the directory topic.
 * Platform-neutral: no Node built-ins and no DOM.
 *
 * @example
 * ```ts
 * import { createOpenStudioNode, connectToRelays, resolveStation } from '@openstudio/network'
 *
 * const node = await createOpenStudioNode({ transports: [webSockets(), circuitRelayTransport()] })
 * await connectToRelays(node, ['/dns4/relay.example.org/tcp/443/wss/p2p/12D3KooW…'])
 * const { manifest } = await resolveStation(node.services, '12D3KooW…')
 * ```
 */
export * from './errors.ts'
export {
  createOpenStudioNode, privateAddressGater,
  type InboundLimitsInit, type OpenStudioNode, type OpenStudioNodeInit, type OpenStudioServices, type RelayServerInit
} from './libp2p/create-node.ts'
export { DHT_DATASTORE_PREFIX, DIRECTORY_READER_K, GOSSIP_SCORE, INBOUND_LIMITS_DEFAULTS, PING_INTERVAL_MS, PING_TIMEOUT_MIN_MS, RELAY_SERVER_DEFAULTS, STREAM_LIMITS } from './libp2p/constants.ts'
export { HostLimitError, HostLimits, type HostLimitsInit, type HostRefusal } from './libp2p/host-limits.ts'
export { connectToRelays, type ConnectInit } from './libp2p/connect.ts'
export { hostOf, hostOfIp } from './libp2p/host.ts'
export { generateKeyPair, libp2pKeyOf, privateKeyFromProtobuf, privateKeyToProtobuf } from './libp2p/keys.ts'
export { readStoredRecord, recordDatastoreKey, recordRules, selectRecord, storedProviders, storedRecords, type RecordRules, type RecordStore, type StoreQuery, type StoredRecord } from './libp2p/dht-records.ts'
export { createRecordCache, recordCache, validateRecordCached, type RecordCache } from './libp2p/record-cache.ts'
export {
  directoryValidator, gossipScoreParams, releaseRoomTopic, roomValidator, RoomRejections, validateDirectoryData, validateGossip, validateRoomData,
  validateRoomTopic, DIRECTORY_MESSAGE_MAX_BYTES, ROOM_TOPIC_MESSAGE_MAX_BYTES,
  type GossipDropListener, type GossipTopicKind, type GossipValidationInit, type RoomRejectionsInit, type RoomValidatorInit
} from './libp2p/gossip-validation.ts'
export { publishStation, type PublishInit, type PublishResult, type PublishStep } from './station/publish.ts'
export { Republisher, REPUBLISH_DEFAULTS, type RepublisherEvents, type RepublisherInit } from './station/republisher.ts'
export { resolveStation, RESOLVE_TIMEOUT_MS, type ResolveInit, type ResolvedStation } from './station/resolve.ts'
export { byName, keep, listDirectory, LIST_DEFAULTS, type DirectoryComponents, type ListInit } from './directory/list.ts'
export { fetchSnapshot, handleRecords, RECORDS_DEFAULTS, type FetchSnapshotInit, type SnapshotItem, type SnapshotSource } from './directory/records.ts'
export { DIRECTORY_WATCHER_MAX_STATIONS, DirectoryWatcher, type DirectoryWatcherComponents, type DirectoryWatcherEvents, type DirectoryWatcherInit } from './directory/watcher.ts'
export { connectionKind, handlePing, pingStation, PING_MAX_BYTES, type ConnectionKind, type PingInit } from './ping.ts'
export { dialStation, DIAL_DEFAULTS, stationAddresses, type DialedStation, type DialInit } from './dial.ts'
export {
  handleSignal, handleUpload, MessageChannel, NoDirectConnectionError, openSignal, openUpload, SignalChannel, SIGNAL_DEFAULTS, UploadChannel, type MessageCodec
} from './signal/channel.ts'
export { RoomChannel, type RoomChannelComponents, type RoomChannelEvents, type RoomChannelInit, type RoomRejection } from './room/channel.ts'
export {
  RoomAuthority, RoomFullError, ROOM_AUTHORITY_DEFAULTS,
  type Admission, type AdmissionRefusal, type RequestOutcome, type RequestRefusal, type RoomAuthorityComponents, type RoomAuthorityEvents, type RoomAuthorityInit
} from './room/authority.ts'
export {
  InviteBook, INVITE_BOOK_DEFAULTS, memoryInviteStore,
  type InviteBookComponents, type InviteEntry, type InviteRefusal, type InviteStore, type InviteVerdict, type IssueInviteInit
} from './room/invites.ts'
export { handleTurn, requestTurnServers, TURN_DEFAULTS, type HandleTurnInit, type IceServer, type TurnAnswerer, type TurnRejection, type TurnRequestContext, type TurnRequestInit, type TurnServers } from './turn.ts'
export {
  handleProgram, PROGRAM_DEFAULTS, ProgramSender,
  type HandleProgramInit, type OpenProgramInit, type ProgramIngest, type ProgramRejection, type ProgramReply, type ProgramSenderEvents,
  type ProgramSink, type ProgramStatusReport
} from './program.ts'
