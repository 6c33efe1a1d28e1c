/**
 * Calls through the NAT lab (tests/src/nat-lab-show.ts): for each caller
 * site, the time from the click on *Call the studio* to the caller's tone in
 * the program (the studio admits the caller the moment it is in the green
 * room), with the green room and the named media path on the way. Beside it,
 * in the same run and between the same two Chromiums: a bare
 * RTCPeerConnection pair with the same coturn, the caller's microphone sent,
 * offer to connected and to the first audio packet at the studio, with
 * candidates trickled by this process.
 */
import type { Page } from 'playwright-core'
import { natLabMissing } from '../src/nat-lab.ts'
import { LAB_ORIGIN, LAB_PATHS, LAB_TONES, startNatLabShow, type LabCaller, type NatLabShow } from '../src/nat-lab-show.ts'
import { phaseOf, prepareCall, pressDial, spectrum, textNow } from '../src/studio-fixture.ts'
import { waitUntil } from '../src/wait.ts'
import { distribution, round } from './measure.ts'

const ROUNDS = 5
const CALLERS: LabCaller[] = ['home', 'mobile', 'office']

export async function benchNatPaths (): Promise<Record<string, unknown>> {
  const missing = await natLabMissing()
  if (missing !== undefined) return { skipped: missing }
  const show = await startNatLabShow()
  try {
    const out: Record<string, unknown> = {}
    for (const caller of CALLERS) {
      const call: Record<'greenRoom' | 'pathNamed' | 'firstAudio', number[]> = { greenRoom: [], pathNamed: [], firstAudio: [] }
      const bare: Record<'connected' | 'firstAudio', number[]> = { connected: [], firstAudio: [] }
      const paths = new Set<string>()
      const failures: string[] = []
      for (let round = 0; round < ROUNDS; round++) {
        progress(`${caller}: round ${round + 1} of ${ROUNDS}`)
        try {
          const t = await timeCall(show, caller)
          call.greenRoom.push(t.greenRoom)
          call.pathNamed.push(t.pathNamed)
          call.firstAudio.push(t.firstAudio)
          paths.add(t.path)
          const b = await bareCall(show, caller)
          bare.connected.push(b.connected)
          bare.firstAudio.push(b.firstAudio)
        } catch (err) {
          failures.push((err as Error).message.split('\n')[0] ?? '')
        }
      }
      const firstAudio = distribution(call.firstAudio)
      const bareFirstAudio = distribution(bare.firstAudio)
      out[caller] = {
        path: LAB_PATHS[caller],
        pageSaid: [...paths],
        clickToGreenRoomMs: distribution(call.greenRoom),
        clickToPathNamedMs: distribution(call.pathNamed),
        clickToToneInProgramMs: firstAudio,
        bareOfferToConnectedMs: distribution(bare.connected),
        bareOfferToFirstAudioPacketMs: bareFirstAudio,
        p50RatioToBare: round(firstAudio.p50 / (bareFirstAudio.p50 || NaN), 1),
        failures
      }
    }
    return out
  } finally {
    await show.stop()
  }
}

interface CallTimes { greenRoom: number, pathNamed: number, firstAudio: number, path: string }

async function timeCall ({ studio, stationId, callers }: NatLabShow, caller: LabCaller): Promise<CallTimes> {
  const page = callers[caller]
  await prepareCall(page, LAB_ORIGIN, `/s/${stationId}/call`, caller)
  const started = Date.now()
  const id = await pressDial(page)
  const times: Partial<CallTimes> = {}
  const all = Object.values(LAB_TONES)
  const toneAt = all.indexOf(LAB_TONES[caller])
  await waitUntil(`the ${caller} caller's tone in the program`, async () => {
    const now = Date.now() - started
    if (times.greenRoom === undefined && ['green-room', 'on-air'].includes(await phaseOf(page) ?? '')) {
      times.greenRoom = now
      await studio.evaluate(async (peer) => { await window.openstudioDiagnostics?.studio?.admit(peer) }, id)
    }
    const path = (await textNow(page, '[data-testid=call-path]')).trim()
    if (times.pathNamed === undefined && /^Media: (direct|TURN)/.test(path)) {
      times.pathNamed = now
      times.path = path
    }
    if (times.greenRoom === undefined) return undefined
    const shares = await spectrum(studio, 'programAnalyser', all)
    if (shares[toneAt]! > 0.05) times.firstAudio = now
    return times.firstAudio
  }, 60_000)
  await page.click('[data-testid=leave]')
  await studio.locator(`[data-testid="caller-${id}"]`).waitFor({ state: 'detached', timeout: 30_000 })
  return { greenRoom: times.greenRoom ?? NaN, pathNamed: times.pathNamed ?? NaN, firstAudio: times.firstAudio ?? NaN, path: times.path ?? '' }
}

