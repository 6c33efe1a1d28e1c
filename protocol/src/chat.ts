/**
 * Chat between the producer and callers, over each call's signalling
 * stream (docs/room.md, "Chat"). Its size limits and the reasons a message
 * is refused are what `/openstudio/signal/1` carries.
 */
import { z } from 'zod'

/** Largest chat envelope on the wire. */
export const MAX_CHAT_BYTES = 2048

/** Why the studio refused a chat message (a `chat-refused` signal message carries it). */
export const CHAT_REFUSALS = ['malformed', 'too-large', 'forged', 'replayed', 'too-fast', 'silenced'] as const
export const chatRefusalSchema = z.enum(CHAT_REFUSALS)
export type ChatRefusal = z.output<typeof chatRefusalSchema>
