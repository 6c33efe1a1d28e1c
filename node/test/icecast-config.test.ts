import { describe, expect, it } from 'vitest'
import { DEFAULT_BURST_BYTES, icecastConfig } from '../src/icecast/config.ts'

const base = { port: 8000, sourcePassword: 's3cr<t&', adminPassword: 'admin', logDir: '/tmp/log' }

describe('Icecast configuration', () => {
  it('binds to loopback, sends CORS, and sets the burst and fallback on purpose', () => {
    const xml = icecastConfig({ ...base, mounts: [{ mount: '/live.ogg', fallback: '/fallback.ogg' }] })
    expect(xml).toContain('<bind-address>127.0.0.1</bind-address>')
    expect(xml).toContain('<header name="Access-Control-Allow-Origin" value="*" />')
    expect(xml).toContain(`<burst-size>${DEFAULT_BURST_BYTES}</burst-size>`)
    expect(xml).toMatch(/<mount-name>\/live\.ogg<\/mount-name>\s*<fallback-mount>\/fallback\.ogg<\/fallback-mount>\s*<fallback-override>1<\/fallback-override>/)
    expect(xml).toContain('<chroot>0</chroot>')
    expect(xml).not.toContain('<changeowner>')
  })

  it('escapes values and drops privileges when asked', () => {
    const xml = icecastConfig({ ...base, changeOwner: { user: 'icecast2', group: 'icecast' } })
    expect(xml).toContain('<source-password>s3cr&lt;t&amp;</source-password>')
    expect(xml).toContain('<user>icecast2</user>')
  })
})
