import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { peerIdFromString } from '@libp2p/peer-id'
import { buildManifest, generateStationKey, PROTOCOL, signManifest, signNowPlaying, type ProgramStart, type StationKey } from '@openstudio/protocol'
import type { ProgramReply, ProgramSink } from '@openstudio/node'
import { ProgramService } from '../src/program.ts'
import { ProgramRenditions } from '../src/renditions.ts'
import { registrar } from './registrar.ts'

const ABANDON_MS = 60_000

const silentReply: ProgramReply = { status: () => {}, refuse: () => {} }

function startOf (key: StationKey): ProgramStart {
  const draft = {
    name: 'Test Station',
    description: 'A station of the program service test',
    tags: ['talk'],
    language: 'en',
    country: 'GB',
    homepage: 'https://station.example/',
    streams: [{ url: 'http://127.0.0.1:8000/live.ogg', codec: 'opus' as const, bitrate: 96, mount: '/live.ogg' }],
    access: 'open' as const
  }
  return {
    type: 'start',
    record: signManifest(buildManifest(key.id, draft, { seq: 1, now: Date.now() }), key).record,
    format: 'ogg-opus',
    bitrate: 64,
    channels: 2,
    sampleRate: 48_000
  }
}

describe('program service', () => {
  const key = generateStationKey()
  const from = peerIdFromString(key.id)
  let nodeSide: ReturnType<typeof registrar>
  let service: ProgramService

  beforeEach(() => {
    vi.useFakeTimers()
    nodeSide = registrar()
    // Icecast is never reached: no header page arrives, so the source never connects.
    service = new ProgramService({ registrar: nodeSide }, { stations: [key.id], icecastUrl: 'http://127.0.0.1:1', icecastPassword: 'unused', abandonMs: ABANDON_MS })
  })

  afterEach(async () => {
    await service.stop()
    vi.useRealTimers()
  })

  const acceptedStream = (): ProgramSink => {
    const sink = service.accept(from, startOf(key), silentReply, Date.now())
    if (typeof sink === 'string') throw new Error(`the program was refused: ${sink}`)
    return sink
  }

  it('registers the protocol on start, and on stop unregisters it and clears every timer', async () => {
    await service.start()
    expect(nodeSide.protocols).toEqual(new Set([PROTOCOL.program]))
    expect(vi.getTimerCount()).toBe(2)
    await service.stop()
    expect(nodeSide.protocols.size).toBe(0)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('stop clears the timer that would abandon a broken stream', async () => {
    await service.start()
    acceptedStream().close('closed')
    expect(vi.getTimerCount()).toBe(3)
    await service.stop()
    expect(vi.getTimerCount()).toBe(0)
    expect(service.current).toBeUndefined()
  })

  it('abandons a broken stream that no new stream took over, and keeps one that was', async () => {
    await service.start()
    acceptedStream().close('stalled')
    await vi.advanceTimersByTimeAsync(ABANDON_MS)
    expect(service.current).toBeUndefined()

    acceptedStream().close('closed')
    const next = acceptedStream()
    await vi.advanceTimersByTimeAsync(ABANDON_MS)
    expect(service.current?.station).toBe(key.id)
    next.close('end')
    expect(service.current).toBeUndefined()
  })

  it('keeps the newest now playing, refuses another station\'s without ending the show, and gives it to the renditions of a new stream', async () => {
    await service.start()
    const titles = vi.spyOn(ProgramRenditions.prototype, 'setTitle')
    const refused: string[] = []
    service.addEventListener('program:now-playing-refuse', (e) => { refused.push(e.detail.reason) })
    const first = acceptedStream()
    first.nowPlaying?.(signNowPlaying({ station: key.id, title: 'First hour', at: Date.now() }, key))
    first.nowPlaying?.(signNowPlaying({ station: key.id, title: 'An older title', at: Date.now() - 1000 }, key))
    const stranger = generateStationKey()
    first.nowPlaying?.(signNowPlaying({ station: stranger.id, title: 'Not ours', at: Date.now() }, stranger))
    expect(refused).toEqual(['MalformedError'])
    expect(service.current?.nowPlaying).toBe('First hour')
    expect(titles.mock.calls.map(([t]) => t)).toEqual(['First hour'])

    // The studio's encoder restarted: a new stream, new renditions, the same show and title.
    first.close('closed')
    acceptedStream()
    expect(service.current?.nowPlaying).toBe('First hour')
    expect(titles.mock.calls.map(([t]) => t)).toEqual(['First hour', 'First hour'])
    titles.mockRestore()
  })
})
