/**
 * The data structures under StationIndex (station-index.ts): postings of ids
 * by key, a word index with short-prefix keys, a min-heap of expiries, and an
 * insertion-ordered id queue with O(1) removal.
 */
/** The empty set, shared. */
export const EMPTY: ReadonlySet<string> = new Set()

/** Keys to sets of station ids; a key whose set empties is dropped, so the map is bounded by the stations held. */
export class Postings {
  private readonly map = new Map<string, Set<string>>()
  /** Ids held, over all keys. */
  count = 0

  get (key: string): ReadonlySet<string> {
    return this.map.get(key) ?? EMPTY
  }

  /** True when `key` is new. */
  add (key: string, id: string): boolean {
    const ids = this.map.get(key)
    if (ids?.has(id) === true) return false
    this.count++
    if (ids !== undefined) {
      ids.add(id)
      return false
    }
    this.map.set(key, new Set([id]))
    return true
  }

  /** True when `key` is gone. */
  delete (key: string, id: string): boolean {
    const ids = this.map.get(key)
    if (ids === undefined || !ids.delete(id)) return false
    this.count--
    if (ids.size > 0) return false
    this.map.delete(key)
    return true
  }
}

/** Words to station ids, with words found by their first one and two characters for prefix search. */
export class TokenIndex {
  private readonly ids = new Postings()
  private readonly byHead = new Postings()

  get count (): number {
    return this.ids.count
  }

  add (token: string, id: string): void {
    if (this.ids.add(token, id)) for (const head of heads(token)) this.byHead.add(head, token)
  }

  delete (token: string, id: string): void {
    if (this.ids.delete(token, id)) for (const head of heads(token)) this.byHead.delete(head, token)
  }

  exact (token: string): ReadonlySet<string> {
    return this.ids.get(token)
  }

  /** Stations with a word that starts with `prefix`: O(words with its first two characters + their stations). */
  prefixed (prefix: string): ReadonlySet<string> {
    const found = new Set<string>()
    for (const token of this.byHead.get(prefix.slice(0, 2))) {
      if (token.startsWith(prefix)) for (const id of this.ids.get(token)) found.add(id)
    }
    return found
  }
}

export function heads (token: string): string[] {
  return token.length < 2 ? [token] : [token.slice(0, 1), token.slice(0, 2)]
}

export interface Expiry { at: number, id: string, rev: number }

/** A binary min-heap of expiry times; stale items are skipped by the reader and compacted by `reset`. */
export class ExpiryQueue {
  private items: Expiry[] = []

  get length (): number {
    return this.items.length
  }

  peek (): Expiry | undefined {
    return this.items[0]
  }

  push (item: Expiry): void {
    const items = this.items
    let i = items.push(item) - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if ((items[parent] as Expiry).at <= item.at) break
      items[i] = items[parent] as Expiry
      i = parent
    }
    items[i] = item
  }

  pop (): void {
    const items = this.items
    const last = items.pop()
    if (last === undefined || items.length === 0) return
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      if (left >= items.length) break
      const right = left + 1
      const child = right < items.length && (items[right] as Expiry).at < (items[left] as Expiry).at ? right : left
      if ((items[child] as Expiry).at >= last.at) break
      items[i] = items[child] as Expiry
      i = child
    }
    items[i] = last
  }

  reset (items: Expiry[]): void {
    this.items = []
    for (const item of items) this.push(item)
  }
}

export interface Link { id: string, prev?: Link, next?: Link }

/**
 * Ids in the order added, with O(1) add, delete, move to the back and access
 * to the front. (A Set used as a queue is not O(1) in V8: deletions leave
 * holes at its front that every new iteration walks over.)
 */
export class IdQueue {
  private readonly links = new Map<string, Link>()
  private head?: Link
  private tail?: Link

  get size (): number {
    return this.links.size
  }

  first (): string | undefined {
    return this.head?.id
  }

  /** Adds `id` at the back; an id already held keeps its place. */
  add (id: string): void {
    if (!this.links.has(id)) this.append({ id })
  }

  /** Adds `id` at the back, or moves it there. */
  moveToBack (id: string): void {
    const link = this.links.get(id)
    if (link === undefined) return this.append({ id })
    if (link === this.tail) return
    this.unlink(link)
    this.append(link)
  }

  delete (id: string): boolean {
    const link = this.links.get(id)
    if (link === undefined) return false
    this.unlink(link)
    this.links.delete(id)
    return true
  }

  /** Front to back; the current id may be deleted or moved to the back meanwhile (a moved one comes again). */
  * [Symbol.iterator] (): Generator<string> {
    for (let link = this.head; link !== undefined;) {
      const next = link.next
      yield link.id
      link = next
    }
  }

  private append (link: Link): void {
    link.prev = this.tail
    link.next = undefined
    if (this.tail === undefined) this.head = link
    else this.tail.next = link
    this.tail = link
    this.links.set(link.id, link)
  }

  private unlink (link: Link): void {
    if (link.prev === undefined) this.head = link.next
    else link.prev.next = link.next
    if (link.next === undefined) this.tail = link.prev
    else link.next.prev = link.prev
    link.prev = undefined
    link.next = undefined
  }
}
