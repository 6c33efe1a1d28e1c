/**
 * @packageDocumentation
 *
 * The OpenStudio protocol, shared by the relay, the CLI and the browser. Pure
 * TypeScript: no I/O, no platform APIs, no libp2p node. Time and randomness
 * come in as parameters.
 *
 * @example
 * ```ts
 * import { generateStationKey, buildManifest, signManifest, stationRecordKey, validateStationRecord } from '@openstudio/protocol'
 *
 * const key = generateStationKey()
 * const manifest = buildManifest(key.id, draft, { seq: 1, now: Date.now() })
 * const { record } = signManifest(manifest, key)
 * const result = validateStationRecord(stationRecordKey(key.id), record, Date.now())
 * if (result.ok) console.log(result.value.name)
 * ```
 */
export * from './constants.ts'
export * from './errors.ts'
export {
  generateStationKey, isStationId, isStrictPublicKey, publicKeyFromStationId, stationIdFromBytes, stationIdFromPublicKey,
  stationIdToBytes, stationKeyFromSeed, useEd25519Verifier, type Ed25519Verifier, type StationKey
} from './identity.ts'
export { bytesEqual, compareBytes } from './cbor.ts'
export {
  mintStamp, requiredStampBits, requireStampBits, STAMP, stampWork, useStampHash, verifyStamp, type MintStampInit, type StampHash
} from './stamp.ts'
export {
  buildManifest, decodeManifest, draftOf, encodeManifest, isOnAir, manifestDraftSchema, manifestSchema, parseManifestDraft,
  signManifest, verifyManifest, verifyManifestOrThrow,
  type BuildManifestInit, type Manifest, type ManifestDraft, type ManifestDraftInput, type SignedManifest, type Stream,
  type Studio, type VerifyManifestInit, type VerifyResult
} from './manifest/manifest.ts'
export { isNewerManifest, selectStationRecord, stationIdFromRecordKey, stationRecordKey, validateStationRecord, type RecordValidator } from './record.ts'
export {
  createInvite, verifyInvite, type CreateInviteInit, type Invite, type InviteFailure, type InviteResult, type InviteRole,
  type VerifyInviteInit
} from './invite.ts'
export {
  createCallPass, verifyCallPass, type CallPass, type CallPassFailure, type CallPassResult, type CreateCallPassInit, type VerifyCallPassInit
} from './call-pass.ts'
export {
  decodeRoomMessage, encodeRoomMessage, roomMessageSchema, ROOM_SENDERS,
  type ParticipantSnapshot, type RoomCommand, type RoomEvent, type RoomMessage, type RoomMessageType, type RoomRequest, type RoomSigner,
  type SnapshotState, type Stage
} from './room/messages.ts'
export {
  createRoomState, hasGap, isProducer, participantsOf, reduceRoom, snapshotOf,
  type ParticipantState, type ParticipantView, type RoomState
} from './room/reducer.ts'
export { planMix, type MixParticipant, type MixPlan, type MixPlanInit, type Talkback } from './mixminus.ts'
export {
  decodeProviderFrame, decodeRecordsRequest, decodeStationsPage, directoryCid, encodeAnnouncement, encodeProviderFrame, encodeRecordsRequest,
  encodeStationsPage, MAX_PROVIDER_FRAME_BYTES, MAX_RECORDS_REQUEST_BYTES, MAX_STATIONS_PAGE, verifyAnnouncement,
  type DirectoryAnnouncement, type RecordsRequest, type StationsPage, type VerifiedAnnouncement
} from './directory.ts'
export {
  LISTENER_REPORT_MAX_AGE_MS, listenerReportSchema, MAX_LISTENER_REPORT_BYTES, signListenerReport, verifyListenerReport, type ListenerReport
} from './listeners.ts'
export {
  MAX_NOW_PLAYING_BYTES, NOW_PLAYING_MAX_AGE_MS, NOW_PLAYING_MAX_CHARS, nowPlayingSchema, sanitizeTitle, signNowPlaying, verifyNowPlaying,
  verifyNowPlayingOrThrow, type NowPlaying
} from './now-playing.ts'
export { decodeKeyFile, encodeKeyFile, MAX_KEY_FILE_CHARS } from './key-file.ts'
export {
  decodeTurnRequest, decodeTurnResponse, encodeTurnRequest, encodeTurnResponse, isIceUrl, MAX_TURN_MESSAGE_BYTES,
  turnCredentials, TURN_CREDENTIAL_TTL_S, TURN_LIMITS, TURN_REFUSALS, turnRequestSchema, turnResponseSchema,
  type TurnCredentialInit, type TurnCredentials, type TurnRefusal, type TurnRequest, type TurnResponse
} from './turn.ts'
export { CALL_TOPIC_MAX_CHARS, decodeSignal, encodeSignal, MAX_SIGNAL_BYTES, signalMessageSchema, type SignalMessage, type SignalMessageType } from './signal.ts'
export {
  CHAT_BURST, CHAT_MAX_CHARS, CHAT_MAX_SENDERS, CHAT_MAX_SKEW_MS, CHAT_REFILL_MS, CHAT_REFUSALS, CHAT_TO_ALL, CHAT_VERSION, ChatGate, chatMessageSchema,
  chatRefusalSchema, decodeChat, encodeChat, MAX_CHAT_BYTES, type ChatGateInit, type ChatMessage, type ChatRefusal, type ChatVerdict
} from './chat.ts'
export { sanitizeLine } from './text.ts'
export {
  decodeUpload, encodeUpload, MAX_UPLOAD_CHUNK_BYTES, MAX_UPLOAD_MESSAGE_BYTES, UPLOAD_REFUSALS, uploadMessageSchema, type UploadMessage, type UploadRefusal
} from './upload.ts'
export {
  concatBytes, isOpusHeaderPage, MAX_OGG_PAGE_BYTES, NO_GRANULE, OGG_FLAG, oggCrc, OggRepager, opusHead, opusTags, readOggPage, writeOggPage,
  type OggPage, type OggPageInit, type OpusHeadInit
} from './ogg.ts'
export {
  decodeProgramDown, decodeProgramUp, encodeProgramDown, encodeProgramUp, ICECAST_STATES, MAX_PROGRAM_MESSAGE_BYTES, PROGRAM_BITRATE_RANGE,
  PROGRAM_BITRATES, PROGRAM_CONTENT_TYPE, PROGRAM_FORMATS, PROGRAM_REFUSALS, programDownSchema, programUpSchema,
  type IcecastState, type ProgramDown, type ProgramFormat, type ProgramRefusal, type ProgramStart, type ProgramStatus, type ProgramUp
} from './program.ts'
