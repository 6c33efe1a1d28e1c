/**
 * Ed25519 verification through Node's OpenSSL: about 0.15 ms a signature,
 * against 3 ms for the protocol's pure-JS verifier. A listing checks every
 * record of several relay snapshots, and a relay checks every record put to
 * it, so this is what the polyfill installs for the protocol.
 *
 * OpenSSL accepts public keys that RFC 8032's strict reading refuses (small
 * order, non-canonical); each key passes the protocol's isStrictPublicKey
 * once, and is then kept as a KeyObject.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import { isStrictPublicKey, type Ed25519Verifier } from '@openstudio/protocol'

/** SubjectPublicKeyInfo DER header of an Ed25519 key (RFC 8410); the 32 key bytes follow. */
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
/** Keys remembered at most; the oldest are dropped first. */
const KEY_CACHE_SIZE = 4096

export function createNativeVerifier (cacheSize = KEY_CACHE_SIZE): Ed25519Verifier {
  const keys = new Map<string, KeyObject | null>()
  const keyOf = (publicKey: Uint8Array): KeyObject | null => {
    const name = Buffer.from(publicKey).toString('base64')
    let key = keys.get(name)
    if (key === undefined) {
      key = isStrictPublicKey(publicKey)
        ? createPublicKey({ key: Buffer.concat([SPKI_PREFIX, publicKey]), format: 'der', type: 'spki' })
        : null
      if (keys.size >= cacheSize) keys.delete(keys.keys().next().value as string)
      keys.set(name, key)
    }
    return key
  }
  return (signature, message, publicKey) => {
    const key = keyOf(publicKey)
    return key !== null && verify(null, message, key, signature)
  }
}
