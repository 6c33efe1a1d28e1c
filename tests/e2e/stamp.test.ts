/**
 * A station key's proof of work, end to end in Chromium on a network that
 * asks for 8 bits: the first publish mints the stamp behind a progress bar,
 * the record carries a stamp that verifies, and the stamp is kept with the
 * key, so that a reload and a republish do not mint again.
 */
import { fileURLToPath } from 'node:url'
import { decode } from 'cborg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { resolveStation, type OpenStudioNode } from '@openstudio/node'
import { requireStampBits, stampWork, verifyStamp } from '@openstudio/protocol'
import type { Page } from 'playwright-core'
import { clientOf } from '../src/network.ts'
import { waitUntil } from '../src/wait.ts'
import { startWeb, type WebFixture } from '../src/web.ts'

const PASSPHRASE = 'correct horse battery'
const BITS = 8
const SCREENSHOT = fileURLToPath(new URL('../../test-results/stamp-progress.png', import.meta.url))

/** What the page showed of the stamp's progress since `watchStamp`. */
interface StampSeen {
  /** The progress bar was on the page (minting, or done). */
  bar: boolean
  /** It showed the search under way, not only its end. */
  minting: boolean
  /** Its accessible names, in order, without repeats. */
  names: string[]
}

/** Runs in the page: records from now on whether the stamp's progress bar shows, and what it says. */
function watchStamp (): void {
  const seen: StampSeen = { bar: false, minting: false, names: [] }
  const look = (): void => {
    const block = document.querySelector('[data-testid=stamp-progress]')
    const bar = block?.querySelector('progress')
    if (block == null || bar == null) return
    seen.bar = true
    if (block.getAttribute('data-state') === 'minting') seen.minting = true
    const name = bar.getAttribute('aria-label') ?? ''
    if (seen.names.at(-1) !== name) seen.names.push(name)
  }
  // Each of Vue's renders is one batch of mutations: the observer sees every state the page painted.
  new MutationObserver(look).observe(document.body, { childList: true, subtree: true, attributes: true, characterData: true })
  look()
  ;(window as unknown as { stampSeen: StampSeen }).stampSeen = seen
}

/** The seq of the publish the page reports done, once it does (seqs are the publish time, in ms). */
async function publishedSeq (page: Page, timeoutMs: number): Promise<number> {
  const status = await waitUntil('the page to report the publish stored', async () =>
    /Published #(\d+) · stored on [1-9]/.exec(await page.textContent('[data-testid=publish-status]') ?? '') ?? undefined, timeoutMs)
  return Number(status[1])
}

async function stampSeen (page: Page): Promise<StampSeen> {
  return page.evaluate(() => (window as unknown as { stampSeen: StampSeen }).stampSeen)
}

/** Runs in the page: the stamp kept with the stored key `id` (the app's IndexedDB key store). */
async function storedStamp (id: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const open = indexedDB.open('openstudio-keys')
    open.onerror = () => { reject(open.error) }
    open.onsuccess = () => {
      const db = open.result
      const get = db.transaction('keys', 'readonly').objectStore('keys').get(id)
      get.onsuccess = () => { db.close(); resolve((get.result as { stamp?: number } | undefined)?.stamp) }
      get.onerror = () => { db.close(); reject(get.error) }
    }
  })
}

/** The record envelope: canonical DAG-CBOR of `{ v, manifest, sig, stamp }`. */
function stampOfRecord (record: Uint8Array): unknown {
  return (decode(record) as { stamp?: unknown }).stamp
}

