/**
 * The live studio end to end, in Debian's Chromium: a host and three callers,
 * each browser fed a different tone as its microphone, real relays with TURN
 * credentials from a real coturn. Every audio check is a Goertzel test on what
 * actually arrived in a page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import {
  attributeNow, callPath, dial, holdAudioService, openStudio, phaseOf, skippedAudio, spectrum, startStudioFixture, textNow, waitPhase,
  type StudioAnalyser, type StudioFixture
} from '../src/studio-fixture.ts'
import { waitUntil } from '../src/wait.ts'
import { screenshot } from '../src/web.ts'

const PASSPHRASE = 'correct horse battery staple'
/** Host, then callers 1–3. */
const TONES = [300, 700, 1100, 1900] as const
const HEARD = 0.08
const ABSENT = 0.005

/** Waits until `page` hears exactly the tones in `expected` (by index into TONES). */
async function hears (page: Page, analyser: StudioAnalyser, expected: number[], what: string, timeoutMs = 30_000): Promise<number[]> {
  return waitUntil(what, async () => {
    const shares = await spectrum(page, analyser, TONES)
    const ok = shares.every((share, i) => expected.includes(i) ? share > HEARD : share < ABSENT)
    return ok ? shares : undefined
  }, timeoutMs)
}

/** A dial's answer can take this long while the whole suite loads the machine. */
const DIAL_TIMEOUT_MS = 45_000

/** Waits for the call page to show a refusal matching `pattern`; on a timeout, says what the page showed instead. */
async function refusal (page: Page, pattern: RegExp, what: string): Promise<void> {
  try {
    await waitUntil(what, async () => pattern.test(await textNow(page, '[data-testid=call-error]')), DIAL_TIMEOUT_MS)
  } catch (err) {
    const shown = await textNow(page, '[data-testid=call-error]').catch(() => '')
    throw new Error(`${(err as Error).message}; the page said: ${shown === '' ? `nothing (phase ${String(await phaseOf(page))})` : shown}`, { cause: err })
  }
}

