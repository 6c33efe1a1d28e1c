/**
 * WebKitGTK 2.50 (Debian's MiniBrowser, through WebKitWebDriver) as a
 * listener: the light directory lists a station whose stream is a real
 * Icecast mount fed an 880 Hz tone by ffmpeg; its station page plays it, and
 * the page's own analyser hears the tone (Goertzel). The call page says, in
 * words a person can act on, that this browser cannot call: WebKitGTK has no
 * WebRTC. Skips, saying why, where WebKitGTK's driver or Xvfb is missing.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startIcecast, type LocalIcecast } from '@openstudio/node'
import { draftFor, publishThrough, removeDir, tempDir } from '../src/network.ts'
import { freePort } from '../src/ports.ts'
import { toneShare } from '../src/signal.ts'
import { waitUntil } from '../src/wait.ts'
import { SCREENSHOTS, startWeb, type WebFixture } from '../src/web.ts'
import { webkitMissing, WebKitSession } from '../src/webkit.ts'

const TONE = 880
const missing = await webkitMissing()

describe.skipIf(missing !== undefined)(`WebKitGTK as a listener${missing === undefined ? '' : ` (skipped: ${missing})`}`, () => {
  let web: WebFixture
  let icecast: LocalIcecast
  let icecastDir: string
  let source: ChildProcess
  let webkit: WebKitSession
  let stationId: string

  beforeAll(async () => {
    web = await startWeb()
    icecastDir = await tempDir('openstudio-webkit-icecast-')
    icecast = await startIcecast({ dir: icecastDir, port: await freePort(), mounts: [{ mount: '/tone.ogg' }] })
    source = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', `sine=frequency=${TONE}:sample_rate=48000`,
      '-c:a', 'libopus', '-b:a', '96k', '-page_duration', '20000', '-content_type', 'audio/ogg', '-f', 'ogg',
      `icecast://source:${icecast.sourcePassword}@127.0.0.1:${icecast.port}/tone.ogg`], { stdio: 'ignore' })
    stationId = (await publishThrough(web.relays[0]!, {
      ...draftFor(880, ['music']),
      name: 'WebKit Tone Radio',
      streams: [{ url: `${icecast.url}/tone.ogg`, codec: 'opus', bitrate: 96, mount: '/tone.ogg' }]
    })).id
    webkit = await WebKitSession.start()
  }, 120_000)

  afterAll(async () => {
    await webkit?.stop()
    source?.kill('SIGKILL')
    await icecast?.stop()
    await removeDir(icecastDir)
    await web?.stop()
  })

  it('lists the station in the light directory', async () => {
    await webkit.goto(web.origin)
    await waitUntil('the station in WebKit\'s directory', async () =>
      await webkit.execute<boolean>('return document.querySelector(arguments[0]) !== null', `[data-station-id="${stationId}"]`) || undefined, 30_000)
    await webkit.screenshot(`${SCREENSHOTS}/webkit-directory.png`)
  })

  it('plays the station stream, and the page hears the tone', async () => {
    await webkit.goto(`${web.origin}/s/${stationId}`)
    await waitUntil('the listen button', async () => await webkit.execute<boolean>('return document.querySelector("[data-testid=listen]") !== null') || undefined, 30_000)
    await webkit.click('[data-testid=listen]')
    const share = await waitUntil(`the ${TONE} Hz tone in WebKit's player`, async () => {
      const frame = await webkit.execute<{ samples: number[], sampleRate: number } | null>(`
        const analyser = window.openstudioDiagnostics?.playerAnalyser
        if (analyser === undefined) return null
        const samples = new Float32Array(analyser.fftSize)
        analyser.getFloatTimeDomainData(samples)
        return { samples: Array.from(samples), sampleRate: analyser.context.sampleRate }`)
      const s = frame === null ? 0 : toneShare(frame.samples, frame.sampleRate, TONE)
      return s > 0.5 ? s : undefined
    }, 30_000)
    expect(share).toBeGreaterThan(0.5)
    await webkit.screenshot(`${SCREENSHOTS}/webkit-listening.png`)
  })

  it('says on the call page that this browser cannot call, and why', async () => {
    await webkit.goto(`${web.origin}/s/${stationId}/call`)
    const said = await waitUntil('the call page\'s message', async () =>
      await webkit.execute<string | null>('return document.querySelector("[data-testid=no-webrtc]")?.textContent ?? null') ?? undefined, 30_000)
    expect(said).toMatch(/cannot make calls.*WebRTC.*Firefox, Chrome/s)
    expect(await webkit.execute<boolean>('return document.querySelector("[data-testid=dial]") === null')).toBe(true)
    await webkit.screenshot(`${SCREENSHOTS}/webkit-call.png`)
  })
})
