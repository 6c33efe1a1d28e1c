/**
 * The studio's invite book kept in this browser's localStorage, one key per
 * station. What is read back is checked against a schema first: storage is
 * input like any other, and a bad entry is dropped, not trusted.
 */
import { logger } from '@libp2p/logger'
import { z } from 'zod'
import { INVITE_BOOK_DEFAULTS, type InviteStore } from '@openstudio/network'
import { INVITE_LABEL_MAX } from '@openstudio/protocol'

const log = logger('openstudio:app:invites')

const entrySchema = z.strictObject({
  nonce: z.string().regex(/^[0-9a-f]{1,64}$/),
  role: z.enum(['host', 'caller']),
  label: z.string().min(1).max(INVITE_LABEL_MAX).optional(),
  issuedAt: z.number().int().nonnegative(),
  expiresAt: z.number().int().nonnegative(),
  singleUse: z.boolean(),
  revoked: z.boolean(),
  usedBy: z.array(z.string().max(128)).max(INVITE_BOOK_DEFAULTS.maxEntries)
})

/** localStorage key of a station's invite book. */
export const inviteStoreKey = (stationId: string): string => `openstudio:invites:${stationId}`

/** A station's invites in localStorage. */
export function localStorageInviteStore (stationId: string, storage: Pick<Storage, 'getItem' | 'setItem'> = localStorage): InviteStore {
  const key = inviteStoreKey(stationId)
  return {
    load: () => {
      let raw: unknown
      try {
        raw = JSON.parse(storage.getItem(key) ?? '[]')
      } catch {
        log('the stored invites of %s are not JSON; starting afresh', stationId)
        return []
      }
      if (!Array.isArray(raw)) return []
      return raw.slice(0, INVITE_BOOK_DEFAULTS.maxEntries).flatMap((item) => {
        const parsed = entrySchema.safeParse(item)
        return parsed.success ? [parsed.data] : []
      })
    },
    save: (entries) => { storage.setItem(key, JSON.stringify(entries)) }
  }
}
