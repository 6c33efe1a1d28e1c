/**
 * The studio's console end to end, in Debian's Chromium with tone
 * microphones: call screening, talkback (IFB) and chat. Every audio check is
 * a Goertzel measure of what arrived in a page.
 */
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { encodeChat, generateStationKey, MAX_CHAT_BYTES } from '@openstudio/protocol'
import {
  attributeNow, callPath, onAir, openStudio, prepareCall, pressDial, spectrum, startStudioFixture, textNow, toneLevels, waitPhase,
  type StudioAnalyser, type StudioFixture
} from '../src/studio-fixture.ts'
import { waitUntil } from '../src/wait.ts'
import { screenshot } from '../src/web.ts'

/** Host, caller A, caller B, a co-host: each on a bin of the pages' 8192-point analysers at 48 kHz (k × 5.859375 Hz). */
const TONES = [53, 121, 189, 257].map((k) => k * 48_000 / 8192)
const [HOST, A, B, CO] = [0, 1, 2, 3]
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

/** The median of `count` readings of each tone's level (dBFS) on `analyser`: a live return moves a little from frame to frame. */
async function levels (page: Page, analyser: StudioAnalyser = 'returnAnalyser', count = 7): Promise<number[]> {
  const readings: number[][] = []
  for (let i = 0; i < count; i++) readings.push(await toneLevels(page, analyser, TONES))
  return TONES.map((_, t) => readings.map((r) => r[t] as number).sort((x, y) => x - y)[Math.floor(count / 2)] as number)
}

