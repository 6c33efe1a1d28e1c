/**
 * Recording a live show end to end, in Debian's Chromium with tone
 * microphones: the producer presses Record with a host and two callers on
 * air for 20 s, one caller's page reloads mid-recording (its call drops and
 * comes back), both callers record their own microphones too and upload
 * them (the double-ender; the reloaded caller in two takes), the producer
 * stops and downloads every track through the page. Each WAV file is then
 * read here and measured by Goertzel in 100 ms windows. The callers speak in
 * bursts of uneven lengths (a tone switched on and off, each caller its own
 * sequence), so each one's tracks line up in one place only.
 */
import { execFileSync } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Page } from 'playwright-core'
import { toPcm16, WAV_HEADER_BYTES, wavHeader } from '../../browser/src/services/recording/wav.ts'
import { launchChromium } from '../src/browser.ts'
import { toneAmplitude } from '../src/goertzel.ts'
import { onAir, openStudio, startStudioFixture, waitPhase, type Caller, type StudioFixture } from '../src/studio-fixture.ts'
import { waitUntil } from '../src/wait.ts'
import { screenshot } from '../src/web.ts'

const RATE = 48_000
/** Host, Ada, Bo: whole cycles in every 100 ms window. */
const TONES = [300, 700, 1100] as const
const [HOST, A, B] = [0, 1, 2]
const WINDOW = RATE / 10
const HEARD = 0.05
/** Silence: a dropped call's gap. */
const ABSENT = 0.004
/**
 * Another voice in a voice's track: 32 dB under the tones (0.4), where Opus's
 * own noise and the edges of a tone's start may reach; a voice routed there
 * by mistake would be 30 dB over it.
 */
const CROSSTALK = 0.01

interface Wav { channels: number, rate: number, frames: number, samples: Int16Array }

function readWav (bytes: Buffer): Wav {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const text = (at: number): string => bytes.subarray(at, at + 4).toString('latin1')
  if (text(0) !== 'RIFF' || text(8) !== 'WAVE' || text(36) !== 'data') throw new Error('not a WAV file as the recorder writes them')
  const channels = view.getUint16(22, true)
  const dataBytes = view.getUint32(40, true)
  if (dataBytes !== bytes.length - 44) throw new Error(`the header says ${dataBytes} bytes of samples, the file holds ${bytes.length - 44}`)
  const samples = new Int16Array(bytes.buffer.slice(bytes.byteOffset + 44, bytes.byteOffset + bytes.length))
  return { channels, rate: view.getUint32(24, true), frames: samples.length / channels, samples }
}

/** Each tone's amplitude (full scale 1) in every 100 ms window of a track's first channel. */
function tonesByWindow (wav: Wav): number[][] {
  const mono = new Float32Array(wav.frames)
  for (let f = 0; f < wav.frames; f++) mono[f] = (wav.samples[f * wav.channels] as number) / 32768
  const windows: number[][] = []
  for (let from = 0; from + WINDOW <= wav.frames; from += WINDOW) windows.push(TONES.map((t) => toneAmplitude(mono, RATE, t, from, from + WINDOW)))
  return windows
}

/** A microphone file of tone bursts, 80–380 ms on and 50–300 ms off (a fixed pseudo-random sequence), with 5 ms fades. */
async function burstsFile (path: string, frequency: number, seconds: number, start = 12_345): Promise<void> {
  const samples = new Float32Array(seconds * RATE)
  let seed = start
  const next = (): number => { seed = (seed * 16_807) % 2_147_483_647; return seed / 2_147_483_647 }
  const fade = RATE / 200
  for (let at = 0; at < samples.length;) {
    const on = Math.floor((0.08 + 0.3 * next()) * RATE)
    for (let i = 0; i < on && at + i < samples.length; i++) samples[at + i] = 0.4 * Math.min(1, i / fade, (on - i) / fade) * Math.sin((2 * Math.PI * frequency * i) / RATE)
    at += on + Math.floor((0.05 + 0.25 * next()) * RATE)
  }
  const pcm = toPcm16(samples, samples.length, 1)
  const file = new Uint8Array(WAV_HEADER_BYTES + pcm.length)
  file.set(wavHeader({ sampleRate: RATE, channels: 1 }, pcm.length))
  file.set(pcm, WAV_HEADER_BYTES)
  await writeFile(path, file)
}

