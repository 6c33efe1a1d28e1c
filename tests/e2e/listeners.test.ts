/**
 * Listeners on every device, through real parts: a station's show goes from
 * a relay to an origin icecast2, an edge icecast2 relays the origin's mount,
 * and the relay makes HLS with ffmpeg. The station lists the edge first, then
 * the origin, then HLS. In Debian's Chromium, the station page's player picks
 * the first stream it can play, moves to the next without a click when the
 * edge dies, and plays HLS natively or through hls.js where the browser can
 * play nothing else. Every check is a Goertzel on what the page's player
 * hears.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Browser, Page } from 'playwright-core'
import { openClient, ProgramSender, readIcecastMounts, startIcecast, type LocalIcecast, type OpenStudioNode } from '@openstudio/node'
import { generateStationKey, type OggPage, type StationKey } from '@openstudio/protocol'
import { draftFor, programStartOf, publishThrough, removeDir, tcpAddr, tempDir } from '../src/network.ts'
import { freePort } from '../src/ports.ts'
import { encodeStepSignal, headersAndAudio, Listener, pacePages } from '../src/program-audio.ts'
import { windowsWithTone } from '../src/signal.ts'
import { openTestPage, spectrum, startStudioFixture, textNow, type StudioFixture } from '../src/studio-fixture.ts'
import { waitUntil } from '../src/wait.ts'
import { screenshot } from '../src/web.ts'

const TONE = 440
const OGG = '/live.ogg'
const PASSWORD = 'listeners-e2e'

/** Makes the page's `<audio>` deny the given types, as a browser without them would. */
function denyTypes (...patterns: string[]): string {
  return `{
    const deny = ${JSON.stringify(patterns)}
    const canPlayType = HTMLMediaElement.prototype.canPlayType
    HTMLMediaElement.prototype.canPlayType = function (type) {
      return deny.some((p) => type.toLowerCase().includes(p)) ? '' : canPlayType.call(this, type)
    }
  }`
}

