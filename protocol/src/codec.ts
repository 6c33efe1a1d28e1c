/**
 * A stream protocol's messages as canonical CBOR: schema-checked both ways,
 * size-capped both ways (what this side sends, the other side must accept).
 */
import type { z } from 'zod'
import { decodeCanonical, encodeCanonical } from './cbor.ts'
import { parseOrThrow } from './schema.ts'

export interface MessageCodec<T> {
  /** @throws {MalformedError | TooLargeError} */
  encode: (message: T) => Uint8Array
  /** Decodes untrusted bytes. @throws {MalformedError | TooLargeError} */
  decode: (bytes: Uint8Array) => T
}

export function cborCodec<T> (schema: z.ZodType<T>, what: string, maxBytes: number): MessageCodec<T> {
  return {
    encode: (message) => {
      const bytes = encodeCanonical(parseOrThrow(schema, message, what))
      decodeCanonical(bytes, what, maxBytes)
      return bytes
    },
    decode: (bytes) => parseOrThrow(schema, decodeCanonical(bytes, what, maxBytes), what)
  }
}
