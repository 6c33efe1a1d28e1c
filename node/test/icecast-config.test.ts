import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { DEFAULT_BURST_BYTES, fallbackMount, icecastConfig, mountWithFallback, mp3Mount } from '../src/icecast/config.ts'

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

  it('gives the fallback mount no burst and hides it, so listeners moved there stay at the live edge', () => {
    expect(DEFAULT_BURST_BYTES).toBe(65_536)
    const xml = icecastConfig({ ...base, mounts: [mountWithFallback('/live.ogg'), fallbackMount()] })
    expect(xml).toMatch(/<mount-name>\/live\.ogg<\/mount-name>\s*<fallback-mount>\/fallback\.ogg<\/fallback-mount>\s*<fallback-override>1<\/fallback-override>\s*<burst-size>65536<\/burst-size>/)
    expect(xml).toMatch(/<mount-name>\/fallback\.ogg<\/mount-name>\s*<hidden>1<\/hidden>\s*<public>0<\/public>\s*<burst-size>0<\/burst-size>/)
    expect(xml).toContain('5.5 s at 96 kb/s, 8.2 s at 64 kb/s')
  })

  it('escapes values and drops privileges when asked', () => {
    const xml = icecastConfig({ ...base, changeOwner: { user: 'icecast2', group: 'icecast' } })
    expect(xml).toContain('<source-password>s3cr&lt;t&amp;</source-password>')
    expect(xml).toContain('<user>icecast2</user>')
  })

  it('docker/icecast.xml makes the same choices for a container, with no password in it', async () => {
    const template = await readFile(new URL('../../docker/icecast.xml', import.meta.url), 'utf8')
    const generated = icecastConfig({ ...base, mounts: [mountWithFallback('/live.ogg'), mp3Mount(), fallbackMount()] })
    // The mounts and headers, whitespace and comments aside.
    const blocks = (xml: string, tag: string): string[] => [...xml.replace(/<!--[\s\S]*?-->/g, '').matchAll(new RegExp(`<${tag}[ >][\\s\\S]*?</${tag}>`, 'g'))].map((m) => m[0].replace(/\s+/g, ' '))
    expect(blocks(template, 'mount')).toHaveLength(3)
    expect(blocks(template, 'mount')).toEqual(blocks(generated, 'mount'))
    expect(blocks(template, 'http-headers')).toEqual(blocks(generated, 'http-headers'))
    expect(template).toContain(`<burst-size>${DEFAULT_BURST_BYTES}</burst-size>`)
    expect(template).toContain('<bind-address>0.0.0.0</bind-address>')
    expect(template).toContain('<source-password>@SOURCE_PASSWORD@</source-password>')
    expect(template).toContain('<admin-password>@ADMIN_PASSWORD@</admin-password>')
    // XML comments may not hold a double hyphen: Icecast refuses such a file.
    for (const comment of template.match(/<!--[\s\S]*?-->/g) ?? []) expect(comment.slice(4, -3)).not.toContain('--')
  })
})
