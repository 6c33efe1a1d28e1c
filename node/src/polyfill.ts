/**
 * Fills the two gaps between Node 20 and what libp2p 3 expects, and gives the
 * protocol Node's native Ed25519 (see ed25519.ts) and scrypt (for stamps:
 * 4 ms a hash against 8 ms in pure JS). Import this first in every
 * Node entry point, before anything that loads libp2p.
 *
 * - `Promise.withResolvers` (Node 22+).
 * - A global `WebSocket` for @libp2p/websockets dials (Node 22+), from `ws`.
 *   A `ws` socket is an EventEmitter: an 'error' that arrives after libp2p
 *   aborted a dial and removed its listeners would crash the process, so each
 *   socket keeps one listener that only logs.
 */
import { logger } from '@libp2p/logger'
import { scryptSync } from 'node:crypto'
import { STAMP, useEd25519Verifier, useStampHash } from '@openstudio/protocol'
import { WebSocket as WsWebSocket } from 'ws'
import { createNativeVerifier } from './ed25519.ts'

const log = logger('openstudio:polyfill')

interface PromiseWithResolvers<T> {
  promise: Promise<T>
  resolve: (value: T | PromiseLike<T>) => void
  reject: (reason?: unknown) => void
}
const promiseStatics = Promise as unknown as { withResolvers?: <T>() => PromiseWithResolvers<T> }

if (typeof promiseStatics.withResolvers !== 'function') {
  promiseStatics.withResolvers = <T>(): PromiseWithResolvers<T> => {
    let resolve!: PromiseWithResolvers<T>['resolve']
    let reject!: PromiseWithResolvers<T>['reject']
    const promise = new Promise<T>((res, rej) => { resolve = res; reject = rej })
    return { promise, resolve, reject }
  }
}

class GuardedWebSocket extends WsWebSocket {
  constructor (...args: ConstructorParameters<typeof WsWebSocket>) {
    super(...args)
    this.on('error', (err) => { log('websocket error after its dial ended: %s', err.message) })
  }
}

const scope = globalThis as { WebSocket?: unknown }
if (typeof scope.WebSocket === 'undefined') scope.WebSocket = GuardedWebSocket

useEd25519Verifier(createNativeVerifier())
useStampHash((password, salt) => scryptSync(password, salt, 32, { N: 2 ** STAMP.logN, r: STAMP.r, p: STAMP.p, maxmem: 8 * 1024 * 1024 }))
