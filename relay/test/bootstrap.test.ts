import { describe, expect, it } from 'vitest'
import { BootstrapChecker, type BootstrapCandidate } from '../src/bootstrap.ts'

const A = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
const B = '12D3KooWRBhwfeP2Y4TCx1SM6s9rUoHhR5STiGwxBhgFRcw3UERE'

function checker (candidates: BootstrapCandidate[], answers: Record<string, string | Error>, init: { allowPrivate?: boolean, configured?: string[] } = {}) {
  const probed: string[] = []
  const refusals: string[] = []
  const check = new BootstrapChecker({
    candidates: async () => candidates,
    probe: async (addr) => {
      probed.push(addr)
      const answer = answers[addr]
      if (answer === undefined || answer instanceof Error) throw answer ?? new Error('connection refused')
      return answer
    },
    refusals: { refuse: (resource, reason) => { refusals.push(`${resource}/${reason}`) } }
  }, { probesPerRound: 2, ...init })
  return { check, probed, refusals }
}

describe('BootstrapChecker', () => {
  it('lists only addresses it dialled and reached the claiming peer on', async () => {
    const good = `/dns4/relay-a.example/tcp/443/wss/p2p/${A}`
    const liar = `/dns4/victim.example/tcp/443/wss/p2p/${B}`
    const { check, probed } = checker([{ peer: A, addresses: [good] }, { peer: B, addresses: [liar] }], { [good]: A, [liar]: A })
    expect(check.listed()).toEqual([])
    await check.check()
    expect(probed.sort()).toEqual([good, liar].sort())
    expect(check.listed()).toEqual([good])
  })

  it('never lists or dials private addresses, addresses of another peer or relayed ones, unless allowed', async () => {
    const addresses = [`/ip4/10.0.0.5/tcp/4002/ws/p2p/${A}`, `/ip4/127.0.0.1/tcp/4002/ws/p2p/${A}`, `/dns4/x.example/tcp/443/wss/p2p/${B}`, `/ip4/203.0.113.1/tcp/4001/p2p/${B}/p2p-circuit/p2p/${A}`]
    const { check, probed, refusals } = checker([{ peer: A, addresses }], {})
    await check.check()
    expect(probed).toEqual([])
    expect(check.listed()).toEqual([])
    expect(refusals.every((r) => r === 'bootstrap/unlisted-address')).toBe(true)
    const local = checker([{ peer: A, addresses: [addresses[1] as string] }], { [addresses[1] as string]: A }, { allowPrivate: true })
    await local.check.check()
    expect(local.check.listed()).toEqual([addresses[1]])
  })

  it('dials a bounded number of claims per round, and each claim once per verdict', async () => {
    const claims = Array.from({ length: 4 }, (_, i) => `/dns4/r${i}.example/tcp/443/wss/p2p/${A}`)
    const { check, probed } = checker([{ peer: A, addresses: claims }], Object.fromEntries(claims.map((c) => [c, A])))
    await check.check(1_000)
    expect(probed).toHaveLength(2)
    await check.check(2_000)
    expect(probed).toHaveLength(4)
    await check.check(3_000)
    expect(probed).toHaveLength(4)
    expect(check.listed(3_000)).toHaveLength(4)
  })

  it('lists configured bootstrap WebSocket addresses without a check', () => {
    const configured = `/dns4/boot.example/tcp/443/wss/p2p/${A}`
    const { check } = checker([], {}, { configured: [configured, `/ip4/192.168.1.2/tcp/4002/ws/p2p/${B}`] })
    expect(check.listed()).toEqual([configured])
  })
})