describe('live studio', () => {
  let fixture: StudioFixture
  let origin: string
  const browsers: Browser[] = []
  let host: Page
  let stationId: string
  const callers: Array<{ page: Page, id: string }> = []

  beforeAll(async () => {
    fixture = await startStudioFixture({ turnSecret: 'studio-e2e-secret' })
    origin = fixture.origin
    for (const tone of TONES) browsers.push(await fixture.launch(tone))

    // The host makes a station in the browser and opens the studio.
    host = await fixture.openPage(browsers[0]!)
    stationId = await openStudio(host, origin, { passphrase: PASSPHRASE, name: 'Call-in Hour', tags: 'talk' })

    for (const [i, browser] of browsers.slice(1).entries()) {
      const page = await fixture.openPage(browser)
      callers.push({ page, id: await dial(page, origin, callPath(stationId), `Caller ${i + 1}`) })
    }
  })

  afterAll(async () => {
    await fixture?.stop()
  })

  it('puts callers in the green room, then on air, each hearing everyone but themselves', async () => {
    for (const { page } of callers) await waitPhase(page, 'green-room')
    await screenshot(host, 'studio-green-room')
    for (const { id } of callers) await host.click(`[data-testid="caller-${id}"] [data-testid=admit]`)
    for (const { page } of callers) await waitPhase(page, 'on-air')

    await hears(host, 'programAnalyser', [0, 1, 2, 3], 'the program to carry all four tones')
    for (const [i, { page }] of callers.entries()) {
      const own = i + 1
      await hears(page, 'returnAnalyser', [0, 1, 2, 3].filter((t) => t !== own), `caller ${own} to hear the others and not itself`)
    }
    await screenshot(host, 'studio-on-air')
    await screenshot(callers[0]!.page, 'caller-on-air')
  })

  it('a producer mute silences a caller everywhere; a mute forged by a caller changes nothing', async () => {
    const [one, two, three] = callers as [typeof callers[0], typeof callers[0], typeof callers[0]]
    await host.click(`[data-testid="caller-${two.id}"] [data-testid=mute]`)
    await hears(host, 'programAnalyser', [0, 1, 3], 'caller 2 to leave the program')
    await hears(one.page, 'returnAnalyser', [0, 3], 'caller 2 to leave caller 1\'s mix-minus')
    await hears(three.page, 'returnAnalyser', [0, 1], 'caller 2 to leave caller 3\'s mix-minus')
    await waitUntil('caller 2 to see that the producer muted it', async () => (await attributeNow(two.page, '[data-testid=call-state]', 'data-muted')) === 'true')

    // Caller 3, no co-host, signs a mute of caller 1 with its own key and sends it to the studio.
    await three.page.evaluate(async (peer) => { await window.openstudioDiagnostics?.caller?.control({ type: 'mute', peer }) }, one.id)
    await waitUntil('the studio to refuse the mute', async () => host.evaluate(() => (window.openstudioDiagnostics?.studio?.authority.refusals['not-co-host'] ?? 0) > 0))
    await hears(host, 'programAnalyser', [0, 1, 3], 'caller 1 to stay in the program')
    await hears(two.page, 'returnAnalyser', [0, 1, 3], 'caller 2 (muted) still to hear caller 1')

    await waitUntil('the studio page to count the refused request', async () => Number(await attributeNow(host, '[data-testid=room-diagnostics]', 'data-refused')) > 0)

    await host.click(`[data-testid="caller-${two.id}"] [data-testid=mute]`)
    await hears(host, 'programAnalyser', [0, 1, 2, 3], 'caller 2 back in the program')
    await hears(one.page, 'returnAnalyser', [0, 2, 3], 'caller 2 back in caller 1\'s mix-minus')

    // The host mutes themself with the button, and unmutes with M.
    const hostMute = '[data-testid=host-mute]'
    await host.click(hostMute)
    await waitUntil('the host\'s button to read Unmute, pressed', async () =>
      (await textNow(host, hostMute)).trim() === 'Unmute' && (await attributeNow(host, hostMute, 'aria-pressed')) === 'true')
    await hears(host, 'programAnalyser', [1, 2, 3], 'the host to leave the program')
    await host.keyboard.press('m')
    await waitUntil('the host\'s button to read Mute again', async () =>
      (await textNow(host, hostMute)).trim() === 'Mute' && (await attributeNow(host, hostMute, 'aria-pressed')) === 'false')
    await hears(host, 'programAnalyser', [0, 1, 2, 3], 'the host back in the program')
  })

  it('reports a self-mute to the producer, and keeps the call when its signalling connection drops', async () => {
    const three = callers[2]!
    await three.page.click('[data-testid=self-mute]')
    await waitUntil('the studio to show that caller 3 muted itself', async () => /muted themselves/.test(await textNow(host, `[data-testid="caller-${three.id}"]`)))
    await hears(host, 'programAnalyser', [0, 1, 2], 'caller 3 to leave the program while self-muted')
    await three.page.click('[data-testid=self-mute]')
    await hears(host, 'programAnalyser', [0, 1, 2, 3], 'caller 3 back after unmuting itself')

    // Every libp2p connection between caller 3 and the studio goes; the audio has its own path.
    await three.page.evaluate(async (station) => {
      const d = window.openstudioDiagnostics
      await d?.network?.libp2p?.hangUp(d.multiaddr!(`/p2p/${station}`))
    }, stationId)
    await hears(host, 'programAnalyser', [0, 1, 2, 3], 'caller 3 to stay in the program')
    await host.click(`[data-testid="caller-${three.id}"] [data-testid=mute]`)
    await waitUntil('the producer\'s mute to reach caller 3 over the new signalling', async () => (await attributeNow(three.page, '[data-testid=call-state]', 'data-muted')) === 'true')
    expect(await phaseOf(three.page)).toBe('on-air')
    await host.click(`[data-testid="caller-${three.id}"] [data-testid=mute]`)
    await hears(host, 'programAnalyser', [0, 1, 2, 3], 'caller 3 back in the program')
  })

  it('a caller that reloads mid-show comes back on air by itself', async () => {
    const one = callers[0]!
    await one.page.reload()
    await waitPhase(one.page, 'on-air')
    await hears(one.page, 'returnAnalyser', [0, 2, 3], 'caller 1 to hear the show again after the reload')
    await hears(host, 'programAnalyser', [0, 1, 2, 3], 'caller 1 back in the program after the reload')
  })

  it('callers who hang up leave the studio, and their voices leave the program', async () => {
    // Two callers go: the rest of the show runs with the host and caller 1, which also keeps this 2-core machine out of overload.
    const leaving = callers.splice(1)
    for (const { page } of leaving) await page.click('[data-testid=leave]')
    for (const { id } of leaving) await host.locator(`[data-testid="caller-${id}"]`).waitFor({ state: 'detached', timeout: 30_000 })
    await hears(host, 'programAnalyser', [0, 1], 'callers 2 and 3 to leave the program')
    await hears(callers[0]!.page, 'returnAnalyser', [0], 'caller 1 to hear only the host')
    for (const { page } of leaving) await page.context().close()
  })

  it('tells the producer and a caller when their computer skipped audio, and how much', async () => {
    // Each page's browser gets no CPU for its audio for HOLD_MS, as on a starved machine.
    const HOLD_MS = 200
    for (const page of [host, callers[0]!.page]) {
      await holdAudioService(page, HOLD_MS)
      const skipped = await skippedAudio(page, HOLD_MS / 2)
      // The hold, and whatever else this loaded machine skipped in the minute: not the minute itself.
      expect(skipped).toBeLessThan(HOLD_MS * 10)
      expect(await textNow(page, '[data-testid=render-health]')).toMatch(/skipped \d+ ms of audio in the last minute/)
    }
    await screenshot(host, 'studio-render-skipped')
    await screenshot(callers[0]!.page, 'caller-render-skipped')
  })

  it('runs a call through TURN when the caller allows relay candidates only, says so, and comes back when the TURN server restarts', async () => {
    const page = await fixture.openPage(browsers[2]!, { extraRelays: [], forceTurn: true })
    const id = await dial(page, origin, callPath(stationId), 'Behind a firewall')
    await waitPhase(page, 'green-room')
    await waitUntil('the caller page to show TURN', async () => (await attributeNow(page, '[data-testid=call-state]', 'data-path')) === 'turn')
    await waitUntil('the studio to show TURN for the caller', async () => /TURN/.test(await textNow(host, `[data-testid="caller-${id}"]`)))
    await host.click(`[data-testid="caller-${id}"] [data-testid=admit]`)
    await waitPhase(page, 'on-air')
    // It hears the show through TURN (the host and caller 1), and the show hears it (its browser's microphone is caller 2's tone).
    await hears(page, 'returnAnalyser', [0, 1], 'the TURN caller to hear the host and caller 1')
    await hears(host, 'programAnalyser', [0, 1, 2], 'the program to carry the TURN caller')
    await screenshot(page, 'caller-turn')

    // A real cut of the media path: the TURN server restarts, and every relayed allocation is gone with it.
    await fixture.coturn.restart()
    await hears(host, 'programAnalyser', [0, 1], 'the cut to take the TURN caller out of the program')
    // The caller notices, restarts ICE or dials again, and gets a new relayed path from the new TURN server.
    await hears(host, 'programAnalyser', [0, 1, 2], 'the TURN caller back in the program', 60_000)
    await hears(page, 'returnAnalyser', [0, 1], 'the TURN caller to hear the show again')
    expect(await phaseOf(page)).toBe('on-air')
    expect(await attributeNow(page, '[data-testid=call-state]', 'data-path')).toBe('turn')
    await host.click(`[data-testid="caller-${id}"] [data-testid=kick]`)
    await waitUntil('the kicked caller to be told', async () => /removed you/.test(await textNow(page, '[data-testid=call-error]')))
    await hears(host, 'programAnalyser', [0, 1], 'the kicked caller to leave the program')
    await page.context().close()
  })

  it('a co-host invite brings its caller straight on air with producer authority: the co-host puts a caller on air and mutes them', async () => {
    const invite = await host.evaluate(() => window.openstudioDiagnostics?.studio?.createInvite({ role: 'host', validForMs: 3_600_000 }) ?? '')
    const page = await fixture.openPage(browsers[3]!)
    await dial(page, origin, callPath(stationId, invite), 'Co-host')
    await waitPhase(page, 'on-air')
    const target = callers[0] as { page: Page, id: string }
    const row = `[data-testid="co-host-${target.id}"]`
    await page.locator(row).waitFor({ timeout: 30_000 })
    await screenshot(page, 'caller-co-host')
    if (await attributeNow(page, row, 'data-stage') !== 'on-air') await page.click(`${row} button:has-text("Put on air")`)
    await waitPhase(target.page, 'on-air')
    await waitUntil('the co-host to see the caller on air', async () => (await attributeNow(page, row, 'data-stage')) === 'on-air')
    await page.click(`${row} [data-testid=co-host-mute]`)
    // The studio applies it (the program and every mix-minus follow the same room state), and the caller hears of it.
    await waitUntil('the studio to show the caller muted by the co-host', async () => (await attributeNow(host, `[data-testid="caller-${target.id}"]`, 'data-muted')) === 'true')
    await waitUntil('the caller to be told', async () => (await attributeNow(target.page, '[data-testid=call-state]', 'data-muted')) === 'true')
    await waitUntil('the co-host to see the caller muted', async () => (await attributeNow(page, row, 'data-muted')) === 'true')
    await page.click(`${row} [data-testid=co-host-mute]`)
    await waitUntil('the caller unmuted everywhere', async () => (await attributeNow(host, `[data-testid="caller-${target.id}"]`, 'data-muted')) === 'false' &&
      (await attributeNow(target.page, '[data-testid=call-state]', 'data-muted')) === 'false')
    await page.click('[data-testid=leave]')
    await page.context().close()
  })

  it('an invite-only station refuses callers without a valid invite and admits one with', async () => {
    await host.click('a[href="/station"]')
    await host.selectOption('[data-testid=field-access]', 'invite')
    const before = await textNow(host, '[data-testid=publish-status]')
    await host.click('[data-testid=publish]')
    await waitUntil('the invite-only manifest to be published', async () => {
      const now = await textNow(host, '[data-testid=publish-status]')
      return now !== before && /Published #/.test(now)
    })
    await host.click('a[href="/studio"]')
    const expired = await host.evaluate(() => window.openstudioDiagnostics?.studio?.createInvite({ role: 'caller', validForMs: -60_000 }) ?? '')

    // The producer makes a single-use invite and a second one in the invites panel, and revokes the second.
    const createInvite = async (label: string, singleUse: boolean): Promise<{ token: string, nonce: string }> => {
      const previous = await textNow(host, '[data-testid=invite-link]')
      await host.selectOption('[data-testid=invite-role]', 'caller')
      await host.selectOption('[data-testid=invite-valid-for]', String(3_600_000))
      await host.fill('[data-testid=invite-label]', label)
      await host.setChecked('[data-testid=invite-single-use]', singleUse)
      await host.click('[data-testid=create-invite]')
      const nonce = await waitUntil(`the link of the ${label} invite`, async () =>
        (await textNow(host, '[data-testid=invite-link]')) !== previous ? await attributeNow(host, '[data-testid=invite-link]', 'data-nonce') ?? undefined : undefined)
      const token = new URL(await textNow(host, '[data-testid=invite-link]')).searchParams.get('invite') ?? ''
      expect(await attributeNow(host, `[data-testid="invite-${nonce}"]`, 'data-status')).toBe('active')
      return { token, nonce }
    }
    const single = await createInvite('One caller', true)
    const withdrawn = await createInvite('Withdrawn', false)
    await host.click(`[data-testid="invite-revoke-${withdrawn.nonce}"]`)
    await waitUntil('the revoked invite to show as revoked', async () => (await attributeNow(host, `[data-testid="invite-${withdrawn.nonce}"]`, 'data-status')) === 'revoked')
    expect(await host.locator(`[data-testid="invite-revoke-${withdrawn.nonce}"]`).count()).toBe(0)
    expect(await attributeNow(host, `[data-testid="invite-${single.nonce}"]`, 'data-status')).toBe('active')
    await host.locator('[data-testid=invites]').scrollIntoViewIfNeeded()
    await screenshot(host, 'studio-invites')

    const page = await fixture.openPage(browsers[2]!)
    await dial(page, origin, callPath(stationId), 'No invite')
    await refusal(page, /invitation only/, 'a refusal for a caller without invite')
    await dial(page, origin, callPath(stationId, expired), 'Old invite')
    await refusal(page, /expired/, 'a refusal for an expired invite')
    await screenshot(page, 'caller-invite-expired')
    await dial(page, origin, callPath(stationId, withdrawn.token), 'Withdrawn invite')
    await refusal(page, /withdrew/, 'a refusal for a revoked invite')
    await dial(page, origin, callPath(stationId, single.token), 'Invited')
    await waitPhase(page, 'green-room')
    await waitUntil('the studio to list the single-use invite as used once', async () => (await attributeNow(host, `[data-testid="invite-${single.nonce}"]`, 'data-used')) === '1')

    // Someone else with the same single-use invite stays out.
    const second = await fixture.openPage(browsers[3]!)
    await dial(second, origin, callPath(stationId, single.token), 'Second with a used invite')
    await refusal(second, /used/, 'a refusal for a used single-use invite')
    await second.context().close()
  })

})
