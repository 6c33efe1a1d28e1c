/**
 * The studio's record of the invites it issued (docs/room.md, "Invites"). An
 * invite token is the station's signature over a role, an expiry of at most
 * a week, and a nonce; whether that nonce is still good is kept here: the
 * studio can list its invites and revoke any of them, a single-use invite
 * lets in the first peer that uses it (and that peer again, to redial) and
 * nobody else, and a token whose nonce this book never issued is refused.
 * Revoking a host invite is the studio's cue to revoke the grant it gave.
 *
 * @example
 * ```ts
 * const book = new InviteBook({ key, store: localStorageInviteStore(key.id) })
 * const { token } = book.issue({ role: 'caller', validForMs: 3_600_000, singleUse: true })
 * const verdict = book.use(hello.invite, peer)   // at the hello
 * if (!verdict.ok) refuse(verdict.reason)
 * book.revoke(entry.nonce)
 * ```
 */
import { createInvite, INVITE_NONCE_BYTES, verifyInvite, type Invite, type InviteRole, type StationKey } from '@openstudio/protocol'

export const INVITE_BOOK_DEFAULTS = {
  /** Invites kept at once (expired ones go at once); past it the oldest go. */
  maxEntries: 256
} as const

/** One invite the studio issued. */
export interface InviteEntry {
  /** The invite's nonce, in hex: its name in this book. */
  nonce: string
  role: InviteRole
  label?: string
  issuedAt: number
  expiresAt: number
  /** Lets in one peer only: the first that uses it. */
  singleUse: boolean
  revoked: boolean
  /** Peers that came in with it. */
  usedBy: string[]
}

/** Where a book keeps its entries (the browser: localStorage; tests: memory). */
export interface InviteStore {
  load: () => InviteEntry[]
  save: (entries: InviteEntry[]) => void
}

/** Why an invite does not let a caller in. */
export type InviteRefusal = 'invite-invalid' | 'invite-expired' | 'invite-revoked' | 'invite-used'

export type InviteVerdict =
  | { ok: true, invite: Invite, entry: InviteEntry }
  | { ok: false, reason: InviteRefusal }

export interface InviteBookComponents {
  /** The station key that signs the invites. */
  key: StationKey
  store: InviteStore
  /** @default Date.now */
  now?: () => number
}

export interface IssueInviteInit {
  role: InviteRole
  /** How long it lasts; at most INVITE_MAX_TTL_MS. */
  validForMs: number
  label?: string
  /** @default false */
  singleUse?: boolean
}

/** An in-memory store. */
export function memoryInviteStore (entries: InviteEntry[] = []): InviteStore {
  let saved = entries
  return { load: () => saved.map((e) => ({ ...e, usedBy: [...e.usedBy] })), save: (next) => { saved = next } }
}

export class InviteBook {
  private entries: InviteEntry[]
  private readonly now: () => number

  constructor (private readonly components: InviteBookComponents, private readonly init: { maxEntries?: number } = {}) {
    this.now = components.now ?? Date.now
    this.entries = components.store.load()
  }

  /**
   * Signs a new invite and records it.
   * @throws {MalformedError} when it would last longer than INVITE_MAX_TTL_MS, or a field is out of range
   */
  issue (init: IssueInviteInit): { token: string, entry: InviteEntry } {
    const now = this.now()
    const nonce = crypto.getRandomValues(new Uint8Array(INVITE_NONCE_BYTES))
    const expiresAt = now + init.validForMs
    const token = createInvite(this.components.key, { role: init.role, expiresAt, nonce, label: init.label, now })
    const entry: InviteEntry = {
      nonce: hex(nonce), role: init.role, issuedAt: now, expiresAt, singleUse: init.singleUse ?? false, revoked: false, usedBy: []
    }
    if (init.label !== undefined && init.label !== '') entry.label = init.label
    this.entries = [...this.entries, entry]
    this.save()
    return { token, entry: { ...entry, usedBy: [] } }
  }

  /** Every invite still on record, newest first. */
  list (): InviteEntry[] {
    return [...this.entries].sort((a, b) => b.issuedAt - a.issuedAt).map((e) => ({ ...e, usedBy: [...e.usedBy] }))
  }

  /** Revokes an invite: nobody gets in with it any more. Returns it, or undefined when unknown. */
  revoke (nonce: string): InviteEntry | undefined {
    const entry = this.entries.find((e) => e.nonce === nonce)
    if (entry === undefined) return undefined
    entry.revoked = true
    this.save()
    return { ...entry, usedBy: [...entry.usedBy] }
  }

  /** Whether `token` lets `peer` in now, without recording a use. Never throws. */
  check (token: unknown, peer: string): InviteVerdict {
    const result = verifyInvite(token, { stationId: this.components.key.id, now: this.now() })
    if (!result.ok) return { ok: false, reason: result.reason === 'expired' ? 'invite-expired' : 'invite-invalid' }
    const entry = this.entries.find((e) => e.nonce === hex(result.invite.nonce))
    // Not issued here (or forgotten): the book is the studio's word on which invites stand.
    if (entry === undefined) return { ok: false, reason: 'invite-invalid' }
    if (entry.revoked) return { ok: false, reason: 'invite-revoked' }
    if (entry.singleUse && entry.usedBy.length > 0 && !entry.usedBy.includes(peer)) return { ok: false, reason: 'invite-used' }
    return { ok: true, invite: result.invite, entry: { ...entry, usedBy: [...entry.usedBy] } }
  }

  /** Like check, and records that `peer` came in with it. */
  use (token: unknown, peer: string): InviteVerdict {
    const verdict = this.check(token, peer)
    if (!verdict.ok) return verdict
    const entry = this.entries.find((e) => e.nonce === verdict.entry.nonce) as InviteEntry
    if (!entry.usedBy.includes(peer)) {
      entry.usedBy = [...entry.usedBy, peer].slice(-INVITE_BOOK_DEFAULTS.maxEntries)
      this.save()
    }
    return { ...verdict, entry: { ...entry, usedBy: [...entry.usedBy] } }
  }

  private save (): void {
    const now = this.now()
    const max = this.init.maxEntries ?? INVITE_BOOK_DEFAULTS.maxEntries
    // Expired invites go first, then the oldest.
    const live = this.entries.filter((e) => e.expiresAt > now)
    this.entries = live.sort((a, b) => a.issuedAt - b.issuedAt).slice(-max)
    this.components.store.save(this.entries)
  }
}

function hex (bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')
}
