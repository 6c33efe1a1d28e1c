/**
 * Icecast's fallback mount through real processes: icecast2 with the config
 * `npm start` and docker/icecast.xml use (a live mount falling back to a
 * hidden mount with no burst), `FallbackSource` feeding the fallback mount,
 * ffmpeg as the live source (a 440 Hz tone) and ffmpeg as the listener.
 *
 * What it proves: a listener of the live mount is not dropped when the live
 * source goes away; it is moved to the fallback mount and decodes its
 * silence at the pace of real time (a file fallback in Icecast 2.4.4 arrives
 * about five times faster, which a real-time player would queue up ahead of
 * the show); and when a source comes back, the same connection is moved back
 * to the live mount (`fallback-override`) and hears the show again. A mount
 * without a fallback drops its listener, so the test tells the two apart.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fallbackMount, FallbackSource, mountWithFallback, readIcecastMounts, startIcecast, type LocalIcecast } from '@openstudio/node'
import { removeDir, tempDir } from '../src/network.ts'
import { freePort } from '../src/ports.ts'
import { Listener, SAMPLE_RATE } from '../src/program-audio.ts'
import { toneShare } from '../src/signal.ts'
import { waitUntil } from '../src/wait.ts'

const LIVE = '/live.ogg'
const BARE = '/bare.ogg'
const PASSWORD = 'fallback-test'
const TONE_HZ = 440

describe('Icecast fallback mount', () => {
  let dir: string
  let icecast: LocalIcecast
  let fallback: FallbackSource
  const processes: Array<{ stop: () => Promise<void> }> = []

  /** ffmpeg sending a stereo 440 Hz tone as Ogg Opus, in real time, to a mount. */
  const liveSource = (mount: string): ChildProcess => {
    const child = spawn('ffmpeg', ['-hide_banner', '-loglevel', 'error', '-re', '-f', 'lavfi', '-i', `sine=frequency=${TONE_HZ}:sample_rate=${SAMPLE_RATE}`,
      '-ac', '2', '-c:a', 'libopus', '-b:a', '64k', '-content_type', 'audio/ogg', '-f', 'ogg',
      `icecast://source:${PASSWORD}@127.0.0.1:${icecast.port}${mount}`], { stdio: 'ignore' })
    const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve() }))
    processes.push({ stop: async () => { if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL'); await exited } })
    return child
  }
  /** A listener, once the mount's source is on (Icecast names its content type only then). */
  const listen = async (mount: string): Promise<Listener> => {
    await waitUntil(`the source of ${mount} to be on`, async () => (await readIcecastMounts(icecast.url)).get(mount)?.contentType === 'audio/ogg')
    const listener = new Listener(`${icecast.url}${mount}`)
    processes.push(listener)
    return listener
  }
  /** The last `ms` of what the listener decoded. */
  const lastMs = (listener: Listener, ms: number): Float32Array => {
    const samples = listener.samples()
    return samples.subarray(Math.max(0, samples.length - (SAMPLE_RATE * ms) / 1000))
  }
  const hearsTone = (listener: Listener): boolean => listener.seconds > 0.2 && toneShare(lastMs(listener, 200), SAMPLE_RATE, TONE_HZ) > 0.8
  const kill = async (child: ChildProcess): Promise<void> => {
    child.kill('SIGKILL')
    await waitUntil('the live source to exit', () => child.exitCode !== null || child.signalCode !== null)
  }

  beforeAll(async () => {
    // Icecast drops to its own user when started as root: its directory is a top-level one it can enter.
    dir = await tempDir('openstudio-fallback-icecast-')
    icecast = await startIcecast({ dir, port: await freePort(), sourcePassword: PASSWORD, mounts: [mountWithFallback(LIVE), fallbackMount(), { mount: BARE }] })
    fallback = new FallbackSource({ url: icecast.url, password: PASSWORD })
    fallback.start()
    await waitUntil('the fallback source to connect', () => fallback.status.state === 'connected')
  })

  afterAll(async () => {
    await Promise.all(processes.map(async (p) => p.stop()))
    await fallback?.stop()
    await icecast?.stop()
    await removeDir(dir)
  })

  it('keeps a listener of the live mount connected on the fallback, in real time, while the source is away, and hands it back', async () => {
    const source = liveSource(LIVE)
    const listener = await listen(LIVE)
    await waitUntil('the listener to hear the live tone', () => hearsTone(listener), 10_000)

    await kill(source)
    const decodedAtKill = listener.seconds
    const producedAtKill = fallback.producedMs
    await waitUntil('the listener to decode 3 s after the live source left', () => listener.seconds >= decodedAtKill + 3, 10_000)
    expect(listener.process.exitCode, 'the listener was dropped').toBeNull()
    // Paced, not flooded: the listener decoded no more than the fallback source made meanwhile
    // (a file fallback hands out about five times as much as a paced source makes).
    const producedS = (fallback.producedMs - producedAtKill) / 1000
    expect(listener.seconds - decodedAtKill).toBeLessThanOrEqual(producedS + 0.6)
    // And it is the fallback's silence, not the tail of the live tone.
    const afterKill = listener.samples().subarray(Math.round((decodedAtKill + 1) * SAMPLE_RATE), Math.round((decodedAtKill + 3) * SAMPLE_RATE))
    expect(afterKill.length).toBeGreaterThan(SAMPLE_RATE)
    expect(Math.max(...afterKill.map(Math.abs))).toBeLessThan(0.01)

    // The source comes back: the same connection returns to the live mount.
    liveSource(LIVE)
    await waitUntil('the listener to hear the live tone again', () => hearsTone(listener), 10_000)
    expect(listener.process.exitCode).toBeNull()
  })

  it('drops the listener of a mount without a fallback (the control)', async () => {
    const source = liveSource(BARE)
    const listener = await listen(BARE)
    await waitUntil('the listener to hear the tone', () => hearsTone(listener), 10_000)
    await kill(source)
    await waitUntil('Icecast to drop the listener', () => listener.process.exitCode !== null, 10_000)
  })
})
