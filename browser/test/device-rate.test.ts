import { describe, expect, it } from 'vitest'
import { wanderingDeviceRate } from '../src/audio/device-rate.ts'

const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:153.0) Gecko/20100101 Firefox/153.0'
const CHROMIUM = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/143.0.0.0 Safari/537.36'

describe('wanderingDeviceRate', () => {
  it('names a Firefox device\'s rate when it is not 48 kHz', async () => {
    expect(await wanderingDeviceRate({ userAgent: FIREFOX, deviceRate: async () => 44_100 })).toBe(44_100)
    expect(await wanderingDeviceRate({ userAgent: FIREFOX, deviceRate: async () => 96_000 })).toBe(96_000)
  })

  it('says nothing for a 48 kHz device, for Chromium, and when the device cannot be asked', async () => {
    let asked = 0
    const at = (rate: number) => async () => { asked++; return rate }
    expect(await wanderingDeviceRate({ userAgent: FIREFOX, deviceRate: at(48_000) })).toBeUndefined()
    expect(await wanderingDeviceRate({ userAgent: CHROMIUM, deviceRate: at(44_100) })).toBeUndefined()
    expect(asked).toBe(1)
    expect(await wanderingDeviceRate({ userAgent: FIREFOX, deviceRate: async () => { throw new Error('NotSupportedError') } })).toBeUndefined()
    expect(await wanderingDeviceRate({ userAgent: FIREFOX, deviceRate: at(Number.NaN) })).toBeUndefined()
  })
})
