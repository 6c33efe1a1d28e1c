/**
 * A relay stops everything it started: on `stop`, and when `create` fails
 * part-way (here at its last step, the metrics server's port being taken),
 * newest first, leaving no timer, socket or handler behind.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it, vi, type MockInstance } from 'vitest'
import { LevelDatastore } from 'datastore-level'
import { DirectoryWatcher } from '@openstudio/node'
import { PROTOCOL } from '@openstudio/protocol'
import { BootstrapChecker } from '../src/bootstrap.ts'
import { ProgramService } from '../src/program.ts'
import { Relay, type RelayInit } from '../src/relay.ts'
import { RoomRouter } from '../src/rooms.ts'
import { TurnService } from '../src/turn.ts'
import { freePort } from '../../tests/src/ports.ts'
import { waitUntil } from '../../tests/src/wait.ts'

const dirs: string[] = []
const busy: Server[] = []
afterEach(async () => {
  vi.restoreAllMocks()
  await Promise.all(busy.splice(0).map(async (server) => new Promise((resolve) => server.close(resolve))))
  await Promise.all(dirs.splice(0).map(async (dir) => rm(dir, { recursive: true, force: true })))
})

async function tempDir (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'openstudio-relay-lifecycle-'))
  dirs.push(dir)
  return dir
}

/** A port something else listens on. */
async function takenPort (): Promise<number> {
  const server = createServer()
  busy.push(server)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return (server.address() as { port: number }).port
}

async function bindable (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
  })
}

/** Timers that keep this process alive. */
function liveTimers (): number {
  return process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length
}

/** A relay with every part on: datastore, TURN, program, HTTP and metrics servers, on ports named up front. */
async function fullInit (): Promise<RelayInit & { ports: number[] }> {
  const [tcp, ws, http] = [await freePort(), await freePort(), await freePort()]
  return {
    ports: [tcp, ws, http],
    listen: [`/ip4/127.0.0.1/tcp/${tcp}`, `/ip4/127.0.0.1/tcp/${ws}/ws`],
    allowPrivate: true,
    dataDir: await tempDir(),
    http: { host: '127.0.0.1', port: http },
    turn: { urls: ['turn:127.0.0.1:3478?transport=udp'], secret: new TextEncoder().encode('lifecycle-secret') },
    program: { stations: ['*'], icecastUrl: 'http://127.0.0.1:1', icecastPassword: 'unused' },
    stations: ['*']
  }
}

/** Spies on the stop of every part, calling through. */
function spyOnStops (): Record<string, MockInstance> {
  return {
    bootstrap: vi.spyOn(BootstrapChecker.prototype, 'stop'),
    program: vi.spyOn(ProgramService.prototype, 'stop'),
    turn: vi.spyOn(TurnService.prototype, 'stop'),
    rooms: vi.spyOn(RoomRouter.prototype, 'stop'),
    directory: vi.spyOn(DirectoryWatcher.prototype, 'stop'),
    datastore: vi.spyOn(LevelDatastore.prototype, 'close')
  }
}

/** The parts in the order they were stopped; each must have been stopped once. */
function stopOrder (spies: Record<string, MockInstance>): string[] {
  for (const [part, spy] of Object.entries(spies)) expect(spy, `${part} stopped`).toHaveBeenCalledTimes(1)
  return Object.entries(spies)
    .sort(([, a], [, b]) => (a.mock.invocationCallOrder[0] ?? 0) - (b.mock.invocationCallOrder[0] ?? 0))
    .map(([part]) => part)
}

describe('relay lifecycle', () => {
  it('a create that fails at its last step stops every part it started, newest first, and leaves no timer or socket', async () => {
    const timersBefore = liveTimers()
    const { ports, ...init } = await fullInit()
    const spies = spyOnStops()
    await expect(Relay.create({ ...init, metrics: { host: '127.0.0.1', port: await takenPort() } })).rejects.toMatchObject({ code: 'EADDRINUSE' })

    expect(stopOrder(spies)).toEqual(['bootstrap', 'program', 'turn', 'rooms', 'directory', 'datastore'])
    // The HTTP server and the node's TCP and WebSocket listeners are closed.
    for (const port of ports) expect(await bindable(port), `port ${port} free again`).toBe(true)
    // The datastore's lock is released: it opens again.
    const reopened = new LevelDatastore(join(init.dataDir as string, 'datastore'))
    await reopened.open()
    await reopened.close()
    // libp2p's own short timers (an address debounce) run out; nothing repeats.
    await waitUntil('the failed relay\'s timers to be gone', () => liveTimers() <= timersBefore, 5_000)
  })

  it('stop unregisters its protocols and stops every part, newest first; a second stop waits for the same one', async () => {
    const { ports, ...init } = await fullInit()
    const relay = await Relay.create(init)
    expect(relay.node.getProtocols()).toEqual(expect.arrayContaining([PROTOCOL.records, PROTOCOL.program, PROTOCOL.turn]))
    const spies = spyOnStops()
    await Promise.all([relay.stop(), relay.stop()])
    await relay.stop()

    expect(stopOrder(spies)).toEqual(['bootstrap', 'program', 'turn', 'rooms', 'directory', 'datastore'])
    expect(relay.node.getProtocols()).not.toEqual(expect.arrayContaining([PROTOCOL.records]))
    expect(relay.node.getProtocols()).not.toEqual(expect.arrayContaining([PROTOCOL.program]))
    for (const port of ports) expect(await bindable(port), `port ${port} free again`).toBe(true)
  })
})
