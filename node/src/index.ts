/**
 * @packageDocumentation
 *
 * OpenStudio on Node.js: the network layer (re-exported from
 * `@openstudio/network`) with Node's transports, key files on disk, and the
 * CLI commands. Import `@openstudio/node/polyfill` first in every entry point
 * (Node 20).
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
export * from '@openstudio/network'
export * from './errors.ts'
export { openClient, type ClientInit } from './client.ts'
export { readKeyFile, writeKeyFile } from './keyfile.ts'
export { DEFAULT_BURST_BYTES, fallbackMount, icecastConfig, mp3Mount, mountWithFallback, type IcecastConfigInit, type IcecastMount, type IcecastRelay } from './icecast/config.ts'
export { FallbackSource, type FallbackSourceInit } from './icecast/fallback.ts'
export { hasIcecast, IcecastUnavailableError, startIcecast, type LocalIcecast, type LocalIcecastInit } from './icecast/process.ts'
export { IcecastRefusedError, IcecastSource, type IcecastSourceEvents, type IcecastSourceInit, type IceHeaders, type SourceState, type SourceStatus } from './icecast/source.ts'
export { FALLBACK_SOURCE_DEFAULTS, ICECAST_SOURCE_DEFAULTS } from './icecast/constants.ts'
export { readIcecastMounts, type MountStatus } from './icecast/status.ts'
export { IcecastMetadataError, icecastTitleUrl, setIcecastTitle, type IcecastTitleInit } from './icecast/metadata.ts'
export { Transcoder, type TranscoderEvents, type TranscoderInit, type TranscoderState, type TranscoderStatus } from './ffmpeg/transcoder.ts'
export { HLS_DEFAULTS, hlsOutput, MP3_DEFAULTS, mp3Output, TRANSCODER_DEFAULTS } from './ffmpeg/constants.ts'
