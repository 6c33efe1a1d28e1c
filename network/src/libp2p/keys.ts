/** Conversions between station keys and libp2p key objects. */
import { generateKeyPair, privateKeyFromProtobuf, privateKeyFromRaw, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { StationKey } from '@openstudio/protocol'
import type { PrivateKey } from '@libp2p/interface'

/** The libp2p private key of a station key: the station's node then has the station id as its PeerId. */
export function libp2pKeyOf (key: StationKey): PrivateKey {
  const raw = new Uint8Array(64)
  raw.set(key.secretKey, 0)
  raw.set(key.publicKey, 32)
  return privateKeyFromRaw(raw)
}

export { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf }
