/**
 * The light listener page, in Debian's Chromium against real relays and a
 * real Icecast: the directory and a station page list, verify and play with
 * libp2p never loaded (no WebSocket, no libp2p code in any script the page
 * ran), a relay's forged record is dropped and counted, and calling in is
 * what loads libp2p.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { openClient, publishStation, startIcecast, type LocalIcecast } from '@openstudio/node'
import { generateStationKey, type ManifestDraftInput } from '@openstudio/protocol'
import type { Page } from 'playwright-core'
import { draftFor, removeDir, tcpAddr, tempDir, type RelayAddresses } from '../src/network.ts'
import { freePort } from '../src/ports.ts'
import { toneShare } from '../src/signal.ts'
import { startWeb, type WebFixture } from '../src/web.ts'
import { waitUntil } from '../src/wait.ts'

const LIGHT_SCREENSHOT = fileURLToPath(new URL('../../test-results/light-directory.png', import.meta.url))

/** Strings only libp2p's code holds (identify, circuit relay and gossipsub protocol ids): a script with one is libp2p. */
const LIBP2P_MARKERS = ['/ipfs/id/1.0.0', '/libp2p/circuit/relay/0.2.0/hop', '/meshsub/']

/** Everything a page asked of the network: requests, WebSockets, and the scripts it ran. */
interface Traffic {
  requests: string[]
  sockets: string[]
  scripts: Map<string, string>
}

/** Records a page's traffic from now on. */
function watchTraffic (page: Page): Traffic {
  const traffic: Traffic = { requests: [], sockets: [], scripts: new Map() }
  page.on('request', (request) => { traffic.requests.push(request.url()) })
  page.on('websocket', (socket) => { traffic.sockets.push(socket.url()) })
  page.on('response', (response) => {
    if (response.request().resourceType() !== 'script') return
    response.text().then((text) => { traffic.scripts.set(response.url(), text) }, () => {})
  })
  return traffic
}

/** The scripts the page ran that hold libp2p, and the chunks named for it. */
function libp2pLoaded (traffic: Traffic): string[] {
  const byContent = [...traffic.scripts].filter(([, text]) => LIBP2P_MARKERS.some((m) => text.includes(m))).map(([url]) => url)
  const byName = traffic.requests.filter((url) => /\/assets\/libp2p-[^/]*\.js$/.test(url))
  return [...new Set([...byContent, ...byName])]
}

/** Runs in the page: whether the network service was loaded. */
function networkLoaded (): boolean {
  return window.openstudioDiagnostics?.network !== undefined
}

/** Runs in the page: what the player outputs right now, as samples. */
function playerSamples (): { samples: number[], sampleRate: number } | undefined {
  const analyser = window.openstudioDiagnostics?.playerAnalyser
  if (analyser === undefined) return undefined
  const samples = new Float32Array(analyser.fftSize)
  analyser.getFloatTimeDomainData(samples)
  return { samples: Array.from(samples), sampleRate: analyser.context.sampleRate }
}

/** Publishes a station through `relay`; `onAir` claims the studio is live for ten minutes. */
async function publish (relay: RelayAddresses, draft: ManifestDraftInput, onAir = false): Promise<string> {
  const key = generateStationKey()
  const node = await openClient({ bootstrap: [tcpAddr(relay)], stationKey: key, allowPrivate: true })
  try {
    await publishStation({ ...node.services, peerId: node.peerId }, {
      key,
      draft,
      relays: [tcpAddr(relay)],
      studio: onAir ? { peer: key.id, onAir: true, liveUntil: Date.now() + 10 * 60_000 } : undefined
    })
  } finally {
    await node.stop()
  }
  return key.id
}

