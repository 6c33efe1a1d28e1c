/**
 * Where the app finds the network: the relay that served the page
 * (`/api/bootstrap`), plus relays the user added in settings.
 */
import { requireStampBits, STAMP } from '@openstudio/protocol'
import { z } from 'zod'

const SETTINGS_KEY = 'openstudio:settings'

const bootstrapSchema = z.object({
  relays: z.array(z.string().max(512)).max(32),
  allowPrivate: z.boolean(),
  stampBits: z.number().int().min(0).max(STAMP.maxBits).optional()
})

/**
 * The least proof of work this page requires of a station key, whatever a
 * relay says: the public network's in production, none in test builds (whose
 * local networks ask for none unless a test says so).
 */
export const STAMP_BITS_FLOOR = __OPENSTUDIO_DIAGNOSTICS__ ? 0 : STAMP.bits

/** What the relay that served the page says in `/api/bootstrap`. */
export type Bootstrap = z.output<typeof bootstrapSchema>

export interface NetworkConfig {
  relays: string[]
  /** Dial loopback and LAN addresses (local and LAN networks only). */
  allowPrivate: boolean
}

/** The peer ids of the configured relays (each multiaddr ends in /p2p/<id>). */
export function relayPeerIds (relays: readonly string[]): string[] {
  return relays.flatMap((r) => r.includes('/p2p/') ? [r.split('/p2p/').at(-1) as string] : [])
}

export interface Settings {
  extraRelays: string[]
  /** Send call audio only through TURN (to test TURN, or to hide one's address). */
  forceTurn: boolean
}

const settingsSchema = z.object({
  extraRelays: z.array(z.string().max(512)).max(16).catch([]),
  forceTurn: z.boolean().catch(false)
})

export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/**
 * Reads `/api/bootstrap` from the page's origin.
 * @returns undefined when the origin answers with an error status (it serves no bootstrap)
 * @throws when the request fails, or the answer is not a bootstrap
 */
export async function fetchBootstrap (signal?: AbortSignal): Promise<Bootstrap | undefined> {
  const res = await fetch('/api/bootstrap', { signal, headers: { accept: 'application/json' } })
  return res.ok ? bootstrapSchema.parse(await res.json()) : undefined
}

/**
 * Requires the stamp work records must prove here (requireStampBits): the
 * build's floor, or what the relay asks when that is more. A relay can ask
 * for more work than the floor, never for less.
 */
export function applyStampPolicy (bootstrap?: Pick<Bootstrap, 'stampBits'>): void {
  requireStampBits(Math.max(STAMP_BITS_FLOOR, bootstrap?.stampBits ?? 0))
}

/**
 * Reads `/api/bootstrap` from the page's origin and merges the user's relays.
 * @throws {ConfigError} when no relay is known at all
 */
export async function loadNetworkConfig (signal?: AbortSignal): Promise<NetworkConfig> {
  // Until a relay says otherwise (or when none answers), records need the build's floor of work.
  applyStampPolicy()
  const settings = loadSettings()
  let fromOrigin: Bootstrap = { relays: [], allowPrivate: false }
  try {
    fromOrigin = await fetchBootstrap(signal) ?? fromOrigin
  } catch (err) {
    if (settings.extraRelays.length === 0) throw new ConfigError(`the relay that served this page did not say how to join the network (${(err as Error).message})`)
  }
  const relays = [...new Set([...fromOrigin.relays, ...settings.extraRelays])]
  if (relays.length === 0) throw new ConfigError('no relay is known: add one in Settings')
  // Records are checked as the network checks them.
  applyStampPolicy(fromOrigin)
  return { relays, allowPrivate: fromOrigin.allowPrivate }
}

export function loadSettings (): Settings {
  try {
    const parsed = settingsSchema.safeParse(JSON.parse(localStorage.getItem(SETTINGS_KEY) ?? '{}'))
    return parsed.success ? parsed.data : { extraRelays: [], forceTurn: false }
  } catch {
    return { extraRelays: [], forceTurn: false }
  }
}

export function saveSettings (settings: Settings): void {
  localStorage.setItem(SETTINGS_KEY, JSON.stringify(settings))
}
