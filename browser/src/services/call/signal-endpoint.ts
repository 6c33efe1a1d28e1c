/**
 * One end of a call's signalling stream, as the studio and the caller use it:
 * a `SignalChannel` on `/openstudio/signal/1` in the app, an in-memory pair in
 * unit tests. Only the stream's remote peer id (as a string) is read from its
 * identity, so a fake needs no libp2p `PeerId`.
 */
import type { SignalChannel } from '@openstudio/network'
import type { SignalMessage } from '@openstudio/protocol'

export type SignalEndpoint = Pick<SignalChannel, 'open' | 'send' | 'read' | 'messages' | 'close' | 'abort'> & {
  /** The peer at the other end: its peer id string is the caller's (or the studio's) identity. */
  readonly remotePeer: { toString: () => string }
}

/** The messages perfect negotiation exchanges. */
export type NegotiationMessage = Extract<SignalMessage, { type: 'description' | 'candidate' }>
