/**
 * The chat a studio or a caller keeps for the screen: the last CHAT_LOG_MAX
 * messages, verified before they get here (protocol/src/chat.ts; docs/room.md, "Chat").
 */
import type { ChatMessage } from '@openstudio/protocol'

/** Messages a page keeps; older ones scroll away. */
export const CHAT_LOG_MAX = 200

/** One message as a page shows it. */
export interface ChatEntry {
  /** Unique within its log, in arrival order. */
  id: number
  /** The sender's peer id (the station's id for the producer). */
  from: string
  /** A peer id, the station's id, or `'all'`. */
  to: string
  text: string
  /** Unix ms as the sender signed it. */
  at: number
  /** The sender's count for it (this page's own messages). */
  n?: number
  /** Why the studio refused it (this page's own messages): it reached nobody. */
  refused?: string
}

/** A bounded log of chat entries. */
export class ChatLog {
  private readonly list: ChatEntry[] = []
  private next = 1

  constructor (private readonly max = CHAT_LOG_MAX) {}

  /** Adds a verified message; the oldest goes once the log is full. @returns its entry */
  add (message: Pick<ChatMessage, 'from' | 'to' | 'text' | 'at'> & { n?: number }): ChatEntry {
    const entry: ChatEntry = { id: this.next++, from: message.from, to: message.to, text: message.text, at: message.at, n: message.n }
    this.list.push(entry)
    if (this.list.length > this.max) this.list.shift()
    return entry
  }

  /**
   * Marks the last message from `from` with count `n` as refused.
   * @returns the marked entry, or undefined when the log has none such
   */
  refuse (from: string, n: number, reason: string): ChatEntry | undefined {
    const index = this.list.findLastIndex((e) => e.from === from && e.n === n)
    const entry = this.list[index]
    if (entry === undefined) return undefined
    const marked = { ...entry, refused: reason }
    this.list[index] = marked
    return marked
  }

  /** Every entry kept, oldest first (a copy). */
  get entries (): ChatEntry[] {
    return [...this.list]
  }
}
