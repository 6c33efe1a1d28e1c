import { describe, expect, it } from 'vitest'
import { createInvite, generateStationKey, INVITE_MAX_TTL_MS, INVITE_NONCE_BYTES } from '@openstudio/protocol'
import { InviteBook, memoryInviteStore, type InviteStore } from '../src/room/invites.ts'

const T0 = Date.UTC(2026, 10, 21, 12, 0, 0)
const HOUR = 60 * 60 * 1000
const station = generateStationKey()
const [ada, ben] = [generateStationKey().id, generateStationKey().id]

/** A book over `store` with a clock the test moves. */
function bookAt (store: InviteStore = memoryInviteStore(), maxEntries?: number): { book: InviteBook, store: InviteStore, clock: { now: number } } {
  const clock = { now: T0 }
  return { book: new InviteBook({ key: station, store, now: () => clock.now }, { maxEntries }), store, clock }
}

describe('invite book', () => {
  it('issues invites, lists them newest first, and revokes them', () => {
    const { book, clock } = bookAt()
    const first = book.issue({ role: 'caller', validForMs: HOUR, label: 'Monday guests' })
    clock.now += 1000
    const second = book.issue({ role: 'host', validForMs: HOUR, singleUse: true })
    clock.now += 1000
    const third = book.issue({ role: 'caller', validForMs: HOUR, label: '' })
    expect(book.list().map((e) => e.nonce)).toEqual([third.entry.nonce, second.entry.nonce, first.entry.nonce])
    expect(book.list()[2]).toEqual({
      nonce: first.entry.nonce, role: 'caller', label: 'Monday guests', issuedAt: T0, expiresAt: T0 + HOUR, singleUse: false, revoked: false, usedBy: []
    })
    expect(book.list()[1]).toMatchObject({ role: 'host', singleUse: true, expiresAt: T0 + 1000 + HOUR })
    // An empty label is no label.
    expect(book.list()[0]).not.toHaveProperty('label')
    expect(first.entry.nonce).toMatch(new RegExp(`^[0-9a-f]{${INVITE_NONCE_BYTES * 2}}$`))
    expect(new Set(book.list().map((e) => e.nonce)).size).toBe(3)

    expect(book.check(second.token, ada).ok).toBe(true)
    expect(book.revoke(second.entry.nonce)).toMatchObject({ nonce: second.entry.nonce, revoked: true })
    expect(book.check(second.token, ada)).toEqual({ ok: false, reason: 'invite-revoked' })
    expect(book.use(second.token, ada)).toEqual({ ok: false, reason: 'invite-revoked' })
    expect(book.list().find((e) => e.nonce === second.entry.nonce)?.revoked).toBe(true)
    // The others still let callers in.
    expect(book.check(first.token, ada).ok).toBe(true)
    expect(book.revoke('00'.repeat(INVITE_NONCE_BYTES))).toBeUndefined()
  })

  it('hands out copies: changing what list, check and use return changes nothing in the book', () => {
    const { book } = bookAt()
    const { token } = book.issue({ role: 'caller', validForMs: HOUR, singleUse: true })
    book.list()[0]?.usedBy.push(ben)
    const checked = book.check(token, ada)
    if (checked.ok) checked.entry.usedBy.push(ben)
    const used = book.use(token, ada)
    if (used.ok) used.entry.usedBy.push(ben)
    expect(book.list()[0]?.usedBy).toEqual([ada])
    expect(book.check(token, ben)).toEqual({ ok: false, reason: 'invite-used' })
  })

  it('hands out a copy of the entry it issues', () => {
    const { book } = bookAt()
    const { token, entry } = book.issue({ role: 'caller', validForMs: HOUR, singleUse: true })
    // A studio UI that edits what it was handed must not edit the book.
    entry.usedBy.push(ben)
    entry.revoked = true
    expect(book.list()[0]).toMatchObject({ usedBy: [], revoked: false })
    expect(book.use(token, ada).ok).toBe(true)
  })

  it('check judges without recording a use; use records the peer', () => {
    const { book } = bookAt()
    const { token, entry } = book.issue({ role: 'host', validForMs: HOUR, singleUse: true })
    const checked = book.check(token, ada)
    expect(checked).toMatchObject({ ok: true, invite: { role: 'host', stationId: station.id, expiresAt: T0 + HOUR }, entry: { nonce: entry.nonce, usedBy: [] } })
    // Checking is not using: another peer may still take the single-use invite.
    expect(book.check(token, ben).ok).toBe(true)
    expect(book.list()[0]?.usedBy).toEqual([])
    expect(book.use(token, ada)).toMatchObject({ ok: true, entry: { usedBy: [ada] } })
    expect(book.list()[0]?.usedBy).toEqual([ada])
  })

  it('lets a single-use invite in for the first peer that uses it, and that peer again, and nobody else', () => {
    const { book } = bookAt()
    const { token } = book.issue({ role: 'caller', validForMs: HOUR, singleUse: true })
    expect(book.use(token, ada).ok).toBe(true)
    expect(book.use(token, ben)).toEqual({ ok: false, reason: 'invite-used' })
    expect(book.check(token, ben)).toEqual({ ok: false, reason: 'invite-used' })
    // A redial.
    expect(book.use(token, ada).ok).toBe(true)
    expect(book.list()[0]?.usedBy).toEqual([ada])
    // A reusable invite lets everyone in, and records each of them once.
    const open = book.issue({ role: 'caller', validForMs: HOUR })
    for (const peer of [ada, ben, ada]) expect(book.use(open.token, peer).ok).toBe(true)
    expect(book.list().find((e) => e.nonce === open.entry.nonce)?.usedBy).toEqual([ada, ben])
  })

  it('refuses an invite it did not issue, one for another station, garbage, and an expired one', () => {
    const { book, clock } = bookAt()
    // Signed by the station's own key, but not in this book (another studio's, or forgotten).
    const stray = createInvite(station, { role: 'host', expiresAt: T0 + HOUR, nonce: new Uint8Array(INVITE_NONCE_BYTES).fill(7), now: T0 })
    expect(book.check(stray, ada)).toEqual({ ok: false, reason: 'invite-invalid' })
    expect(book.use(stray, ada)).toEqual({ ok: false, reason: 'invite-invalid' })
    const foreign = new InviteBook({ key: generateStationKey(), store: memoryInviteStore(), now: () => T0 }).issue({ role: 'host', validForMs: HOUR })
    expect(book.check(foreign.token, ada)).toEqual({ ok: false, reason: 'invite-invalid' })
    for (const junk of ['', 'not-an-invite', 42, undefined, null, 'A'.repeat(10_000)]) {
      expect(book.check(junk, ada)).toEqual({ ok: false, reason: 'invite-invalid' })
    }
    const { token } = book.issue({ role: 'caller', validForMs: HOUR })
    clock.now = T0 + HOUR
    expect(book.check(token, ada)).toEqual({ ok: false, reason: 'invite-expired' })
    expect(book.use(token, ada)).toEqual({ ok: false, reason: 'invite-expired' })
    expect(book.list()[0]?.usedBy).toEqual([])
  })

  it('issues invites of at most a week', () => {
    const { book } = bookAt()
    expect(() => book.issue({ role: 'host', validForMs: INVITE_MAX_TTL_MS + 1 })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(book.list()).toEqual([])
    const { token } = book.issue({ role: 'host', validForMs: INVITE_MAX_TTL_MS })
    expect(book.check(token, ada).ok).toBe(true)
  })

  it('drops expired invites from the store when it next saves', () => {
    const { book, store, clock } = bookAt()
    const short = book.issue({ role: 'caller', validForMs: 1000 })
    const long = book.issue({ role: 'caller', validForMs: HOUR })
    expect(store.load().map((e) => e.nonce)).toEqual([short.entry.nonce, long.entry.nonce])
    clock.now = T0 + 1000
    const later = book.issue({ role: 'caller', validForMs: HOUR })
    expect(store.load().map((e) => e.nonce).sort()).toEqual([long.entry.nonce, later.entry.nonce].sort())
    expect(book.list().map((e) => e.nonce)).toEqual([later.entry.nonce, long.entry.nonce])
    // Gone from the book: its token is now one the book never issued.
    clock.now = T0 + 999
    expect(book.check(short.token, ada)).toEqual({ ok: false, reason: 'invite-invalid' })
  })

  it('keeps at most maxEntries invites, the newest', () => {
    const { book, store, clock } = bookAt(memoryInviteStore(), 3)
    const issued = Array.from({ length: 5 }, () => {
      clock.now += 1000
      return book.issue({ role: 'caller', validForMs: HOUR })
    })
    expect(book.list().map((e) => e.nonce)).toEqual(issued.slice(2).reverse().map((i) => i.entry.nonce))
    expect(store.load()).toHaveLength(3)
    expect(book.check(issued[0]?.token, ada)).toEqual({ ok: false, reason: 'invite-invalid' })
    expect(book.check(issued[4]?.token, ada).ok).toBe(true)
  })

  it('a new book over the same store sees what the last one recorded', () => {
    const store = memoryInviteStore()
    const { book } = bookAt(store)
    const single = book.issue({ role: 'caller', validForMs: HOUR, singleUse: true, label: 'Ada' })
    const revoked = book.issue({ role: 'host', validForMs: HOUR })
    book.use(single.token, ada)
    book.revoke(revoked.entry.nonce)

    const { book: again } = bookAt(store)
    expect(again.list()).toEqual(book.list())
    expect(again.check(single.token, ben)).toEqual({ ok: false, reason: 'invite-used' })
    expect(again.check(single.token, ada).ok).toBe(true)
    expect(again.check(revoked.token, ada)).toEqual({ ok: false, reason: 'invite-revoked' })
  })
})