/** Mean absolute level per ms. */
function envelopeOf (wav: Wav, from: number, frames: number): Float32Array {
  const out = new Float32Array(Math.floor(frames / 48))
  for (let b = 0; b < out.length; b++) {
    let sum = 0
    for (let i = 0; i < 48; i++) sum += Math.abs((wav.samples[from + b * 48 + i] ?? 0) / 32768)
    out[b] = sum / 48
  }
  return out
}

/**
 * How far `local` sits from `heard` (ms), in seven stretches of up to 3 s
 * spread over frames `from` to `to` (at each eighth): the studio's track
 * drifts as its jitter buffer adapts (tens of ms after a reconnect), so no
 * one offset fits it everywhere, and the median, the offset that fits most
 * of it, is the figure.
 */
function medianLag (heard: Wav, local: Wav, from: number, to: number): { median: number, lags: number[] } {
  const length = Math.min(3 * RATE, Math.floor((to - from) / 4))
  const lags = [1, 2, 3, 4, 5, 6, 7].map((eighth) => {
    const start = Math.round(from + ((to - from) * eighth) / 8 - length / 2)
    return lagMs(envelopeOf(heard, start, length), envelopeOf(local, start, length), 300)
  }).sort((x, y) => x - y)
  return { median: lags[3] as number, lags }
}

/** The lag (ms) at which `probe` best matches `reference` (normalized cross-correlation), within ±`radius` ms. */
function lagMs (reference: Float32Array, probe: Float32Array, radius: number): number {
  let best = { lag: 0, score: -Infinity }
  for (let lag = -radius; lag <= radius; lag++) {
    let ab = 0
    let aa = 0
    let bb = 0
    for (let i = radius; i < probe.length - radius; i++) {
      const a = probe[i] as number
      const b = reference[i + lag] ?? 0
      ab += a * b
      aa += a * a
      bb += b * b
    }
    const score = ab / Math.sqrt(aa * bb || 1)
    if (score > best.score) best = { lag, score }
  }
  return best.lag
}

