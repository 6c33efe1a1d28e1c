/**
 * Debian's Chromium driven by playwright-core, with the flags that work on
 * these machines (see docs/architecture.md, "Browsers in the tests"). Never downloads a browser.
 */
import { chromium, type Browser, type LaunchOptions } from 'playwright-core'

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

export const CHROMIUM_ARGS = [
  '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
  '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--use-fake-ui-for-media-stream', '--use-fake-device-for-media-stream',
  '--autoplay-policy=no-user-gesture-required',
  '--allow-loopback-in-peer-connection', '--disable-features=WebRtcHideLocalIpsWithMdns',
  // Pages in other contexts are "in the background": a studio there must not be throttled.
  '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows'
]

export async function launchChromium (extraArgs: string[] = [], options: LaunchOptions = {}): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    ignoreDefaultArgs: ['--headless'],
    args: [...CHROMIUM_ARGS, ...extraArgs],
    // Chromium plays into no sound server: the Firefox tests start PulseAudio, and through its null sink a
    // Chromium page's audio clock fell behind by seconds a minute (the studio's skipped-audio notice).
    env: { ...process.env, PULSE_SERVER: 'unix:/nonexistent/openstudio-tests' },
    ...options
  })
}
