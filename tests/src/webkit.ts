/**
 * WebKitGTK (Debian's MiniBrowser) driven through WebKitWebDriver, on a
 * display of its own (Xvfb). W3C WebDriver is plain JSON over HTTP, and these
 * tests need only five of its commands, so this speaks it with fetch rather
 * than carry a WebDriver library. Never downloads a browser.
 *
 * WebKitGTK 2.50 has no WebRTC (RTCPeerConnection is undefined): it is a
 * listener here, never a caller or a studio.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { access, writeFile } from 'node:fs/promises'
import { freePort } from './ports.ts'
import { waitUntil } from './wait.ts'

const DRIVER = '/usr/bin/WebKitWebDriver'
const XVFB = '/usr/bin/Xvfb'
const MINIBROWSER = '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser'

/** Why WebKitGTK cannot run here, or undefined when it can. */
export async function webkitMissing (): Promise<string | undefined> {
  for (const [what, path] of [['WebKitWebDriver', DRIVER], ['Xvfb', XVFB], ['MiniBrowser', MINIBROWSER]]) {
    if (!await access(path!).then(() => true, () => false)) return `${what} is not installed (${path}): apt-get install webkit2gtk-driver xvfb`
  }
  return undefined
}

/** One WebDriver session: a MiniBrowser window. */
export class WebKitSession {
  private constructor (private readonly base: string, private readonly processes: ChildProcess[]) {}

  /** Starts Xvfb, WebKitWebDriver and a MiniBrowser session. */
  static async start (): Promise<WebKitSession> {
    const display = `:${100 + Math.floor(Math.random() * 800)}`
    const port = await freePort()
    const xvfb = spawn(XVFB, [display, '-nolisten', 'tcp', '-screen', '0', '1280x1000x24'], { stdio: 'ignore' })
    const driver = spawn(DRIVER, [`--port=${port}`], { stdio: 'ignore', env: { ...process.env, DISPLAY: display } })
    const base = `http://127.0.0.1:${port}`
    await waitUntil('WebKitWebDriver to answer', async () => (await fetch(`${base}/status`).then((r) => r.ok, () => false)) || undefined, 20_000)
    const created = await command<{ sessionId: string }>('POST', `${base}/session`, {
      capabilities: { alwaysMatch: { browserName: 'MiniBrowser', 'webkitgtk:browserOptions': { binary: MINIBROWSER, args: ['--automation'] } } }
    })
    return new WebKitSession(`${base}/session/${created.sessionId}`, [driver, xvfb])
  }

  async goto (url: string): Promise<void> {
    await command('POST', `${this.base}/url`, { url })
  }

  /** Runs `script` (a function body; `arguments` holds `args`) in the page. */
  async execute<T> (script: string, ...args: unknown[]): Promise<T> {
    return command<T>('POST', `${this.base}/execute/sync`, { script, args })
  }

  /** A real click (a user gesture, which starts audio) on the first element matching `selector`. */
  async click (selector: string): Promise<void> {
    const found = await command<Record<string, string>>('POST', `${this.base}/element`, { using: 'css selector', value: selector })
    const element = Object.values(found)[0]
    await command('POST', `${this.base}/element/${element}/click`, {})
  }

  async screenshot (path: string): Promise<void> {
    await writeFile(path, Buffer.from(await command<string>('GET', `${this.base}/screenshot`), 'base64'))
  }

  async stop (): Promise<void> {
    await command('DELETE', this.base).catch(() => {})
    for (const p of this.processes) p.kill('SIGTERM')
  }
}

/** One WebDriver command; its `value`, or its error as an Error. */
async function command<T> (method: string, url: string, body?: unknown): Promise<T> {
  const res = await fetch(url, { method, headers: { 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) })
  const { value } = await res.json() as { value: T & { error?: string, message?: string } }
  if (!res.ok) throw new Error(`WebDriver ${method} ${new URL(url).pathname}: ${value?.error ?? res.status} ${value?.message ?? ''}`)
  return value
}
