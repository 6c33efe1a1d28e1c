/**
 * Calls benchmark in Chromium: a listener finds the studio's station in the
 * directory, opens its call page and dials; the figure is the time from the
 * click on *Call the studio* to the green room (data-phase), over DIALS
 * dials, each from a fresh context (a fresh peer). Beside it, in the same
 * run: a bare libp2p dial of the same studio through the same relay plus a
 * ping stream opened and answered, from a page whose network is up, relayed
 * (what a call now starts on) and WebRTC (the upgrade it no longer waits for).
 * Then the same through the NAT lab, path by path (calls-nat.ts).
 */
import type { Page } from 'playwright-core'
import { callPath, openStudio, startStudioFixture, type StudioFixture } from '../src/studio-fixture.ts'
import { benchNatPaths } from './calls-nat.ts'
import { distribution, round } from './measure.ts'

const DIALS = 20
const BARE_DIALS = 10
const GREEN_ROOM_TIMEOUT_MS = 30_000

export async function benchCalls (): Promise<Record<string, unknown>> {
  const loopback = await benchLoopback()
  return { ...loopback, natLab: await benchNatPaths() }
}

async function benchLoopback (): Promise<Record<string, unknown>> {
  const fixture = await startStudioFixture({ dirPrefix: 'openstudio-bench-calls-' })
  try {
    const studioBrowser = await fixture.launch(440)
    const callerBrowser = await fixture.launch(660)
    const host = await fixture.openPage(studioBrowser)
    const stationId = await openStudio(host, fixture.origin, { passphrase: 'bench calls', name: 'Bench Calls' })

    const dialMs: number[] = []
    const steps: Record<string, number[]> = {}
    const failures: string[] = []
    for (let i = 0; i < DIALS; i++) {
      const page = await fixture.openPage(callerBrowser)
      try {
        const { ms, stepAt } = await dialFromDirectory(page, fixture, stationId, `Caller ${i}`)
        dialMs.push(ms)
        for (const [step, at] of Object.entries(stepAt)) (steps[step] ??= []).push(at)
        await page.click('[data-testid=leave]')
      } catch (err) {
        failures.push((err as Error).message.split('\n')[0] ?? '')
      } finally {
        await page.context().close()
      }
    }

    const bare = await bareDials(fixture, callerBrowser, stationId)
    const ours = distribution(dialMs)
    return {
      dialToGreenRoomMs: ours,
      withinTwoSeconds: `${dialMs.filter((ms) => ms <= 2_000).length}/${DIALS}`,
      stepReachedAtMs: Object.fromEntries(Object.entries(steps).map(([step, at]) => [step, distribution(at)])),
      failures,
      ...bare,
      p50RatioToBareRelayed: round(ours.p50 / (bare.bareRelayedDialPingMs.p50 || NaN))
    }
  } finally {
    await fixture.stop()
  }
}

/**
 * The listener's way in: the directory lists the station, its card leads to
 * the station page, *Call the show* to the call page. Timed from the click on
 * *Call the studio*; each step the page showed is timed from the same click.
 */
async function dialFromDirectory (page: Page, fixture: StudioFixture, stationId: string, name: string): Promise<{ ms: number, stepAt: Record<string, number> }> {
  await page.goto(fixture.origin)
  await page.click(`[data-station-id="${stationId}"] a`, { timeout: 30_000 })
  await page.click('[data-testid=call-show]', { timeout: 30_000 })
  await page.waitForURL(`**${callPath(stationId)}`)
  await page.fill('[data-testid=caller-name]', name, { timeout: 30_000 })
  await page.uncheck('[data-testid=voice-processing]')
  await page.locator('[data-testid=dial]:enabled').waitFor({ timeout: 30_000 })
  // The page notes when each step and the green room first show (a MutationObserver), then dials.
  await page.evaluate(() => {
    const probe = { t0: performance.now(), stepAt: {} as Record<string, number>, greenRoomMs: undefined as number | undefined }
    ;(window as unknown as { dialProbe: typeof probe }).dialProbe = probe
    const observer = new MutationObserver(() => {
      const el = document.querySelector('[data-testid=call-state]')
      const step = el?.getAttribute('data-step')
      if (step !== null && step !== undefined && probe.stepAt[step] === undefined) probe.stepAt[step] = performance.now() - probe.t0
      if (el?.getAttribute('data-phase') === 'green-room') {
        probe.greenRoomMs = performance.now() - probe.t0
        observer.disconnect()
      }
    })
    observer.observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true })
    ;(document.querySelector('[data-testid=dial]') as HTMLButtonElement).click()
  })
  const probe = await page.waitForFunction(() => {
    const p = (window as unknown as { dialProbe: { stepAt: Record<string, number>, greenRoomMs?: number } }).dialProbe
    return p.greenRoomMs === undefined ? undefined : { ms: p.greenRoomMs, stepAt: p.stepAt }
  }, null, { timeout: GREEN_ROOM_TIMEOUT_MS, polling: 'raf' })
  const dialled = await probe.jsonValue()
  if (dialled === undefined) throw new Error('the page lost its dial probe')
  return dialled
}

interface BareDials {
  bareRelayedDialPingMs: ReturnType<typeof distribution>
  bareWebRtcDialPingMs: ReturnType<typeof distribution>
  bareFailures: string[]
}

/** Bare libp2p dials of the studio plus a ping stream, each from a fresh page whose network is up. */
async function bareDials (fixture: StudioFixture, browser: Awaited<ReturnType<StudioFixture['launch']>>, stationId: string): Promise<BareDials> {
  const relayed: number[] = []
  const webrtc: number[] = []
  const bareFailures: string[] = []
  for (let i = 0; i < BARE_DIALS * 2; i++) {
    const page = await fixture.openPage(browser)
    try {
      await page.goto(`${fixture.origin}/settings`)
      await page.waitForFunction(() => window.openstudioDiagnostics?.network?.status === 'online', null, { timeout: 30_000 })
      const mode: 'relayed' | 'webrtc' = i % 2 === 0 ? 'relayed' : 'webrtc'
      const result = await page.evaluate(bareDial, { id: stationId, mode })
      if (typeof result === 'string') bareFailures.push(result)
      else (mode === 'relayed' ? relayed : webrtc).push(result)
    } finally {
      await page.context().close()
    }
  }
  return { bareRelayedDialPingMs: distribution(relayed), bareWebRtcDialPingMs: distribution(webrtc), bareFailures }
}

/** Runs in the page: the dial and the ping's echo, in milliseconds, or what went wrong. */
async function bareDial ({ id, mode }: { id: string, mode: 'relayed' | 'webrtc' }): Promise<number | string> {
  const diagnostics = window.openstudioDiagnostics
  const network = diagnostics?.network
  const node = network?.libp2p
  if (network === undefined || node === undefined || diagnostics?.multiaddr === undefined) return 'the page has no network'
  try {
    const { manifest } = await network.resolve(id)
    const peer = manifest.studio?.peer ?? id
    const address = diagnostics.multiaddr(`${manifest.relays[0]}/p2p-circuit${mode === 'webrtc' ? '/webrtc' : ''}/p2p/${peer}`)
    const t0 = performance.now()
    const connection = await node.dial(address, { signal: AbortSignal.timeout(20_000) })
    const stream = await connection.newStream('/openstudio/ping/1', { runOnLimitedConnection: true })
    stream.send(new Uint8Array(32))
    await stream.close()
    for await (const _ of stream) { /* the echo */ }
    return performance.now() - t0
  } catch (err) {
    return `${mode}: ${(err as Error).message}`
  }
}
