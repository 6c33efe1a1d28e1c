/**
 * Short-lived TURN credentials from protocol/ against a real coturn: fresh
 * ones allocate a relay, forged and expired ones are refused.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { turnCredentials } from '@openstudio/protocol'
import { allocate, startCoturn, type Coturn } from '../src/coturn.ts'

describe('TURN credentials with coturn', () => {
  let turn: Coturn
  const secret = 'relay-and-coturn-share-this'
  const now = (): number => Math.floor(Date.now() / 1000)

  beforeAll(async () => { turn = await startCoturn(secret) })
  afterAll(async () => { await turn?.stop() })

  it('allocates with fresh credentials', async () => {
    const c = turnCredentials(new TextEncoder().encode(secret), { name: '12D3KooWcaller', now: now() })
    expect(await allocate(turn, c.username, c.credential)).toBe(0)
  })

  it('refuses a wrong secret and expired credentials', async () => {
    const forged = turnCredentials(new TextEncoder().encode('guessed'), { name: '12D3KooWcaller', now: now() })
    expect(await allocate(turn, forged.username, forged.credential)).not.toBe(0)
    const expired = turnCredentials(new TextEncoder().encode(secret), { name: '12D3KooWcaller', now: now() - 3600, ttlSeconds: 60 })
    expect(await allocate(turn, expired.username, expired.credential)).not.toBe(0)
  })
})
