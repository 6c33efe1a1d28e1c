/**
 * One transport message per encrypted frame.
 *
 * Noise hands its connection each frame as two pieces, its 2-byte length and
 * the ciphertext, and @libp2p/websockets and @libp2p/tcp send every piece on
 * its own: a WebSocket message each, or, with Nagle off, a TCP segment each.
 * A studio's program is 100 small frames a second, so that doubled the
 * messages that the browser's network service, the relay and the kernel
 * handle. Measured in a live show (a studio and two callers), joining the
 * pieces took 0.075 cores off the studio's browser and 0.02 off the relays.
 *
 * Each platform transport is wrapped so that the raw connection it upgrades
 * joins what one `send` carries into one buffer before its transport sees it.
 */
import type { CreateListenerOptions, DialTransportOptions, Listener, MultiaddrConnection, Transport, Upgrader } from '@libp2p/interface'

/** Makes `maConn` pass each `send` to its transport as a single buffer. */
function joinSends (maConn: MultiaddrConnection): MultiaddrConnection {
  const send = maConn.send.bind(maConn)
  // A list of one buffer gives that buffer back, uncopied.
  maConn.send = (data) => send(data instanceof Uint8Array ? data : data.subarray())
  return maConn
}

/** `upgrader`, joining the sends of every connection it upgrades. */
function joiningUpgrader (upgrader: Upgrader): Upgrader {
  return new Proxy(upgrader, {
    get (target, key) {
      if (key === 'upgradeOutbound') return async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeOutbound']>[1]) => target.upgradeOutbound(joinSends(maConn), opts)
      if (key === 'upgradeInbound') return async (maConn: MultiaddrConnection, opts: Parameters<Upgrader['upgradeInbound']>[1]) => target.upgradeInbound(joinSends(maConn), opts)
      const value: unknown = Reflect.get(target, key)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}

/**
 * Wraps a transport factory (as libp2p's `transports` option takes them) so
 * that its connections send whole frames.
 */
export function wholeFrames<Components> (factory: (components: Components) => Transport): (components: Components) => Transport {
  return (components) => {
    const transport = factory(components)
    const dial = transport.dial.bind(transport)
    const createListener = transport.createListener.bind(transport)
    transport.dial = async (ma, options: DialTransportOptions) => dial(ma, { ...options, upgrader: joiningUpgrader(options.upgrader) })
    transport.createListener = (options: CreateListenerOptions): Listener => createListener({ ...options, upgrader: joiningUpgrader(options.upgrader) })
    return transport
  }
}
