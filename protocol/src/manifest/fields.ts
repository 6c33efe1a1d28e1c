/**
 * Manifest field schemas. The fields follow what radio directories carry
 * (name, tags, language, country, homepage, logo, streams).
 */
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { MANIFEST_LIMITS as L } from '../constants.ts'
import { stationIdSchema, uintSchema, urlSchema } from '../schema.ts'
import { ISO_3166_ALPHA2 } from './countries.ts'

/** Lower-case tag: letters, digits and dashes. */
export const tagSchema = z.string().min(1).max(L.tagMax)
  .regex(/^[a-z0-9][a-z0-9-]*$/, 'tags are lower-case letters, digits and dashes')

/** A BCP-47 language tag in its canonical form (`en`, `pt-BR`, `zh-Hant`). */
export const languageSchema = z.string().min(2).max(35).regex(/^[a-z]{2,3}(-|$)/, 'must start with an ISO 639 language code').refine((tag) => {
  try {
    return Intl.getCanonicalLocales(tag)[0] === tag
  } catch {
    return false
  }
}, 'must be a canonical BCP-47 language tag such as "en" or "pt-BR"')

/** ISO 3166-1 alpha-2 country code, upper case. */
export const countrySchema = z.string().length(2).refine((c) => ISO_3166_ALPHA2.has(c), 'must be an ISO 3166-1 alpha-2 code such as "DE"')

/** A libp2p multiaddr string. */
export const multiaddrSchema = z.string().min(1).max(L.multiaddrMax).refine((s) => {
  try {
    return multiaddr(s).toString() === s
  } catch {
    return false
  }
}, 'must be a libp2p multiaddr such as /dns4/relay.example/tcp/443/wss/p2p/12D3KooW…')

export const streamSchema = z.strictObject({
  url: urlSchema(['http:', 'https:'], L.urlMax),
  codec: z.string().min(1).max(L.codecMax).regex(/^[a-z0-9][a-z0-9.+-]*$/, 'codec is lower case, such as "opus" or "mp3"'),
  bitrate: z.number().int().min(8).max(L.bitrateMaxKbps).describe('kb/s'),
  mount: z.string().min(2).max(L.mountMax).regex(/^\/[A-Za-z0-9._-]+$/, 'mount is a path such as "/live.ogg"')
})

export const studioSchema = z.strictObject({
  peer: stationIdSchema,
  onAir: z.boolean(),
  /**
   * Unix ms until which an on-air claim holds: the studio renews it while it
   * is on air (LIVE_CLAIM_REFRESH_MS), so a studio that dies stops showing as
   * on air within LIVE_CLAIM_TTL_MS. A claim without it is not believed.
   */
  liveUntil: uintSchema.optional()
})

export const accessSchema = z.enum(['open', 'invite'])

const uniqueTags = z.array(tagSchema).max(L.tagsMax)
  .refine((tags) => new Set(tags).size === tags.length, 'tags must not repeat')

/** The fields a station owner edits (the `--manifest FILE.json` of the CLI and the web form). */
export const draftFields = {
  name: z.string().trim().min(1).max(L.nameMax),
  description: z.string().max(L.descriptionMax),
  tags: uniqueTags,
  language: languageSchema,
  country: countrySchema,
  homepage: urlSchema(['https:'], L.urlMax),
  logo: urlSchema(['https:'], L.urlMax).optional(),
  streams: z.array(streamSchema).min(L.streamsMin).max(L.streamsMax),
  access: accessSchema
}
