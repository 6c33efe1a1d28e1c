/**
 * The recording benchmark: what recording the program and every voice
 * costs the studio's browser, beside the same show not recording, in the
 * same run. A live 48 kHz AudioContext in Debian's Chromium mixes a host and
 * CALLERS callers (the real StudioMixer); the real StudioRecorder writes the
 * program (stereo) and each voice (mono) as 16-bit WAV to the page's OPFS
 * through its Worker. Phases of PHASE_S seconds alternate, not recording and
 * recording, ROUNDS times; CPU is all of the browser's processes
 * (SystemInfo.getProcessInfo), as cores. Disk: bytes written per second,
 * beside the rate the tracks need. Then Opus recordings: how long their stop
 * takes to transcode the tracks, and what it costs.
 */
import { fileURLToPath } from 'node:url'
import { setTimeout as measureFor } from 'node:timers/promises'
import type * as Harness from '../src/recording-harness.ts'
import { openHarnessPage } from '../src/mixer-page.ts'
import { distribution, round } from './measure.ts'

const CALLERS = 5
const PHASE_S = 10
const ROUNDS = 3
const GLOBAL = 'RecordingHarness'
const HARNESS = fileURLToPath(new URL('../src/recording-harness.ts', import.meta.url))

interface PageGlobals { [GLOBAL]: typeof Harness }

export async function benchRecording (): Promise<Record<string, unknown>> {
  const { browser, page } = await openHarnessPage(HARNESS, GLOBAL)
  try {
    const cdp = await browser.newBrowserCDPSession()
    const cpuSeconds = async (): Promise<number> => (await cdp.send('SystemInfo.getProcessInfo')).processInfo.reduce((sum, p) => sum + p.cpuTime, 0)
    // These run in the page: they reach the bundle through its global only.
    const startShow = async (callers: number): Promise<void> => { await page.evaluate(async (n) => { await (globalThis as unknown as PageGlobals).RecordingHarness.startShow(n) }, callers) }
    const startRecording = async (): Promise<void> => { await page.evaluate(async () => { await (globalThis as unknown as PageGlobals).RecordingHarness.startRecording() }) }
    const startOpus = async (): Promise<void> => { await page.evaluate(async () => { await (globalThis as unknown as PageGlobals).RecordingHarness.startRecording('opus') }) }
    const stopRecording = async (): Promise<{ bytes: number, lostSeconds: number, files: string[] }> => page.evaluate(async () => (globalThis as unknown as PageGlobals).RecordingHarness.stopRecording())
    await startShow(CALLERS)
    // Warm up: worklets, the Worker, the OPFS directory.
    await startRecording()
    await measureFor(2000)
    await stopRecording()

    const idle: number[] = []
    const recording: number[] = []
    const written: number[] = []
    let lost = 0
    const phase = async (): Promise<{ cores: number, wall: number }> => {
      const cpu0 = await cpuSeconds()
      const t0 = performance.now()
      await measureFor(PHASE_S * 1000)
      const wall = (performance.now() - t0) / 1000
      return { cores: (await cpuSeconds() - cpu0) / wall, wall }
    }
    for (let i = 0; i < ROUNDS; i++) {
      idle.push((await phase()).cores)
      await startRecording()
      const { cores, wall } = await phase()
      recording.push(cores)
      const done = await stopRecording()
      written.push(done.bytes / wall)
      lost += done.lostSeconds
    }
    // Opus: the recording runs as WAV (as above), and each track becomes Opus at the stop, while the show goes on.
    const opus: Array<{ seconds: number, cores: number }> = []
    let opusFiles: string[] = []
    for (let i = 0; i < ROUNDS; i++) {
      await startOpus()
      await measureFor(PHASE_S * 1000)
      const [cpu0, t0] = [await cpuSeconds(), performance.now()]
      const done = await stopRecording()
      const wall = (performance.now() - t0) / 1000
      opus.push({ seconds: wall, cores: (await cpuSeconds() - cpu0) / wall })
      opusFiles = done.files
    }
    if (opusFiles.length === 0 || !opusFiles.every((f) => f.endsWith('.opus'))) throw new Error(`the Opus recording left ${opusFiles.join(', ')}`)
    const transcode = distribution(opus.map((o) => o.seconds))
    const idleCores = distribution(idle)
    const recordingCores = distribution(recording)
    const needed = 48_000 * 2 * (2 + 1 + CALLERS)
    return {
      what: `all of Chromium's processes, as cores: a live 48 kHz studio mixer with a host and ${CALLERS} callers, not recording and recording the program (stereo) and ${1 + CALLERS} voices (mono) as 16-bit WAV to OPFS; ${PHASE_S} s phases, ${ROUNDS} rounds, alternating`,
      notRecordingCores: idleCores,
      recordingCores,
      recordingAddsCores: round(recordingCores.p50 - idleCores.p50),
      ratio: round(recordingCores.p50 / idleCores.p50),
      diskBytesPerSecond: distribution(written),
      tracksNeedBytesPerSecond: needed,
      lostSeconds: round(lost),
      opus: {
        what: `an Opus recording runs as the WAV one above; at the stop its ${opusFiles.length} tracks (${PHASE_S} s each) are transcoded with WebCodecs while the show goes on: the stop's wall time, and all of Chromium's processes meanwhile, as cores (the mixer's share included); ${ROUNDS} rounds`,
        stopSeconds: transcode,
        showSecondsPerTranscodeSecond: round(PHASE_S / transcode.p50),
        coresWhileTranscoding: distribution(opus.map((o) => o.cores))
      },
      notMeasuredHere: 'the double-ender upload\'s effect on a call: npm run bench -- studio (doubleEnderUpload)'
    }
  } finally {
    await browser.close()
  }
}
