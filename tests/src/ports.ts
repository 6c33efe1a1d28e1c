/** A free TCP port on loopback, for processes that need one named up front (Icecast). */
import { randomInt } from 'node:crypto'
import { createServer } from 'node:net'

/**
 * Ports are picked under Linux's ephemeral range (32768–60999 by default):
 * a port the kernel hands out itself can be taken by any outgoing connection
 * (Chromium, the relays) between this check and the process binding it.
 */
const FIRST_PORT = 20_000
const LAST_PORT = 32_767
const ATTEMPTS = 50

export async function freePort (): Promise<number> {
  for (let i = 0; i < ATTEMPTS; i++) {
    const port = randomInt(FIRST_PORT, LAST_PORT + 1)
    if (await bindable(port)) return port
  }
  throw new Error(`no free port in ${FIRST_PORT}–${LAST_PORT} after ${ATTEMPTS} tries`)
}

async function bindable (port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => { resolve(false) })
    server.listen(port, '127.0.0.1', () => { server.close(() => { resolve(true) }) })
  })
}
