import { describe, expect, it } from 'vitest'
import { turnCredentials } from '../src/index.ts'

const secret = new TextEncoder().encode('north-pole-secret')

describe('TURN credentials', () => {
  it('match the coturn REST-API scheme (known answer)', () => {
    const c = turnCredentials(secret, { name: '12D3KooWcaller', now: 1_800_000_000, ttlSeconds: 600 })
    expect(c.username).toBe('1800000600:12D3KooWcaller')
    expect(c.expiresAt).toBe(1_800_000_600)
    // base64(HMAC-SHA1("north-pole-secret", "1800000600:12D3KooWcaller")), computed with openssl:
    // printf '1800000600:12D3KooWcaller' | openssl dgst -sha1 -hmac north-pole-secret -binary | base64
    expect(c.credential).toBe('Q14Xe1KEEBMu4zGRGoE08BfJxtM=')
  })

  it('refuses an empty secret and names with a colon', () => {
    expect(() => turnCredentials(new Uint8Array(), { name: 'x', now: 0 })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
    expect(() => turnCredentials(secret, { name: 'a:b', now: 0 })).toThrow(expect.objectContaining({ name: 'MalformedError' }))
  })
})