describe('the light listener page', () => {
  let web: WebFixture
  let icecast: LocalIcecast
  let source: ChildProcess
  let icecastDir: string
  const ids = { talk: '', tone: '', live: '' }

  beforeAll(async () => {
    web = await startWeb()
    icecastDir = await tempDir('openstudio-icecast-')
    icecast = await startIcecast({ dir: icecastDir, port: await freePort(), mounts: [{ mount: '/tone.ogg' }] })
    source = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', 'sine=frequency=880:sample_rate=48000',
      '-c:a', 'libopus', '-b:a', '96k', '-page_duration', '20000', '-content_type', 'audio/ogg', '-f', 'ogg',
      `icecast://source:${icecast.sourcePassword}@127.0.0.1:${icecast.port}/tone.ogg`], { stdio: 'ignore' })
    await waitUntil('the tone mount on Icecast', async () => {
      const status = await (await fetch(`${icecast.url}/status-json.xsl`)).json() as { icestats: { source?: unknown } }
      return status.icestats.source !== undefined
    })
    const relay = web.relays[0] as RelayAddresses
    ids.talk = await publish(relay, { ...draftFor(21, ['talk']), name: 'Light Talk' })
    ids.tone = await publish(relay, {
      ...draftFor(22, ['music']),
      name: 'Light Tone',
      streams: [{ url: `${icecast.url}/tone.ogg`, codec: 'opus', bitrate: 96, mount: '/tone.ogg' }]
    })
    ids.live = await publish(relay, { ...draftFor(23, ['talk']), name: 'Light Live' }, true)
    await waitUntil('the relay to index the three stations', async () => {
      const answers = await Promise.all(Object.values(ids).map(async (id) => (await fetch(`${web.origin}/api/stations/${id}`)).status))
      return answers.every((status) => status === 200)
    })
    // The relay re-sorts its order every few seconds: until then, new stations page after the sorted ones.
    await waitUntil('the relay to list the live station first', async () => {
      const page = await (await fetch(`${web.origin}/api/stations`)).json() as { stations: Array<{ record: string }> }
      const first = await (await fetch(`${web.origin}/api/stations/${ids.live}`)).json() as { stations: Array<{ record: string }> }
      return page.stations[0]?.record === first.stations[0]?.record
    })
  })

  afterAll(async () => {
    source?.kill('SIGKILL')
    await icecast?.stop()
    await web?.stop()
    await removeDir(icecastDir)
  })

  const card = (page: Page, id: string) => page.locator(`[data-station-id="${id}"]`)

  it('lists and plays with libp2p never loaded, then loads it to call the show', async () => {
    const { page } = await web.newPage()
    const traffic = watchTraffic(page)
    await page.goto(web.origin)
    for (const id of Object.values(ids)) await card(page, id).waitFor({ timeout: 10_000 })
    await expect.poll(async () => page.textContent('[data-testid=directory-status]')).toMatch(/found \d+ stations? · via this relay/)
    // The relay's evidence order: the station on air comes first, and says so.
    expect(await page.locator('[data-station-id]').first().getAttribute('data-station-id')).toBe(ids.live)
    expect(await card(page, ids.live).locator('[data-testid=on-air]').count()).toBe(1)
    expect((await page.textContent('[data-testid=network-status]'))?.trim()).toBe('directory via this relay')
    expect(traffic.requests.some((url) => new URL(url).pathname === '/api/stations')).toBe(true)
    await page.screenshot({ path: LIGHT_SCREENSHOT })

    // A station page, reached in the page: verified, and it plays.
    await card(page, ids.tone).locator('a').click()
    await page.locator('[data-testid=verified]').waitFor({ timeout: 10_000 })
    expect(await page.textContent('[data-testid=station-name]')).toBe('Light Tone')
    await page.click('[data-testid=listen]')
    const heard = await waitUntil('the 880 Hz tone in the page', async () => {
      const frame = await page.evaluate(playerSamples)
      return frame !== undefined && toneShare(frame.samples, frame.sampleRate, 880) > 0.5 ? frame : undefined
    })
    expect(toneShare(heard.samples, heard.sampleRate, 880)).toBeGreaterThan(0.5)

    // All that, with no libp2p: no WebSocket, no libp2p script, no network service.
    expect(traffic.sockets).toEqual([])
    expect(libp2pLoaded(traffic)).toEqual([])
    expect(traffic.scripts.size).toBeGreaterThan(0)
    expect(await page.evaluate(networkLoaded)).toBe(false)

    // Calling the show is what loads libp2p, and joins the network over a WebSocket.
    await page.click('[data-testid=call-show]')
    await page.waitForFunction(networkLoaded, null, { timeout: 20_000 })
    await waitUntil('a WebSocket to a relay', () => traffic.sockets.length > 0)
    await waitUntil('the libp2p code to load', () => libp2pLoaded(traffic).length > 0)
    await expect.poll(async () => page.getAttribute('[data-testid=network-status]', 'data-status'), { timeout: 20_000 }).toBe('online')
  })

  it('drops a record the relay forged, and says how many it dropped', async () => {
    const { page } = await web.newPage()
    // The relay's answer with the talk station's record altered: one byte in the middle of its base64.
    await page.route('**/api/stations?*', async (route) => {
      const response = await route.fetch()
      const body = await response.json() as { stations: Array<{ record: string }> }
      const talk = await (await fetch(`${web.origin}/api/stations/${ids.talk}`)).json() as { stations: Array<{ record: string }> }
      const victim = talk.stations[0]?.record ?? ''
      for (const item of body.stations) {
        if (item.record !== victim) continue
        const at = Math.floor(item.record.length / 2)
        item.record = `${item.record.slice(0, at)}${item.record[at] === 'A' ? 'B' : 'A'}${item.record.slice(at + 1)}`
      }
      await route.fulfill({ response, json: body })
    })
    await page.goto(web.origin)
    await card(page, ids.tone).waitFor({ timeout: 10_000 })
    await expect.poll(async () => page.textContent('[data-testid=directory-rejected]')).toMatch(/1 record from the relay failed verification/)
    expect(await card(page, ids.talk).count()).toBe(0)
    expect(await card(page, ids.live).count()).toBe(1)
  })
})
