/**
 * The NAT lab: calls through real NATs, in network namespaces
 * (tests/src/nat-lab.ts). Two relays and coturn (UDP 3478, and TLS on 443
 * with a test CA's certificate) are on a public segment. The studio is behind
 * an endpoint-independent NAT, and three callers each sit behind a NAT of
 * their own:
 *
 * - home: endpoint-independent mapping. The call goes direct, after hole
 *   punching through both NATs;
 * - mobile: symmetric (address-and-port-dependent) mapping. Hole punching
 *   fails, and the call goes through TURN over UDP;
 * - office: no UDP, TCP to port 443 only. The page loads and libp2p runs over
 *   port 443, and the call goes through TURN over TLS on 443.
 *
 * Every caller reaches the green room, goes on air, and is heard in the program
 * (Goertzel). The call page and the studio's green room name each call's
 * path. A failure says what ICE did on both ends (iceReport). Skips, saying
 * why, where network namespaces are not permitted (not root, no nftables).
 * NAT_DEBUG=1 shows the relays' and coturn's logs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { natLabMissing } from '../src/nat-lab.ts'
import { iceReport, LAB_ORIGIN, LAB_TONES, startNatLabShow, type LabCaller, type NatLabShow } from '../src/nat-lab-show.ts'
import { prepareCall, pressDial, spectrum, textNow, waitPhase } from '../src/studio-fixture.ts'
import { waitUntil } from '../src/wait.ts'
import { screenshot } from '../src/web.ts'

const missing = await natLabMissing()

describe.skipIf(missing !== undefined)(`NAT lab${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  let show: NatLabShow

  beforeAll(async () => {
    show = await startNatLabShow()
  }, 180_000)

  afterAll(async () => {
    await show?.stop()
  })

  const cases: Array<{ caller: LabCaller, what: string, path: RegExp, studioPath: RegExp }> = [
    { caller: 'home', what: 'behind an endpoint-independent NAT: direct', path: /^Media: direct$/, studioPath: /direct/ },
    { caller: 'mobile', what: 'behind a symmetric NAT: TURN over UDP', path: /^Media: TURN( over UDP)?$/, studioPath: /TURN/ },
    { caller: 'office', what: 'on a network that allows only TCP 443: TURN over TLS', path: /^Media: TURN over TLS$/, studioPath: /TURN/ }
  ]

  for (const { caller, what, path, studioPath } of cases) {
    it(`a caller ${what}, heard in the program`, async () => {
      const { studio, stationId } = show
      const page = show.callers[caller]
      let id = ''
      try {
        await prepareCall(page, LAB_ORIGIN, `/s/${stationId}/call`, caller)
        id = await pressDial(page)
        await waitPhase(page, 'green-room', 60_000).catch(async (err: Error) => {
          throw new Error(`${err.message}; the page says: ${await textNow(page, '[data-testid=call-state]')} ${await textNow(page, '[data-testid=call-error]')}`)
        })
        await waitUntil(`the ${caller} caller's page to name its path`, async () => path.test((await textNow(page, '[data-testid=call-path]')).trim()), 30_000)
          .catch(async (err: Error) => { throw new Error(`${err.message}; it says ${await textNow(page, '[data-testid=call-path]')}`) })
        await waitUntil(`the studio's green room to name the ${caller} caller's path`, async () => studioPath.test(await textNow(studio, `[data-testid="caller-${id}"]`)), 30_000)
        await screenshot(studio, `nat-lab-studio-${caller}`)
        await studio.click(`[data-testid="caller-${id}"] [data-testid=admit]`)
        await waitPhase(page, 'on-air')
        const all = Object.values(LAB_TONES)
        const expected = [LAB_TONES.studio, LAB_TONES[caller]]
        let shares: number[] = []
        await waitUntil(`the ${caller} caller in the program`, async () => {
          shares = await spectrum(studio, 'programAnalyser', all)
          return all.every((f, i) => expected.includes(f) ? shares[i]! > 0.05 : shares[i]! < 0.02) || undefined
        }, 30_000).catch((err: Error) => { throw new Error(`${err.message}; the program's shares of ${all.join(', ')} Hz: ${shares.map((s) => s.toFixed(3)).join(', ')}`) })
        const [hearsHost, hearsItself] = await spectrum(page, 'returnAnalyser', [LAB_TONES.studio, LAB_TONES[caller]])
        expect(hearsHost).toBeGreaterThan(0.05)
        expect(hearsItself).toBeLessThan(0.02)
        await screenshot(page, `nat-lab-${caller}`)
      } catch (err) {
        // Say what ICE did on both ends: which candidates, which pair, and whether media flowed.
        throw new Error(`${(err as Error).message}\nthe ${caller} caller's ICE:\n${await iceReport(page)}\nthe studio's ICE:\n${await iceReport(studio)}`, { cause: err })
      }
      // Each path on its own: the caller leaves before the next dials.
      await page.click('[data-testid=leave]')
      await studio.locator(`[data-testid="caller-${id}"]`).waitFor({ state: 'detached', timeout: 30_000 })
    })
  }

})
