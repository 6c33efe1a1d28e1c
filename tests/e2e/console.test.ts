/**
 * The studio's console end to end, in Debian's Chromium with tone
 * microphones: call screening and talkback (IFB). Every audio check is a
 * Goertzel measure of what arrived in a page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import {
  attributeNow, callPath, onAir, openStudio, prepareCall, pressDial, spectrum, startStudioFixture, textNow, toneLevels, waitPhase,
  type StudioAnalyser, type StudioFixture
} from '../src/studio-fixture.ts'
import { waitUntil } from '../src/wait.ts'
import { screenshot } from '../src/web.ts'

/** Host, caller A, caller B: each on a bin of the pages' 8192-point analysers at 48 kHz (k × 5.859375 Hz). */
const TONES = [53, 121, 189].map((k) => k * 48_000 / 8192)
const [HOST, A, B] = [0, 1, 2]
const HEARD = 0.08
const ABSENT = 0.005
/** The talkback duck the producer picks in this test. */
const DUCK_DB = -20

async function hears (page: Page, analyser: StudioAnalyser, expected: number[], what: string): Promise<void> {
  await waitUntil(what, async () => {
    const shares = await spectrum(page, analyser, TONES)
    return shares.every((share, i) => expected.includes(i) ? share > HEARD : share < ABSENT)
  }, 30_000)
}

/** The median of `count` readings of each tone's level (dBFS): a live return moves a little from frame to frame. */
async function levels (page: Page, count = 7): Promise<number[]> {
  const readings: number[][] = []
  for (let i = 0; i < count; i++) readings.push(await toneLevels(page, 'returnAnalyser', TONES))
  return TONES.map((_, t) => readings.map((r) => r[t] as number).sort((x, y) => x - y)[Math.floor(count / 2)] as number)
}

describe('console: screening and talkback', () => {
  let fixture: StudioFixture
  const browsers: Browser[] = []
  let host: Page
  let stationId: string
  let a: { page: Page, id: string }
  let b: { page: Page, id: string }
  const row = (id: string): string => `[data-testid="caller-${id}"]`

  beforeAll(async () => {
    fixture = await startStudioFixture({ turnSecret: 'console-e2e-secret' })
    for (const tone of TONES) browsers.push(await fixture.launch(tone))
    host = await fixture.openPage(browsers[HOST]!)
    stationId = await openStudio(host, fixture.origin, { passphrase: 'correct horse battery staple', name: 'Console Hour' })
    // The levels below compare the mix itself: the loudness processor's slow gain is held out of them.
    await host.evaluate(() => { window.openstudioDiagnostics?.studio?.setProcessing({ enabled: false }) })
    const pageA = await fixture.openPage(browsers[A]!)
    a = await onAir(fixture, host, pageA, stationId, 'Ada')
  })

  afterAll(async () => {
    await fixture?.stop()
  })

  it('shows a caller\'s topic, wait and the producer\'s note in the green room', async () => {
    const page = await fixture.openPage(browsers[B]!)
    await prepareCall(page, fixture.origin, callPath(stationId), 'Bo')
    await page.fill('[data-testid=caller-topic]', 'The bus\u202e timetable\n on route 12')
    b = { page, id: await pressDial(page) }
    await waitPhase(page, 'green-room', 60_000)
    await waitUntil('the topic in the green room', async () => (await textNow(host, `${row(b.id)} [data-testid=caller-topic]`)) === '“The bus timetable on route 12”')
    await waitUntil('the wait shown', async () => /waiting \d+:\d\d/.test(await textNow(host, `${row(b.id)} [data-testid=wait-time]`)))
    await host.fill(`${row(b.id)} [data-testid=caller-note]`, 'Regular, keep it short')
    await host.press(`${row(b.id)} [data-testid=caller-note]`, 'Enter')
    await waitUntil('the note kept', async () => (await host.evaluate((id) => window.openstudioDiagnostics?.studio?.callers.find((c) => c.id === id)?.note, b.id)) === 'Regular, keep it short')
    await screenshot(host, 'console-green-room')
  })

  it('talkback by key: only the green-room caller hears the producer, over the show ducked by the set amount', async () => {
    await host.selectOption('[data-testid=talkback-duck]', String(DUCK_DB))
    // Before: Bo waits in the green room and hears the program (the host and Ada).
    await hears(b.page, 'returnAnalyser', [HOST, A], 'Bo to hear the show')
    const before = await levels(b.page)

    await host.focus(`${row(b.id)} [data-testid=talkback]`)
    await host.keyboard.down(' ')
    await waitUntil('Bo to be told the producer is talking', async () => b.page.locator('[data-testid=talkback-in]').isVisible())
    await hears(host, 'programAnalyser', [A], 'the producer out of the program')
    await hears(a.page, 'returnAnalyser', [], 'Ada not to hear the producer')
    const during = await waitUntil('Bo to hear the producer, and the show ducked', async () => {
      const now = await levels(b.page)
      return Math.abs(now[HOST]! - before[HOST]!) < 3 && Math.abs(now[A]! - before[A]! - DUCK_DB) < 3 ? now : undefined
    }, 15_000)
    // The producer's voice is as loud as before; the show is down by the duck.
    expect(Math.abs(during[HOST]! - before[HOST]!)).toBeLessThan(3)
    expect(Math.abs(during[A]! - before[A]! - DUCK_DB)).toBeLessThan(3)
    await screenshot(host, 'console-talkback')
    await screenshot(b.page, 'console-talkback-caller')

    await host.keyboard.up(' ')
    await waitUntil('the talkback to end on Bo\'s page', async () => !(await b.page.locator('[data-testid=talkback-in]').isVisible()))
    await hears(host, 'programAnalyser', [HOST, A], 'the producer back in the program')
    await hears(a.page, 'returnAnalyser', [HOST], 'Ada to hear the producer again')
    const after = await levels(b.page)
    expect(Math.abs(after[A]! - before[A]!)).toBeLessThan(3)
  })

  it('talkback by mouse to a caller on air: the other caller and the program never hear it', async () => {
    await host.click(`${row(b.id)} [data-testid=admit]`)
    await waitPhase(b.page, 'on-air')
    await hears(b.page, 'returnAnalyser', [HOST, A], 'Bo on air hearing the host and Ada')
    await host.hover(`${row(a.id)} [data-testid=talkback]`)
    await host.mouse.down()
    await waitUntil('the button to show talking', async () => (await attributeNow(host, `${row(a.id)} [data-testid=talkback]`, 'aria-pressed')) === 'true')
    await hears(host, 'programAnalyser', [A, B], 'the producer out of the program')
    await hears(b.page, 'returnAnalyser', [A], 'Bo to hear Ada, not the producer')
    await hears(a.page, 'returnAnalyser', [HOST, B], 'Ada to hear the producer over Bo')
    await host.mouse.up()
    await hears(host, 'programAnalyser', [HOST, A, B], 'the producer back in the program')
    await hears(b.page, 'returnAnalyser', [HOST, A], 'Bo to hear the producer again')
  })
})