describe('listeners everywhere: the best stream a browser plays, HLS in the page, an edge Icecast and failover', () => {
  let fixture: StudioFixture
  let dir: string
  let origin: LocalIcecast
  let edge: LocalIcecast
  let station: StationKey
  let node: OpenStudioNode
  let listener: Browser
  let headers: OggPage[]
  let audio: OggPage[]
  const stopShow = new AbortController()
  let show: Promise<void> | undefined
  let sender: ProgramSender | undefined

  const hears = async (page: Page): Promise<boolean> => ((await spectrum(page, 'playerAnalyser', [TONE]))[0] ?? 0) > 0.5
  const listen = async (init: { initScripts?: string[] } = {}): Promise<Page> => {
    const page = await openTestPage(listener, init)
    await page.goto(`${fixture.origin}/s/${station.id}`)
    await page.locator('[data-testid=listen]').click()
    return page
  }

  beforeAll(async () => {
    dir = await tempDir('openstudio-listeners-')
    const originDir = await tempDir('openstudio-listeners-origin-')
    origin = await startIcecast({ dir: originDir, port: await freePort(), sourcePassword: PASSWORD, burstBytes: 16 * 1024, mounts: [{ mount: OGG }] })
    const httpPort = await freePort()
    fixture = await startStudioFixture({
      dirPrefix: 'openstudio-listeners-e2e-',
      httpPort,
      program: { stations: ['*'], icecastUrl: origin.url, icecastPassword: PASSWORD, mount: OGG, hls: { dir: `${dir}/hls`, publicUrl: `http://127.0.0.1:${httpPort}` } }
    })
    station = generateStationKey()
    ;({ headers, audio } = headersAndAudio(await encodeStepSignal(`${dir}/tone.ogg`, { steps: 360, baseHz: TONE, stepHz: 0 })))
    node = await openClient({ bootstrap: [tcpAddr(fixture.relays[0]!)], stationKey: station, allowPrivate: true })
    sender = await ProgramSender.open(node, fixture.relays[0]!.node.peerId, programStartOf(station))
    for (const page of headers) sender.send(page.bytes)
    show = pacePages(audio, (page) => { sender?.send(page.bytes) }, stopShow.signal)
    await waitUntil('the origin to serve the show', async () => (await readIcecastMounts(origin.url)).has(OGG))
    edge = await startIcecast({ dir: await tempDir('openstudio-listeners-edge-'), port: await freePort(), sourcePassword: PASSWORD, burstBytes: 16 * 1024, relays: [{ server: '127.0.0.1', port: origin.port, mount: OGG }] })
    await waitUntil('the edge to relay the origin\'s mount', async () => (await readIcecastMounts(edge.url)).has(OGG), 30_000)
    const hls = sender.renditions.find((r) => r.codec === 'aac')
    if (hls === undefined) throw new Error('the relay made no HLS rendition')
    // The owner lists the edge first (it carries the audience), then the origin, then HLS.
    await publishThrough(fixture.relays[0]!, {
      ...draftFor(1),
      name: 'Everywhere Radio',
      streams: [{ url: `${edge.url}${OGG}`, codec: 'opus', bitrate: 64, mount: OGG }, { url: `${origin.url}${OGG}`, codec: 'opus', bitrate: 64, mount: OGG }, hls]
    }, station)
    listener = await fixture.launch(0)
  }, 120_000)

  afterAll(async () => {
    stopShow.abort()
    await show
    await sender?.end()
    await node?.stop()
    await fixture?.stop()
    await edge?.stop()
    await origin?.stop()
    await removeDir(dir)
  })

  it('an edge Icecast relaying the origin serves the show', async () => {
    const ffmpeg = new Listener(`${edge.url}${OGG}`)
    try {
      await waitUntil('2 s of the show from the edge', () => ffmpeg.seconds >= 2, 30_000)
      const samples = ffmpeg.samples()
      expect(windowsWithTone(samples.subarray(samples.length - 48_000), 48_000, TONE)).toBeGreaterThanOrEqual(0.9)
    } finally {
      await ffmpeg.stop()
    }
  }, 60_000)

  it('plays HLS natively where the browser plays nothing else, and through hls.js where it has no HLS of its own', async () => {
    const native = await listen({ initScripts: [denyTypes('ogg', 'webm', 'mpeg;', 'audio/mpeg')] })
    await waitUntil('the tone over native HLS', async () => await hears(native), 30_000)
    expect(await textNow(native, '[data-testid=stream-playing]')).toMatch(/aac · 96 kb\/s · HLS · .*\/hls\/live\.m3u8/)
    await native.close()

    const viaLibrary = await listen({ initScripts: [denyTypes('ogg', 'webm', 'audio/mpeg', 'mpegurl')] })
    await waitUntil('the tone through hls.js', async () => await hears(viaLibrary), 30_000)
    expect(await textNow(viaLibrary, '[data-testid=stream-playing]')).toContain('HLS via hls.js')
    await screenshot(viaLibrary, 'station-hls-js')
    await viaLibrary.close()
  }, 90_000)

  it('plays the first listed stream, and when that server dies moves to the next without a click: the tone comes back', async () => {
    const page = await listen()
    await waitUntil('the tone from the edge', async () => await hears(page), 30_000)
    expect(await textNow(page, '[data-testid=stream-playing]')).toContain(`${edge.url}${OGG}`)

    edge.process.kill('SIGKILL')
    await edge.stop()
    await waitUntil('the player to move to the origin', async () => (await textNow(page, '[data-testid=stream-playing]')).includes(`${origin.url}${OGG}`), 30_000)
    await waitUntil('the tone back, from the origin', async () => await hears(page), 30_000)
    expect(await textNow(page, '[data-testid=player-note]')).toMatch(/Ogg Opus from 127\.0\.0\.1:\d+ .*: trying Ogg Opus from/)
    await screenshot(page, 'station-failover')
  }, 90_000)
})
