/**
 * A recording's manifest (`recording.json` in its directory): what the
 * recording is and which file holds which voice, written when it starts and
 * whenever a track is added, and marked finished when it stops. A studio
 * that finds one unfinished after a reload offers to finish it. Read back
 * from storage, it is input like any other: size-capped and schema-checked.
 */
import { z } from 'zod'

export const MANIFEST_NAME = 'recording.json'
/** Largest manifest read back: 64 tracks' names fit many times over. */
export const MAX_MANIFEST_BYTES = 64 * 1024
/** Most tracks in one recording: the room's limit, and the program. */
export const MAX_TRACKS = 65

const fileName = z.string().regex(/^[a-z0-9][a-z0-9._-]{0,150}$/)

export const trackSchema = z.strictObject({
  /** The participant's id (the station's for the host), or 'program'. */
  id: z.string().min(1).max(64),
  /** Who it is, for people. */
  who: z.string().min(1).max(64),
  file: fileName,
  channels: z.union([z.literal(1), z.literal(2)])
})

export const recordingManifestSchema = z.strictObject({
  version: z.literal(1),
  /** The show's name, for people and file names. */
  show: z.string().min(1).max(120),
  /** Unix ms when it started. */
  startedAt: z.number().int().nonnegative(),
  sampleRate: z.number().int().min(8000).max(192_000),
  /** What the tracks end as: WAV, or Opus in Ogg made from the WAV when the recording stops. */
  format: z.enum(['wav', 'opus']),
  tracks: z.array(trackSchema).max(MAX_TRACKS),
  /** Unix ms when it stopped; absent while it runs, or when it never stopped (a crash). */
  finishedAt: z.number().int().nonnegative().optional(),
  /** Its length in seconds, once stopped. */
  seconds: z.number().nonnegative().optional()
})

export type RecordingTrack = z.output<typeof trackSchema>
export type RecordingManifest = z.output<typeof recordingManifestSchema>

export function encodeManifest (manifest: RecordingManifest): Uint8Array<ArrayBuffer> {
  return new TextEncoder().encode(JSON.stringify(recordingManifestSchema.parse(manifest)))
}

/** @returns the manifest, or undefined for a file that is too large, not JSON or not a manifest */
export function decodeManifest (bytes: Uint8Array): RecordingManifest | undefined {
  if (bytes.length > MAX_MANIFEST_BYTES) return undefined
  try {
    const parsed = recordingManifestSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)))
    return parsed.success ? parsed.data : undefined
  } catch {
    // Not JSON: not a manifest.
    return undefined
  }
}

/** A name made safe for a file: lower-case letters, digits and dashes. */
export function slug (text: string, fallback: string): string {
  const clean = text.normalize('NFKD').replace(/[\u0300-\u036f]/g, '').toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 40)
  return clean === '' ? fallback : clean
}

/** `<show>-<date>-<who>.wav`, as the producer downloads it. */
export function trackFileName (show: string, startedAt: number, who: string): string {
  const date = new Date(startedAt).toISOString().slice(0, 16).replace('T', '-').replace(':', '')
  return `${slug(show, 'show')}-${date}-${who}.wav`
}

/** The Opus file made from a WAV track. */
export function opusFileName (wav: string): string {
  return wav.replace(/\.wav$/, '.opus')
}