describe('a station key\'s proof of work', () => {
  let web: WebFixture
  let client: OpenStudioNode

  beforeAll(async () => {
    // Relays in this process serve it to pages in /api/bootstrap, and check records by it.
    requireStampBits(BITS)
    web = await startWeb()
    client = await clientOf(web.relays[1] as WebFixture['relays'][number])
  })

  afterAll(async () => {
    await client?.stop()
    await web?.stop()
    requireStampBits(0)
  })

  it('is minted once, behind a progress bar, and kept with the key: a reload and a republish do not mint again', async () => {
    const bootstrap = await (await fetch(`${web.origin}/api/bootstrap`)).json() as { stampBits?: number }
    expect(bootstrap.stampBits).toBe(BITS)

    const { page } = await web.newPage()
    await page.goto(`${web.origin}/station`)
    await page.fill('[data-testid=new-passphrase]', PASSPHRASE)
    await page.fill('[data-testid=new-passphrase-2]', PASSPHRASE)
    await page.click('[data-testid=generate]')
    await page.locator('[data-testid=my-station-id]').waitFor({ timeout: 20_000 })
    const id = (await page.textContent('[data-testid=my-station-id]'))?.trim() ?? ''
    expect(id).toMatch(/^12D3KooW/)
    await page.fill('[data-testid=field-name]', 'Stamped FM')
    await page.fill('[data-testid=field-tags]', 'stamped')
    await page.fill('[data-testid=field-country]', 'NL')
    await page.fill('[data-testid=field-homepage]', 'https://example.org/')
    await page.fill('[data-testid=field-stream-url-0]', 'https://stream.example.org/live.ogg')

    // The first publish: the key has no stamp yet.
    await page.evaluate(watchStamp)
    await page.click('[data-testid=publish]')
    await page.locator('[data-testid=stamp-bar]').waitFor({ timeout: 30_000 })
    await page.screenshot({ path: SCREENSHOT })
    // A random search: 256 hashes on average, more now and then.
    const firstSeq = await publishedSeq(page, 90_000)
    await expect.poll(async () => page.getAttribute('[data-testid=stamp-progress]', 'data-state')).toBe('done')
    expect(await page.getByRole('progressbar', { name: /Station key secured: proof of work, once per key/ }).count()).toBe(1)

    // The stamp is stored with the key, and it is the one the published record carries.
    const stamp = await waitUntil('the stamp stored with the key', async () => page.evaluate(storedStamp, id), 10_000)
    const first = await resolveStation(client.services, id)
    expect(first.manifest.seq).toBe(firstSeq)
    expect(stampOfRecord(first.record)).toBe(stamp)
    expect(verifyStamp(id, stamp, BITS)).toBe(true)
    expect(stampWork(id, stamp)).toBeGreaterThanOrEqual(BITS)

    // The bar was there; the search under way shows whenever it outlasts the page's first turn (50 ms of
    // hashing, a few hashes): surely when the nonce found is 64 or more (it took stamp + 1 hashes, at
    // 2 ms or more each). A luckier search is done before the page paints, and shows done at once.
    const seen = await stampSeen(page)
    expect(seen.bar).toBe(true)
    expect(seen.names.at(-1)).toBe('Station key secured: proof of work, once per key — done')
    if (stamp >= 64) {
      expect(seen.minting).toBe(true)
      expect(seen.names[0]).toMatch(/^Securing your station key: proof of work, once per key — (\d{1,2}%|taking longer than usual…)$/)
    }

    // A reload locks the key: unlocked again, it comes with its stamp, and the republish mints nothing.
    await page.reload()
    await page.fill(`[aria-label="Passphrase for ${id}"]`, PASSPHRASE)
    await page.press(`[aria-label="Passphrase for ${id}"]`, 'Enter')
    await page.locator('[data-testid=my-station-id]').waitFor({ timeout: 20_000 })
    expect(await page.inputValue('[data-testid=field-name]')).toBe('Stamped FM')
    await page.evaluate(watchStamp)
    await page.click('[data-testid=publish]')
    const secondSeq = await publishedSeq(page, 30_000)
    expect(secondSeq).toBeGreaterThan(firstSeq)
    expect(await stampSeen(page)).toEqual({ bar: false, minting: false, names: [] })
    expect(await page.locator('[data-testid=stamp-progress]').count()).toBe(0)

    const second = await resolveStation(client.services, id)
    expect(second.manifest.seq).toBe(secondSeq)
    expect(stampOfRecord(second.record)).toBe(stamp)
  })
})