describe('console: screening, talkback and chat', () => {
  let fixture: StudioFixture
  const browsers: Browser[] = []
  let host: Page
  let stationId: string
  let a: { page: Page, id: string }
  let b: { page: Page, id: string }
  const row = (id: string): string => `[data-testid="caller-${id}"]`

  beforeAll(async () => {
    fixture = await startStudioFixture({ turnSecret: 'console-e2e-secret' })
    for (const tone of TONES.slice(0, CO)) browsers.push(await fixture.launch(tone))
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
    await host.locator(`${row(b.id)} [data-testid=caller-note]`).pressSequentially('Regular, keep it short')
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
    onTestFinished(async () => { await host.keyboard.up(' ') })
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
    await waitUntil('the show back at its level in Bo\'s return', async () => Math.abs((await levels(b.page))[A]! - before[A]!) < 3, 15_000)
  })

  it('talkback by mouse to a caller on air: the other caller and the program never hear it', async () => {
    await host.click(`${row(b.id)} [data-testid=admit]`)
    await waitPhase(b.page, 'on-air')
    await hears(b.page, 'returnAnalyser', [HOST, A], 'Bo on air hearing the host and Ada')
    await hears(a.page, 'returnAnalyser', [HOST, B], 'Ada to hear the host and Bo')
    const before = await levels(a.page)
    await host.hover(`${row(a.id)} [data-testid=talkback]`)
    await host.mouse.down()
    // Let go whatever happens: a held button would talk on into the next test.
    onTestFinished(async () => { await host.mouse.up() })
    await waitUntil('Ada to be told the producer is talking', async () => a.page.locator('[data-testid=talkback-in]').isVisible())
    await hears(host, 'programAnalyser', [A, B], 'the producer out of the program')
    await hears(b.page, 'returnAnalyser', [A], 'Bo to hear Ada, not the producer')
    await waitUntil('Ada to hear the producer, and Bo ducked', async () => {
      const now = await levels(a.page)
      return Math.abs(now[HOST]! - before[HOST]!) < 3 && Math.abs(now[B]! - before[B]! - DUCK_DB) < 3
    }, 15_000)
    await host.mouse.up()
    await hears(host, 'programAnalyser', [HOST, A, B], 'the producer back in the program')
    await hears(b.page, 'returnAnalyser', [HOST, A], 'Bo to hear the producer again')
  })

  it('a co-host talks back to the producer alone, over the show ducked in the producer\'s headphones', async () => {
    const invite = await host.evaluate(() => window.openstudioDiagnostics?.studio?.createInvite({ role: 'host', validForMs: 3_600_000 }) ?? '')
    const page = await fixture.openPage(await fixture.launch(TONES[CO]!))
    await prepareCall(page, fixture.origin, callPath(stationId, invite), 'Cody')
    await pressDial(page)
    await waitPhase(page, 'on-air', 60_000)
    await hears(host, 'monitorAnalyser', [A, B, CO], 'the producer to hear Ada, Bo and the co-host')
    const before = await levels(host, 'monitorAnalyser')

    await page.hover('[data-testid=talkback-out]')
    await page.mouse.down()
    onTestFinished(async () => { if (!page.isClosed()) await page.mouse.up() })
    await waitUntil('the studio to show the co-host talking to the producer', async () => /Cody is talking to you/.test(await textNow(host, '[data-testid=talkback-from]')))
    await hears(host, 'programAnalyser', [HOST, A, B], 'the co-host out of the program')
    await hears(a.page, 'returnAnalyser', [HOST, B], 'Ada not to hear the co-host')
    await hears(b.page, 'returnAnalyser', [HOST, A], 'Bo not to hear the co-host')
    await waitUntil('the producer to hear the co-host over the show, ducked', async () => {
      const now = await levels(host, 'monitorAnalyser')
      return Math.abs(now[CO]! - before[CO]!) < 3 && Math.abs(now[A]! - before[A]! - DUCK_DB) < 3 && Math.abs(now[B]! - before[B]! - DUCK_DB) < 3
    }, 15_000)
    await page.mouse.up()
    await hears(host, 'programAnalyser', [HOST, A, B, CO], 'the co-host back in the program')
    await page.click('[data-testid=leave]')
    await page.context().close()
  })

  /** The chat lines `page` shows now. */
  const chatLines = async (page: Page): Promise<string[]> => page.locator('[data-testid=chat-message] .text').allTextContents()

  it('chats: the producer to one caller or to all, and a reply; each message reaches only its target', async () => {
    await host.selectOption('[data-testid=chat-to]', b.id)
    await host.fill('[data-testid=chat-input]', 'You are on in 30 s')
    await host.press('[data-testid=chat-input]', 'Enter')
    await waitUntil('Bo to read it', async () => (await chatLines(b.page)).includes('You are on in 30 s'))
    await host.selectOption('[data-testid=chat-to]', 'all')
    await host.fill('[data-testid=chat-input]', 'Thanks for calling in 🎙')
    await host.click('[data-testid=chat-send]')
    await waitUntil('Ada and Bo to read the one for all', async () =>
      (await chatLines(a.page)).includes('Thanks for calling in 🎙') && (await chatLines(b.page)).includes('Thanks for calling in 🎙')).catch(async (err: Error) => {
      throw new Error(`${err.message}: Ada shows ${JSON.stringify(await chatLines(a.page))}, Bo ${JSON.stringify(await chatLines(b.page))}, the studio ${JSON.stringify(await chatLines(host))}`)
    })
    expect(await chatLines(a.page)).toEqual(['Thanks for calling in 🎙'])

    await b.page.fill('[data-testid=chat-input]', 'Ready when you are')
    await b.page.press('[data-testid=chat-input]', 'Enter')
    await waitUntil('the studio to read the reply', async () => (await chatLines(host)).includes('Ready when you are'))
    await screenshot(host, 'console-chat')
    await screenshot(b.page, 'console-chat-caller')
  })

  it('refuses oversized, forged and too frequent chat with a typed reason, and a silenced caller; nothing changes', async () => {
    const logged = async (): Promise<number> => (await chatLines(host)).length
    const refusals = async (): Promise<Record<string, number>> => host.evaluate(() => ({ ...window.openstudioDiagnostics?.studio?.chatGate.refusals }))
    const send = async (bytes: Uint8Array): Promise<void> => {
      await b.page.evaluate(async (raw) => { await window.openstudioDiagnostics?.caller?.sendChatEnvelope(new Uint8Array(raw)) }, [...bytes])
    }
    const before = await logged()
    // Oversized bytes, then a message a stranger signed, sent on Bo's stream.
    await send(new Uint8Array(MAX_CHAT_BYTES + 1).fill(0xa5))
    await waitUntil('the studio to refuse it as too large', async () => (await refusals())['too-large'] === 1)
    await waitUntil('Bo to be told', async () => /too long/.test(await textNow(b.page, '[data-testid=chat-error]')))
    await send(encodeChat(generateStationKey(), { room: stationId, to: stationId, n: 1, at: Date.now(), text: 'I am Bo, honest' }))
    await waitUntil('the studio to refuse it as forged', async () => (await refusals()).forged === 1)
    // A flood: the burst gets through, the rest is refused as too fast.
    await b.page.evaluate(async () => {
      for (let i = 0; i < 8; i++) await window.openstudioDiagnostics?.caller?.sendChat(`flood ${i}`)
    })
    await waitUntil('the studio to refuse the rest as too fast', async () => ((await refusals())['too-fast'] ?? 0) >= 3)
    await waitUntil('Bo to be told to slow down', async () => /too fast/.test(await textNow(b.page, '[data-testid=chat-error]')))
    await waitUntil('Bo to see which messages did not get through', async () => (await b.page.locator('[data-testid=chat-refused]').count()) >= 3)
    const floodIn = (await chatLines(host)).filter((t) => t.startsWith('flood')).length
    expect(floodIn).toBeLessThanOrEqual(5)
    expect(await logged()).toBe(before + floodIn)
    expect(await chatLines(host)).not.toContain('I am Bo, honest')

    // Silenced by the producer: refused until it is lifted.
    await host.click(`${row(b.id)} [data-testid=chat-silence]`)
    await waitUntil('the silence to show', async () => (await attributeNow(host, `${row(b.id)} [data-testid=chat-silence]`, 'aria-pressed')) === 'true')
    const silencedAt = await logged()
    await b.page.evaluate(async () => { await window.openstudioDiagnostics?.caller?.sendChatEnvelope(new Uint8Array(0)) })
    await waitUntil('an empty envelope refused as malformed', async () => (await refusals()).malformed === 1)
    await waitUntil('the bucket to refill', async () => {
      await b.page.fill('[data-testid=chat-input]', 'Can I go on?')
      await b.page.press('[data-testid=chat-input]', 'Enter')
      return /turned off your chat/.test(await textNow(b.page, '[data-testid=chat-error]'))
    }, 20_000)
    expect(await logged()).toBe(silencedAt)
    await host.click(`${row(b.id)} [data-testid=chat-silence]`)
    await waitUntil('Bo heard again', async () => {
      await b.page.fill('[data-testid=chat-input]', 'Thanks!')
      await b.page.press('[data-testid=chat-input]', 'Enter')
      return (await chatLines(host)).includes('Thanks!')
    }, 20_000)
    await screenshot(b.page, 'console-chat-refused')
  })
})
