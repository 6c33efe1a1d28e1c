/**
 * Relays that run beside each other, each in a worker thread of its own, as
 * a network's relays run on machines of their own. In one thread, 20 relays
 * and the node under test share one event loop, and every figure is the CPU
 * of the whole network; here the node under test has the bench's thread to
 * itself and the relays take what the cores leave.
 */
import { Worker } from 'node:worker_threads'
import type { RelayInit } from '@openstudio/relay'
import { settle, stopAll, tcpAddr } from '../src/network.ts'

export interface RelayCall {
  id: number
  op: 'dhtSize' | 'selfWalk' | 'stop'
}

export interface RelayReply {
  id: number
  value?: unknown
  error?: string
}

/** tsx's loader, registered in each worker before it loads the relay's TypeScript. */
const BOOT = `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./relay-thread.ts', import.meta.url).href)}) })`

/** What a relay thread is started with (it listens on loopback). */
export type RelayThreadInit = Pick<RelayInit, 'bootstrap' | 'dataDir'>

export class RelayThread {
  private readonly pending = new Map<number, { resolve: (value: unknown) => void, reject: (err: Error) => void }>()
  private nextId = 1
  private ended?: Error

  private constructor (private readonly worker: Worker, readonly peerId: string, readonly multiaddrs: string[]) {
    worker.on('message', (reply: RelayReply) => {
      const call = this.pending.get(reply.id)
      this.pending.delete(reply.id)
      if (reply.error === undefined) call?.resolve(reply.value)
      else call?.reject(new Error(`relay ${peerId}: ${reply.error}`))
    })
    const end = (err: Error): void => {
      this.ended ??= err
      for (const call of this.pending.values()) call.reject(err)
      this.pending.clear()
    }
    worker.on('error', end)
    worker.on('exit', (code) => { end(new Error(`relay ${peerId}'s thread exited (${code})`)) })
  }

  /** Starts a relay on loopback in a new worker thread. */
  static async start (init: RelayThreadInit = {}): Promise<RelayThread> {
    const worker = new Worker(BOOT, { eval: true, workerData: init })
    try {
      const started = await new Promise<RelayReply>((resolve, reject) => {
        worker.once('message', resolve)
        worker.once('error', reject)
        worker.once('exit', (code) => { reject(new Error(`a relay thread exited (${code}) before it started`)) })
      })
      const { peerId, multiaddrs } = started.value as { peerId: string, multiaddrs: string[] }
      return new RelayThread(worker, peerId, multiaddrs)
    } catch (err) {
      await worker.terminate()
      throw err
    }
  }

  async dhtSize (): Promise<number> {
    return await this.call('dhtSize') as number
  }

  async selfWalk (): Promise<void> {
    await this.call('selfWalk')
  }

  /** Stops the relay, then its thread. Idempotent. */
  async stop (): Promise<void> {
    if (this.ended === undefined) await this.call('stop').catch(() => {})
    await this.worker.terminate()
  }

  private async call (op: RelayCall['op']): Promise<unknown> {
    if (this.ended !== undefined) throw this.ended
    const id = this.nextId++
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject })
      this.worker.postMessage({ id, op } satisfies RelayCall)
    })
  }
}

/**
 * `n` relay threads with settled routing tables (see settle): the first,
 * then the others at once, each bootstrapped to the first. A thread takes
 * seconds to load the relay's modules; after the walks, the tables are the
 * same as a chain's.
 */
export async function startRelayThreads (n: number): Promise<RelayThread[]> {
  const relays: RelayThread[] = []
  const started = async (relay: Promise<RelayThread>): Promise<void> => { relays.push(await relay) }
  try {
    await started(RelayThread.start())
    const bootstrap = [tcpAddr(relays[0] as RelayThread)]
    const rest = await Promise.allSettled(Array.from({ length: n - 1 }, async () => started(RelayThread.start({ bootstrap }))))
    for (const result of rest) if (result.status === 'rejected') throw result.reason
    await settle(relays)
    return relays
  } catch (err) {
    await stopAll(relays)
    throw err
  }
}
