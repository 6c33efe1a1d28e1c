/**
 * The carts kept across reloads: one record a slot, the audio file itself
 * with its settings, in IndexedDB (`openstudio-carts`/`carts`). What is
 * read back is checked against a schema first: storage is input like any
 * other, and a bad record is left out, never trusted.
 */
import { createStore, del, entries, set, type UseStore } from 'idb-keyval'
import { z } from 'zod'
import { CART_GAIN_DB, CART_SLOTS, MAX_CART_BYTES, MAX_CART_NAME } from './constants.ts'

/** How a cart plays against the voices in the program. */
export const CART_MODES = ['over', 'duck-voices', 'under-voices'] as const

/**
 * - `over`: over the voices, as it is (a jingle, an effect);
 * - `duck-voices`: the voices go down while it plays (a sting over a host);
 * - `under-voices`: it goes down while anyone speaks (a bed).
 */
export type CartMode = typeof CART_MODES[number]

const data = z.union([z.instanceof(Blob), z.instanceof(ArrayBuffer)])
  .refine((d) => (d instanceof Blob ? d.size : d.byteLength) <= MAX_CART_BYTES, 'too large')
  .refine((d) => (d instanceof Blob ? d.size : d.byteLength) > 0, 'empty')

export const cartRecordSchema = z.strictObject({
  slot: z.number().int().min(0).max(CART_SLOTS - 1),
  name: z.string().min(1).max(MAX_CART_NAME),
  type: z.string().max(100),
  data,
  loop: z.boolean(),
  mode: z.enum(CART_MODES),
  gainDb: z.number().min(CART_GAIN_DB.min).max(CART_GAIN_DB.max)
})

/** A cart as stored: its file, and how it plays. */
export type CartRecord = z.output<typeof cartRecordSchema>

/** Where cart records are kept, by slot: IndexedDB in the app (indexedDbCartRecords), a Map in tests. */
export interface CartRecords {
  /** Every stored record, as stored: unchecked. */
  entries: () => Promise<Array<[IDBValidKey, unknown]>>
  set: (slot: number, record: CartRecord) => Promise<void>
  delete: (slot: number) => Promise<void>
}

/** The carts in an IndexedDB object store. @default the `openstudio-carts`/`carts` store */
export function indexedDbCartRecords (store: UseStore = createStore('openstudio-carts', 'carts')): CartRecords {
  return {
    entries: async () => entries<IDBValidKey, unknown>(store),
    set: async (slot, record) => { await set(slot, record, store) },
    delete: async (slot) => { await del(slot, store) }
  }
}

/** What a load from the store found. */
export interface StoredCarts {
  /** The well-formed records, by slot. */
  carts: CartRecord[]
  /** How many records were left out as malformed. */
  rejected: number
}

/** The wall's records, checked on the way in and out. */
export class CartStore {
  constructor (private readonly records: CartRecords = indexedDbCartRecords()) {}

  /** Every well-formed record, by slot; a record under another slot's key is malformed. */
  async load (): Promise<StoredCarts> {
    const carts: CartRecord[] = []
    let rejected = 0
    for (const [key, value] of await this.records.entries()) {
      const parsed = cartRecordSchema.safeParse(value)
      if (parsed.success && parsed.data.slot === key) carts.push(parsed.data)
      else rejected++
    }
    return { carts: carts.sort((a, b) => a.slot - b.slot), rejected }
  }

  /** Keeps `record` in its slot. @throws {z.ZodError} for a malformed record (nothing is written then) */
  async save (record: CartRecord): Promise<void> {
    await this.records.set(record.slot, cartRecordSchema.parse(record))
  }

  async remove (slot: number): Promise<void> {
    await this.records.delete(slot)
  }
}
