/**
 * Canonical binary encoding: DAG-CBOR (sorted map keys, shortest integers, no
 * indefinite lengths). Decoding distrusts its input: the size is capped first,
 * and bytes that decode but are not the canonical encoding of their value are
 * rejected, so one value has exactly one accepted encoding.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { MalformedError, TooLargeError } from './errors.ts'

/** Encodes a plain value canonically. `undefined` fields are dropped first. */
export function encodeCanonical (value: unknown): Uint8Array {
  return dagCbor.encode(dropUndefined(value))
}

/**
 * Decodes canonical DAG-CBOR of at most `maxBytes`.
 * @throws {TooLargeError} before decoding when the input is too large
 * @throws {MalformedError} when it does not decode or is not canonical
 */
export function decodeCanonical (bytes: Uint8Array, what: string, maxBytes: number): unknown {
  if (!(bytes instanceof Uint8Array)) throw new MalformedError(`${what} is not bytes`)
  if (bytes.length > maxBytes) throw new TooLargeError(what, bytes.length, maxBytes)
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch (err) {
    throw new MalformedError(`${what} is not valid CBOR: ${(err as Error).message}`)
  }
  if (!bytesEqual(dagCbor.encode(value), bytes)) throw new MalformedError(`${what} is not canonically encoded`)
  return value
}

/** Byte-for-byte equality (not constant-time; nothing secret is compared with it). */
export function bytesEqual (a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Lexicographic byte order, for deterministic tie-breaks. */
export function compareBytes (a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number)
    if (d !== 0) return d
  }
  return a.length - b.length
}

function dropUndefined (value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropUndefined)
  if (value === null || typeof value !== 'object' || value instanceof Uint8Array) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) if (v !== undefined) out[k] = dropUndefined(v)
  return out
}
