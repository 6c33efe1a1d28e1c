/**
 * Call screening: what the producer knows of each caller beyond the room's
 * state. The topic the caller gave when dialling, how long it has waited in
 * the green room, and the producer's own note (never sent anywhere). An
 * entry lives while its caller is in the room, so the book is as bounded as
 * the room (ROOM_LIMITS.participantsMax).
 */
import { CALL_TOPIC_MAX_CHARS, sanitizeLine, type ParticipantView } from '@openstudio/protocol'

/** Longest producer's note on a caller, in characters. */
export const NOTE_MAX_CHARS = 500

/** Control, format, separator and lone surrogate characters: never kept in a note. */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu

export interface Screened {
  /** What the caller said, when dialling, they want to talk about (one line). */
  topic?: string
  /** Unix ms since when the caller has waited in the green room. */
  waitingSince?: number
  /** The producer's own note on this caller. */
  note: string
}

export class ScreeningBook {
  private readonly entries = new Map<string, Screened>()

  constructor (private readonly now: () => number) {}

  /** A caller said hello: a redial keeps the note, and the topic unless it brings a new one. */
  handleHello (peer: string, topic: string | undefined): void {
    const clean = sanitizeLine(topic ?? '', CALL_TOPIC_MAX_CHARS)
    const entry = this.entries.get(peer)
    if (entry === undefined) this.entries.set(peer, { topic: clean === '' ? undefined : clean, note: '' })
    else if (clean !== '') entry.topic = clean
  }

  /** The room changed: a wait starts as a caller enters the green room; whoever left the room is forgotten. */
  handleRoom (views: readonly ParticipantView[]): void {
    const stages = new Map(views.map((p) => [p.id, p.stage]))
    for (const [peer, entry] of this.entries) {
      const stage = stages.get(peer)
      if (stage === undefined || stage === 'kicked') this.entries.delete(peer)
      else if (stage !== 'green-room') entry.waitingSince = undefined
      else entry.waitingSince ??= this.now()
    }
  }

  /**
   * Keeps the producer's note on a caller in the book: as typed (spaces and
   * all, so that it can be saved at every keystroke), without control or
   * format characters, at most NOTE_MAX_CHARS.
   * @returns false for a caller not in the book
   */
  setNote (peer: string, text: string): boolean {
    const entry = this.entries.get(peer)
    if (entry === undefined) return false
    entry.note = [...text.replace(UNSAFE, '')].slice(0, NOTE_MAX_CHARS).join('')
    return true
  }

  /** What the book holds on `peer` (a copy). */
  get (peer: string): Screened {
    const entry = this.entries.get(peer)
    return { topic: entry?.topic, waitingSince: entry?.waitingSince, note: entry?.note ?? '' }
  }
}