/** The raw stack on the same path: two RTCPeerConnections, signalled by this process. */
async function bareCall ({ studio, callers, iceServers }: NatLabShow, caller: LabCaller): Promise<{ connected: number, firstAudio: number }> {
  const page = callers[caller]
  const servers = iceServers()
  for (const p of [studio, page]) {
    await p.evaluate((init) => {
      const w = window as unknown as BareWindow
      w.__bare?.pc.close()
      const pc = new RTCPeerConnection(init)
      const candidates: RTCIceCandidateInit[] = []
      pc.onicecandidate = ({ candidate }) => { if (candidate !== null) candidates.push(candidate.toJSON()) }
      w.__bare = { pc, candidates }
    }, { iceServers: servers })
  }
  const started = Date.now()
  const offer = await page.evaluate(async () => {
    const { pc } = (window as unknown as BareWindow).__bare!
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true })
    for (const track of stream.getAudioTracks()) pc.addTrack(track, stream)
    await pc.setLocalDescription()
    return pc.localDescription!.toJSON()
  })
  const answer = await studio.evaluate(async (description) => {
    const { pc } = (window as unknown as BareWindow).__bare!
    await pc.setRemoteDescription(description)
    await pc.setLocalDescription()
    return pc.localDescription!.toJSON()
  }, offer)
  await page.evaluate(async (description) => { await (window as unknown as BareWindow).__bare!.pc.setRemoteDescription(description) }, answer)

  const times: { connected?: number, firstAudio?: number } = {}
  const sent = { studio: 0, page: 0 }
  const forward = async (from: Page, to: Page, key: keyof typeof sent): Promise<void> => {
    const fresh = await from.evaluate((skip) => (window as unknown as BareWindow).__bare!.candidates.slice(skip), sent[key])
    sent[key] += fresh.length
    if (fresh.length > 0) await to.evaluate(async (list) => { for (const c of list) await (window as unknown as BareWindow).__bare!.pc.addIceCandidate(c) }, fresh)
  }
  try {
    await waitUntil(`a bare call from the ${caller} site`, async () => {
      await forward(page, studio, 'page')
      await forward(studio, page, 'studio')
      const state = await studio.evaluate(async () => {
        const { pc } = (window as unknown as BareWindow).__bare!
        let packets = 0
        ;(await pc.getStats()).forEach((s: { type: string, kind?: string, packetsReceived?: number }) => { if (s.type === 'inbound-rtp' && s.kind === 'audio') packets += s.packetsReceived ?? 0 })
        return { connected: pc.connectionState === 'connected', packets }
      })
      const now = Date.now() - started
      if (state.connected) times.connected ??= now
      if (state.packets > 0) times.firstAudio ??= now
      return times.connected !== undefined && times.firstAudio !== undefined ? true : undefined
    }, 60_000)
  } finally {
    for (const p of [studio, page]) {
      await p.evaluate(() => {
        const { pc } = (window as unknown as BareWindow).__bare!
        for (const sender of pc.getSenders()) sender.track?.stop()
        pc.close()
      })
    }
  }
  return { connected: times.connected ?? NaN, firstAudio: times.firstAudio ?? NaN }
}

interface BareWindow { __bare?: { pc: RTCPeerConnection, candidates: RTCIceCandidateInit[] } }

function progress (what: string): void {
  process.stderr.write(`bench: calls: NAT lab: ${Math.round(process.uptime())} s: ${what}\n`)
}
