/**
 * Whether this browser carries the microphone and the calls into the app's
 * 48 kHz AudioContext through a resampler whose ratio wanders.
 *
 * Firefox (153) runs its media graph at the output device's rate. An
 * AudioContext of another rate is a graph of its own, and streams reach it
 * through a resampler that corrects for drift between the two: tones it
 * carried measured 0.2–0.6 % sharp over a second (a 660 Hz tone at 664 Hz),
 * in the show and in its recordings (docs/recording.md). With a 48 kHz
 * device there is one graph and no such resampler. Chromium resamples at a
 * fixed ratio, so only Firefox is asked.
 */

/** The rate every OpenStudio AudioContext runs at. */
const APP_RATE = 48_000

export interface DeviceRateProbe {
  /** The browser's user agent string. */
  userAgent: string
  /** The device's rate: an AudioContext's own when none is asked for. */
  deviceRate: () => Promise<number>
}

/**
 * The output device's rate when this browser resamples into the app's
 * context with a wandering ratio (Firefox, a device not at 48 kHz);
 * undefined otherwise, and when the device cannot be asked.
 */
export async function wanderingDeviceRate (probe: DeviceRateProbe): Promise<number | undefined> {
  // No feature tells this behaviour apart: it is Firefox's, so the user agent says.
  if (!/\bFirefox\/\d/.test(probe.userAgent)) return undefined
  const rate = await probe.deviceRate().catch(() => APP_RATE)
  return Number.isFinite(rate) && rate > 0 && rate !== APP_RATE ? rate : undefined
}

/** The device's rate, asked of a context that is closed at once (it never plays). */
export async function browserDeviceRate (): Promise<number> {
  const context = new AudioContext()
  try {
    return context.sampleRate
  } finally {
    await context.close()
  }
}

let asked: Promise<number | undefined> | undefined

/** wanderingDeviceRate for this page's browser, asked once. */
export async function pageWanderingDeviceRate (): Promise<number | undefined> {
  asked ??= wanderingDeviceRate({ userAgent: navigator.userAgent, deviceRate: browserDeviceRate })
  return asked
}