describe('recording a show', () => {
  let fixture: StudioFixture
  let host: Page
  let stationId: string
  const callers: Caller[] = []
  let onClose = async (): Promise<void> => {}

  beforeAll(async () => {
    fixture = await startStudioFixture({ turnSecret: 'recording-e2e-secret' })
    // Both callers speak in bursts, each its own sequence: their own recordings line up with the studio's in one place only.
    const speakers = await Promise.all([[TONES[1], 12_345], [TONES[2], 54_321]].map(async ([tone, seed]) => {
      const bursts = join(fixture.dir, `bursts-${tone}.wav`)
      await burstsFile(bursts, tone as number, 120, seed)
      return launchChromium([`--use-file-for-fake-audio-capture=${bursts}`])
    }))
    onClose = async () => { await Promise.all(speakers.map(async (b) => b.close())) }
    const browsers = [await fixture.launch(TONES[0]), ...speakers]
    host = await fixture.openPage(browsers[HOST]!)
    stationId = await openStudio(host, fixture.origin, { passphrase: 'correct horse battery staple', name: 'Podcast Hour' })
    for (const [i, name] of ['Ada', 'Bo'].entries()) callers.push(await onAir(fixture, host, await fixture.openPage(browsers[i + 1]!), stationId, name))
  })

  afterAll(async () => {
    await onClose()
    await fixture?.stop()
  })

  it('records the program and each voice on its own track; a dropped caller keeps silence there; a caller\'s own recording lines up', async () => {
    const [ada, bo] = callers as [Caller, Caller]
    await host.click('[data-testid=record]')
    await waitUntil('four tracks recording', async () => (await host.locator('[data-testid^=track-]').count()) === 4)
    // Both callers are asked, say yes, and record their microphones on their computers too.
    const localState = async (caller: Caller): Promise<string | null> => caller.page.getAttribute('[data-testid=record-here-status]', 'data-state')
    for (const caller of [ada, bo]) {
      await caller.page.locator('[data-testid=record-here-consent]').check({ timeout: 30_000 })
      await waitUntil('the caller recording here', async () => await localState(caller) === 'recording', 30_000)
    }
    const recorded = async (): Promise<number> => host.evaluate(() => window.openstudioDiagnostics?.studio?.recorder?.status.seconds ?? 0)
    await waitUntil('10 s recorded', async () => (await recorded()) >= 10, 30_000)
    await screenshot(host, 'recording-running')

    // Bo's page reloads: the call drops and comes back, on the same track; his own recording starts a second take.
    await bo.page.reload()
    await waitPhase(bo.page, 'on-air', 60_000)
    await waitUntil('Bo recording here again', async () => await localState(bo) === 'recording', 30_000)
    const back = await recorded()
    await waitUntil('10 s more recorded', async () => (await recorded()) >= back + 10, 30_000)
    await screenshot(ada.page, 'recording-caller-records-too')
    await host.click('[data-testid=record]')
    // The callers' recordings go to the studio, which places them beside their studio tracks.
    await waitUntil('Ada\'s recording with the studio', async () => await localState(ada) === 'uploaded', 60_000)
    await waitUntil('Bo\'s recording with the studio', async () => await localState(bo) === 'uploaded', 60_000)
    // His page sent the rest of the take from before the reload, and says so.
    await waitUntil('Bo\'s earlier take with the studio', async () => await bo.page.getAttribute('[data-testid=record-here-earlier]', 'data-state') === 'uploaded', 60_000)
    await screenshot(bo.page, 'recording-caller-earlier-take')
    // Program, host, Ada, Bo, Ada's own, and Bo's two takes.
    await waitUntil('the recording listed with the callers\' own tracks', async () => (await host.locator('[data-testid^=download-]').count()) >= 7, 30_000)
    await screenshot(host, 'recording-done')
    await screenshot(ada.page, 'recording-caller-uploaded')

    // Every track, downloaded as the producer would.
    const files = await host.locator('[data-testid^=download-]').evaluateAll((els) => els.map((e) => e.textContent ?? ''))
    const tracks = new Map<string, Wav>()
    for (const name of files.filter((f) => f.endsWith('.wav'))) {
      const [download] = await Promise.all([host.waitForEvent('download'), host.click(`[data-testid="download-${name}"]`)])
      expect(download.suggestedFilename()).toBe(name)
      tracks.set(name, readWav(await readFile(await download.path())))
    }
    // And all of them as one archive, which zipfile reads back whole.
    const [zip] = await Promise.all([host.waitForEvent('download'), host.click('[data-testid=recording-zip]')])
    expect(zip.suggestedFilename()).toMatch(/^podcast-hour-[0-9-]+-tracks\.zip$/)
    const zipped = JSON.parse(execFileSync('python3', ['-c', 'import sys, zipfile, json\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nprint(json.dumps(sorted(z.namelist())))', await zip.path()], { encoding: 'utf8' })) as string[]
    expect(zipped).toEqual([...tracks.keys()].sort())
    const track = (who: string): Wav => {
      const found = [...tracks].find(([name]) => name.startsWith('podcast-hour-') && name.endsWith(`-${who}.wav`))
      if (found === undefined) throw new Error(`no ${who} track in ${[...tracks.keys()].join(', ')}`)
      return found[1]
    }
    const program = track('program')
    const voices = { host: track('host'), ada: track('ada'), bo: track('bo') }
    const adaLocal = track('ada-local')
    const boTakes = [track('bo-local'), track('bo-local-2')]
    expect(program).toMatchObject({ channels: 2, rate: RATE })
    // One timeline: every track as long as the program, at least the 20 s recorded.
    for (const wav of Object.values(voices)) expect(wav).toMatchObject({ channels: 1, rate: RATE, frames: program.frames })
    expect(program.frames / RATE).toBeGreaterThan(20)

    // The program holds all three voices while everyone is on air.
    const inProgram = tonesByWindow(program)
    expect(inProgram.some((w) => w.every((a) => a > HEARD))).toBe(true)
    // Each voice's track holds only its own tone.
    for (const [who, index] of [['host', HOST], ['ada', A], ['bo', B]] as const) {
      const windows = tonesByWindow(voices[who])
      const own = windows.filter((w) => (w[index] as number) > HEARD).length
      // The callers speak in bursts, about half the time.
      expect(own, `${who}'s tone in its own track`).toBeGreaterThan(windows.length / (who === 'host' ? 2 : 4))
      for (const w of windows) for (const [t, amplitude] of w.entries()) if (t !== index) expect(amplitude, `${TONES[t]} Hz in ${who}'s track`).toBeLessThan(CROSSTALK)
    }
    // Bo's track: the tone, then silence while the call was down, then the tone again.
    const bos = tonesByWindow(voices.bo).map((w) => w[B] as number)
    // (The receiver's loss concealment fades the tone over a few windows before the silence.)
    const boStart = bos.findIndex((a) => a > HEARD)
    // Half a second of silence: longer than any pause between his bursts (at most 300 ms).
    const gap = bos.findIndex((a, i) => i > boStart && bos.slice(i, i + 5).length === 5 && bos.slice(i, i + 5).every((b) => b < ABSENT))
    expect(gap, `a gap of 500 ms or more in Bo's track: ${bos.map((a) => a.toFixed(3)).join(' ')}`).toBeGreaterThan(boStart)
    expect(bos.slice(gap).some((a) => a > HEARD), 'Bo heard again after the gap').toBe(true)
    // Bo's own takes: before the reload (all of it: the new page sent what the old one had not) and after it, each
    // his tone alone, placed where the studio heard him: the first up to the gap in his studio track, the second after.
    for (const [i, take] of boTakes.entries()) {
      expect(take).toMatchObject({ channels: 1, rate: RATE })
      const windows = tonesByWindow(take)
      const first = windows.findIndex((w) => (w[B] as number) > HEARD)
      expect(windows.filter((w) => (w[B] as number) > HEARD).length, `Bo's take ${i + 1}: ${windows.map((w) => (w[B] as number).toFixed(2)).join(' ')}`).toBeGreaterThan(20)
      if (i === 0) {
        // Whole: his voice up to the reload. The studio's track goes silent a little after it (the network's delay and
        // the receiver's concealment), his bursts pause up to 300 ms, and the last blocks the old page was writing go
        // with it: about 0.7 s here. Unsent, the last third of the take (some 3 s: 64 KiB/s sent of 94 recorded) was lost.
        const last = windows.findLastIndex((w) => (w[B] as number) > HEARD)
        expect(last, `Bo's first take ends ${((gap - last) / 10).toFixed(1)} s before the call dropped`).toBeGreaterThanOrEqual(gap - 15)
      } else {
        expect(first, 'Bo\'s second take starts after the gap').toBeGreaterThan(gap)
        // Lined up with the studio's track of him after the reload, within 20 ms.
        const span = { from: (first + 5) * WINDOW, to: Math.min(take.frames, voices.bo.frames) - 5 * WINDOW }
        const lag = medianLag(voices.bo, take, span.from, span.to)
        expect(Math.abs(lag.median), `Bo's second take is ${lag.median} ms off the studio's (stretches: ${lag.lags.join(', ')} ms)`).toBeLessThanOrEqual(20)
      }
      for (const w of windows) for (const [t, amplitude] of w.entries()) if (t !== B) expect(amplitude, `${TONES[t]} Hz in Bo's take ${i + 1}`).toBeLessThan(CROSSTALK)
    }
    // Ada's own recording: her bursts and nothing else, in line with what the studio heard of her within 20 ms.
    expect(adaLocal).toMatchObject({ channels: 1, rate: RATE })
    const localWindows = tonesByWindow(adaLocal)
    expect(localWindows.filter((w) => (w[A] as number) > HEARD).length).toBeGreaterThan(localWindows.length / 4)
    for (const w of localWindows) for (const [t, amplitude] of w.entries()) if (t !== A) expect(amplitude).toBeLessThan(CROSSTALK)
    // The studio's track of her drifts a little as its jitter buffer adapts (more so while Bo's page reloads), so
    // the lag is measured in seven stretches across the recording, and their median is what must be within 20 ms.
    const { median: lag, lags } = medianLag(voices.ada, adaLocal, 0, Math.min(voices.ada.frames, adaLocal.frames))
    const placed = await host.evaluate(() => window.openstudioDiagnostics?.studio?.uploads?.placed)
    expect(Math.abs(lag), `Ada's own track is ${lag} ms off the studio's (stretches: ${lags.join(', ')} ms; placed: ${JSON.stringify(placed)})`).toBeLessThanOrEqual(20)
  })
})
