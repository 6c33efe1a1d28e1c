/**
 * Attacks on a relay started as the README says (the `openstudio relay`
 * process on loopback), each from its own attacker host (127.0.0.2 and up).
 * Each test asserts, during or right after the attack, that the relay is
 * alive, `/health` answers, a well-behaved studio and caller can still
 * reserve, publish, resolve and open a stream through it, the refusal is
 * counted by reason in `/metrics`, and the relay's memory stays under a
 * ceiling. Every attack is bounded in count and time. See
 * docs/relay-limits.md for the limits they run into.
 */
import { connect } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { generateStationKey, TOPIC } from '@openstudio/protocol'
import { attackerHost, hostPort, idleSockets, reserve, startTarget, stillServes, strangerNode, wellBehaved, type Target } from '../src/adversary.ts'
import { waitUntil } from '../src/wait.ts'
import { openClient, type OpenStudioNode } from '@openstudio/node'


describe('a relay under attack', () => {
  let target: Target
  let idleRss: number

  beforeAll(async () => {
    target = await startTarget(['--max-connections-per-host', '32'])
    await wellBehaved(target)
    idleRss = (await target.health()).memory.rssBytes
  })

  afterAll(async () => {
    await target?.stop()
  })


  it('answers a request target the URL parser rejects with 400, and lives', async () => {
    const { hostname, port } = new URL(target.http)
    for (const line of ['GET //[ HTTP/1.1', 'GET /%E0%A4%A HTTP/1.1', 'GET http://[::1 HTTP/1.1']) {
      const answer = await new Promise<string>((resolve) => {
        const socket = connect({ host: hostname, port: Number(port), localAddress: attackerHost(1) })
        let text = ''
        socket.on('data', (d: Buffer) => { text += d.toString() })
        socket.on('error', () => { resolve(text) })
        socket.on('close', () => { resolve(text) })
        socket.write(`${line}\r\nHost: x\r\n\r\n`)
      })
      expect(answer).toMatch(/^HTTP\/1\.1 4\d\d /)
    }
    await stillServes(target, idleRss)
  })

  it('keeps new peers coming in while one host holds hundreds of silent sockets', async () => {
    const host = attackerHost(2)
    const sockets = [
      ...await idleSockets(hostPort(target.tcp), host, 100),
      ...await idleSockets(hostPort(target.ws), host, 100)
    ]
    try {
      // During the attack: the sockets are still held (or refused), and everyone else gets in.
      await stillServes(target, idleRss)
      const refused = await target.refusals()
      expect((refused['connection/pending-per-host'] ?? 0) + (refused['connection/connections-per-host'] ?? 0)).toBeGreaterThan(0)
    } finally {
      for (const s of sockets) s.destroy()
    }
  })

  it('frees the reservations of throwaway identities that reserve and leave, and caps those that stay', async () => {
    const host = attackerHost(3)
    // 30 identities reserve once and leave.
    for (let i = 0; i < 30; i++) {
      const squatter = await strangerNode(target, host)
      expect(await reserve(squatter, target)).toBe(true)
      await squatter.stop()
    }
    await waitUntil('the squatters\' reservations to end', async () => (await target.health()).reservations === 0)
    // 20 identities from one host reserve and stay: only the host's share gets a slot.
    const stayers: OpenStudioNode[] = []
    try {
      const results = []
      for (let i = 0; i < 20; i++) {
        const node = await strangerNode(target, host)
        stayers.push(node)
        results.push(await reserve(node, target))
      }
      expect(results.filter(Boolean).length).toBe(8)
      expect((await target.refusals())['reservation/per-host']).toBeGreaterThanOrEqual(12)
      await stillServes(target, idleRss)
    } finally {
      await Promise.all(stayers.map(async (n) => n.stop()))
    }
  })

  it('routes only a share of made-up rooms for strangers, and still routes the served station\'s room', async () => {
    const host = attackerHost(4)
    const strangers = [await strangerNode(target, host), await strangerNode(target, host)]
    try {
      for (const s of strangers) {
        for (let i = 0; i < 512; i++) s.services.pubsub.subscribe(TOPIC.room(generateStationKey().id))
      }
      await waitUntil('the relay to refuse the strangers\' rooms', async () => ((await target.refusals())['room/per-peer'] ?? 0) > 100)
      const { rooms } = await target.health()
      expect(rooms).toBeLessThanOrEqual(8)
      // The served station's studio opens its room: it is routed.
      const studio = await openClient({ bootstrap: [target.tcp], allowPrivate: true })
      try {
        studio.services.pubsub.subscribe(TOPIC.room(target.station.id))
        await waitUntil('the relay to route the served station\'s room', async () => (await target.health()).rooms === rooms + 1)
      } finally {
        await studio.stop()
      }
      await stillServes(target, idleRss)
    } finally {
      await Promise.all(strangers.map(async (s) => s.stop()))
    }
  })
})
