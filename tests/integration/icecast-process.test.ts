/**
 * Starting a real icecast2: when it cannot come up, the error says why, in
 * icecast2's own words, on one line (`npm start` and the relay's operator
 * see this message, and icecast2 writes nothing useful to its exit code).
 */
import { createServer, type Server } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { IcecastUnavailableError, startIcecast } from '@openstudio/node'
import { removeDir, tempDir } from '../src/network.ts'

describe('a local icecast2', () => {
  let dir: string
  let taken: Server

  beforeAll(async () => {
    dir = await tempDir('openstudio-icecast-process-')
    // The port is held by a server that hangs up on whoever connects (startIcecast polls it for a status page).
    taken = createServer((socket) => { socket.destroy() })
    await new Promise<void>((resolve) => { taken.listen(0, '127.0.0.1', resolve) })
  })

  afterAll(async () => {
    await new Promise((resolve) => { taken?.close(resolve) })
    await removeDir(dir)
  })

  it('says on one line why it could not start: a port in use', async () => {
    const port = (taken.address() as { port: number }).port
    const started = startIcecast({ dir, port, sourcePassword: 'process-test', mounts: [{ mount: '/live.ogg' }] })
    await expect(started).rejects.toBeInstanceOf(IcecastUnavailableError)
    const message = await started.then(() => '', (err: Error) => err.message)
    expect(message).toMatch(new RegExp(`could not create listener socket on port ${port}`, 'i'))
    expect(message).not.toMatch(/\n/)
  })
})
