import { describe, expect, it } from 'vitest'
import { NetworkLoader } from '../src/services/network-loader.ts'
import { Gate } from './fakes/studio-parts.ts'

/** A loaded service that counts its stops. */
class FakeService {
  stops = 0
  async stop (): Promise<void> {
    this.stops++
  }
}

describe('NetworkLoader', () => {
  it('loads nothing until asked, then once for every caller, and tells of the load', async () => {
    let loads = 0
    const gate = new Gate()
    const loader = new NetworkLoader(async () => {
      loads++
      await gate.promise
      return new FakeService()
    })
    const heard: FakeService[] = []
    loader.addEventListener('network:load', (e) => { heard.push(e.detail) })
    expect(loader.current).toBeUndefined()
    expect(loads).toBe(0)
    const both = Promise.all([loader.get(), loader.get()])
    gate.open()
    const [a, b] = await both
    expect(b).toBe(a)
    expect(await loader.get()).toBe(a)
    expect(loader.current).toBe(a)
    expect(loads).toBe(1)
    expect(heard).toEqual([a])
  })

  it('loads again after a failed load', async () => {
    let fail = true
    const loader = new NetworkLoader(async () => {
      if (fail) throw new Error('chunk not found')
      return new FakeService()
    })
    await expect(loader.get()).rejects.toThrow('chunk not found')
    fail = false
    expect(await loader.get()).toBeInstanceOf(FakeService)
  })

  it('stops the service when loaded, or once a load in progress ends; a caller may stop waiting', async () => {
    const gate = new Gate()
    const service = new FakeService()
    const loader = new NetworkLoader(async () => {
      await gate.promise
      return service
    })
    await loader.stop()
    const controller = new AbortController()
    const waiting = loader.get({ signal: controller.signal })
    controller.abort(new Error('left'))
    await expect(waiting).rejects.toThrow('left')
    const stopped = loader.stop()
    gate.open()
    await stopped
    expect(service.stops).toBe(1)
    expect(loader.current).toBe(service)
  })
})
