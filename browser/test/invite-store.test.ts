import { describe, expect, it } from 'vitest'
import { InviteBook } from '@openstudio/network'
import { generateStationKey } from '@openstudio/protocol'
import { inviteStoreKey, localStorageInviteStore } from '../src/services/studio/invite-store.ts'

/** A Storage of strings in memory. */
function memoryStorage (): Pick<Storage, 'getItem' | 'setItem'> & { items: Map<string, string> } {
  const items = new Map<string, string>()
  return { items, getItem: (k) => items.get(k) ?? null, setItem: (k, v) => { items.set(k, v) } }
}

describe('the studio\'s invite store', () => {
  const key = generateStationKey()

  it('keeps a book\'s invites across page loads', () => {
    const storage = memoryStorage()
    const book = new InviteBook({ key, store: localStorageInviteStore(key.id, storage) })
    const { token, entry } = book.issue({ role: 'host', validForMs: 3_600_000, label: 'Ada', singleUse: true })
    book.use(token, 'peer-a')
    const again = new InviteBook({ key, store: localStorageInviteStore(key.id, storage) })
    expect(again.list()).toEqual([{ ...entry, usedBy: ['peer-a'] }])
    expect(again.check(token, 'peer-b')).toEqual({ ok: false, reason: 'invite-used' })
  })

  it('reads what is not JSON, not a list, or not an invite as nothing, and keeps the good entries', () => {
    const storage = memoryStorage()
    for (const junk of ['{not json', '{"a":1}', '42']) {
      storage.setItem(inviteStoreKey(key.id), junk)
      expect(localStorageInviteStore(key.id, storage).load()).toEqual([])
    }
    const good = { nonce: 'ab'.repeat(16), role: 'caller', issuedAt: 1, expiresAt: 2, singleUse: false, revoked: false, usedBy: [] }
    storage.setItem(inviteStoreKey(key.id), JSON.stringify([good, { ...good, role: 'admin' }, { ...good, extra: true }, { ...good, usedBy: 'x' }, null]))
    expect(localStorageInviteStore(key.id, storage).load()).toEqual([good])
  })
})
