/**
 * Protocol constants. Every magic number of the wire format lives here.
 * Changing a domain string or a cap is a protocol version change.
 */

/** Signature domains: a signature made for one message type never verifies as another. */
export const DOMAIN = {
  manifest: 'openstudio/manifest/v1\u0000',
  invite: 'openstudio/invite/v1\u0000',
  room: 'openstudio/room/v2\u0000',
  listeners: 'openstudio/listeners/v1\u0000',
  callPass: 'openstudio/call-pass/v1\u0000',
  nowPlaying: 'openstudio/now-playing/v1\u0000',
  chat: 'openstudio/chat/v1\u0000'
} as const

/** The manifest schema version this code writes and accepts. */
export const MANIFEST_VERSION = 1
/** The signed-record envelope version this code writes and accepts (2 added the proof-of-work stamp). */
export const RECORD_VERSION = 2
/** The invite token version this code writes and accepts. */
export const INVITE_VERSION = 1
/** The room-control envelope version this code writes and accepts (docs/room.md). */
export const ROOM_VERSION = 2
/** The call pass version this code writes and accepts. */
export const CALL_PASS_VERSION = 1

/** Largest encoded manifest, in bytes. */
export const MAX_MANIFEST_BYTES = 10 * 1024
/** Largest DHT record (envelope around a manifest), in bytes. */
export const MAX_RECORD_BYTES = MAX_MANIFEST_BYTES + 256
/** Largest invite token, as its URL-safe string. */
export const MAX_INVITE_CHARS = 512
/** Largest call pass, as its URL-safe string (a pass for the longest peer id is about 260). */
export const MAX_CALL_PASS_CHARS = 384
/** Longest raw peer id a call pass names, in bytes (Ed25519 ids are 38, sha256-hashed RSA ids 34). */
export const CALL_PASS_PEER_MAX_BYTES = 64
/** How long a call pass the studio signs into its welcome lasts; a resumed call gets a fresh one. */
export const CALL_PASS_TTL_MS = 15 * 60 * 1000
/** Largest room-control envelope, in bytes (a snapshot of a full room fits). */
export const MAX_ROOM_MESSAGE_BYTES = 48 * 1024

/** Longest a manifest may stay valid after it was issued. */
export const MAX_MANIFEST_LIFETIME_MS = 7 * 24 * 60 * 60 * 1000
/** Default manifest lifetime; publishers republish at half of it. */
export const DEFAULT_MANIFEST_LIFETIME_MS = 24 * 60 * 60 * 1000
/** How far in the future an issuedAt may lie before it counts as forged (clock skew). */
export const MAX_CLOCK_SKEW_MS = 10 * 60 * 1000

/** Manifest field caps. */
export const MANIFEST_LIMITS = {
  nameMax: 80,
  descriptionMax: 1000,
  tagsMax: 10,
  tagMax: 32,
  streamsMin: 1,
  streamsMax: 8,
  relaysMax: 8,
  urlMax: 512,
  multiaddrMax: 256,
  codecMax: 32,
  mountMax: 64,
  bitrateMaxKbps: 1536
} as const

/** Room limits. */
export const ROOM_LIMITS = {
  participantsMax: 64,
  nameMax: 64,
  /** Station commands a replica holds while it waits for the ones before them. */
  pendingMax: 64,
  gainMinDb: -60,
  gainMaxDb: 12
} as const

/** How long a studio's on-air claim in its manifest holds (manifest `studio.liveUntil`; see isOnAir). */
export const LIVE_CLAIM_TTL_MS = 45_000
/** How often a studio on air renews its claim: well within the TTL, so one lost publish does not take it off air. */
export const LIVE_CLAIM_REFRESH_MS = 15_000

/** Invite label cap, in characters. */
export const INVITE_LABEL_MAX = 64
/** Invite nonce length, in bytes. */
export const INVITE_NONCE_BYTES = 16
/** Longest an invite may stay valid: one whose expiry is further ahead than this is refused. */
export const INVITE_MAX_TTL_MS = 7 * 24 * 60 * 60 * 1000

/** DHT key prefix and the kad-dht validator/selector namespace it selects. */
export const DHT_NAMESPACE = 'openstudio'
export const DHT_KEY_PREFIX = `/${DHT_NAMESPACE}/`

/** libp2p protocol ids and gossipsub topics. */
export const PROTOCOL = {
  kad: '/openstudio/kad/1.0.0',
  ping: '/openstudio/ping/1',
  signal: '/openstudio/signal/1',
  program: '/openstudio/program/1',
  turn: '/openstudio/turn/1',
  /** A caller's own recording of its microphone, uploaded to the studio (the double-ender). */
  upload: '/openstudio/upload/1',
  /** A relay's snapshot of the station records and directory providers it holds (fast directory listing). */
  records: '/openstudio/records/2'
} as const

/** `/openstudio/records/2`: most records a relay sends in one answer. */
export const MAX_SNAPSHOT_RECORDS = 4096
/** `/openstudio/records/2`: most providers a relay sends in one answer, and in one frame. */
export const MAX_SNAPSHOT_PROVIDERS = 4096
export const PROVIDERS_PER_FRAME = 128

export const TOPIC = {
  directory: '/openstudio/directory/1',
  /** Room-control topic of one station. */
  room: (stationId: string): string => `/openstudio/room/2/${stationId}`
} as const

/** Strings hashed into the well-known directory provider keys. */
export const DIRECTORY_KEY = {
  all: '/openstudio/directory/all',
  tag: (tag: string): string => `/openstudio/directory/tag/${tag}`
} as const
