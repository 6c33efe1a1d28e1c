/**
 * Reads Icecast's `/status-json.xsl`: listeners and content type per mount.
 * Icecast is a neighbour, not a trusted party: the answer is size-capped and
 * every field is checked before use.
 */
import { z } from 'zod'

/** Largest status document read (hundreds of mounts fit). */
const MAX_STATUS_BYTES = 1024 * 1024

export interface MountStatus {
  mount: string
  listeners: number
  contentType?: string
}

const sourceSchema = z.object({
  listenurl: z.string().max(2048),
  listeners: z.number().int().nonnegative().optional(),
  server_type: z.string().max(256).optional()
})
const statusSchema = z.object({
  icestats: z.object({ source: z.union([sourceSchema, z.array(sourceSchema)]).optional() })
})

/**
 * The mounts Icecast serves now, keyed by mount path.
 * @throws {Error} when Icecast does not answer in time or answers with something else
 */
export async function readIcecastMounts (url: string, signal?: AbortSignal): Promise<Map<string, MountStatus>> {
  const res = await fetch(new URL('/status-json.xsl', url), { signal: signal ?? AbortSignal.timeout(5_000) })
  if (!res.ok) throw new Error(`Icecast status answered ${res.status}`)
  const text = await res.text()
  if (text.length > MAX_STATUS_BYTES) throw new Error(`Icecast status is larger than ${MAX_STATUS_BYTES} bytes`)
  // Icecast 2.4 writes a bare `-` for an unset number in some fields: the schema ignores those fields.
  const parsed = statusSchema.safeParse(JSON.parse(text))
  if (!parsed.success) throw new Error(`Icecast status is not what Icecast 2.4 writes: ${parsed.error.issues[0]?.message ?? ''}`)
  const sources = parsed.data.icestats.source ?? []
  const mounts = new Map<string, MountStatus>()
  for (const source of Array.isArray(sources) ? sources : [sources]) {
    let mount: string
    try {
      mount = new URL(source.listenurl).pathname
    } catch {
      continue
    }
    mounts.set(mount, { mount, listeners: source.listeners ?? 0, contentType: source.server_type })
  }
  return mounts
}
