/**
 * Shared schema pieces and the conversion of schema failures into typed,
 * field-by-field errors.
 */
import { z } from 'zod'
import { MalformedError, type FieldIssue } from './errors.ts'
import { isStationId } from './identity.ts'

/** A libp2p Ed25519 PeerId string. */
export const stationIdSchema = z.string().refine(isStationId, 'not an Ed25519 station id (12D3KooW…)')

/** Unsigned safe integer (sequence numbers, clocks, unix milliseconds). */
export const uintSchema = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)

/** Bytes of an exact length. */
export const bytesSchema = (length: number): z.ZodType<Uint8Array> =>
  z.instanceof(Uint8Array).refine((b) => b.length === length, `must be ${length} bytes`)

/** A URL string limited to the given schemes. */
export const urlSchema = (schemes: readonly string[], max: number): z.ZodType<string> =>
  z.string().max(max).refine((s) => {
    try {
      const url = new URL(s)
      return schemes.includes(url.protocol) && url.hostname.length > 0 && url.username === '' && url.password === ''
    } catch {
      return false
    }
  }, `must be a ${schemes.map((p) => p.replace(':', '')).join(' or ')} URL without credentials`)

/**
 * Parses `value` with `schema`.
 * @throws {MalformedError} listing every failing field
 */
export function parseOrThrow<T> (schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value)
  if (result.success) return result.data
  const issues = toFieldIssues(result.error)
  throw new MalformedError(`${what} is invalid: ${issues.map(formatIssue).join('; ')}`, issues)
}

export function toFieldIssues (error: z.ZodError): FieldIssue[] {
  return error.issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }))
}

function formatIssue (issue: FieldIssue): string {
  return issue.path === '' ? issue.message : `${issue.path}: ${issue.message}`
}
