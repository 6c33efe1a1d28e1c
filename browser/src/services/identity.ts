/**
 * This tab's participant identity: an Ed25519 key whose PeerId is the page's
 * libp2p id and which signs its room messages. It lives in sessionStorage, so
 * a reload keeps it (the studio then knows the caller that comes back) and a
 * new tab is a new participant.
 */
import { generateStationKey, stationKeyFromSeed, type StationKey } from '@openstudio/protocol'
import { base64url } from 'multiformats/bases/base64'

const IDENTITY_KEY = 'openstudio:identity'

export function sessionIdentity (storage: Storage = sessionStorage): StationKey {
  const stored = storage.getItem(IDENTITY_KEY)
  if (stored !== null) {
    try {
      return stationKeyFromSeed(base64url.baseDecode(stored))
    } catch {
      // An unreadable identity is replaced by a new one.
    }
  }
  const key = generateStationKey()
  storage.setItem(IDENTITY_KEY, base64url.baseEncode(key.secretKey))
  return key
}
