/**
 * Tells a producer whose studio tab is in the background that a caller is
 * waiting in the green room, or wrote in the chat: a browser notification,
 * once per arrival.
 */
import type { StudioCaller } from './studio.ts'

export interface JoinNotifierComponents {
  /** True while the studio's tab is out of sight. */
  hidden: () => boolean
  /** Shows one notification; `tag` replaces an older one of the same tag. */
  notify: (title: string, body: string, tag: string) => void
}

export class JoinNotifier {
  /** Callers waiting at the last look: only new arrivals are news. */
  private waiting = new Set<string>()

  constructor (private readonly components: JoinNotifierComponents) {}

  /** Looks at the callers after a change; a caller new to the green room is news while the tab is hidden. */
  handleCallers (callers: readonly StudioCaller[]): void {
    const now = new Set(callers.filter((c) => c.stage === 'green-room' && c.connected).map((c) => c.id))
    for (const c of callers) {
      if (!now.has(c.id) || this.waiting.has(c.id) || !this.components.hidden()) continue
      this.components.notify(`${c.name} is waiting`, c.topic === undefined ? 'A caller is in the green room.' : `Wants to talk about: ${c.topic}`, `wait-${c.id}`)
    }
    this.waiting = now
  }

  /** A caller's chat message is news while the tab is hidden. */
  handleChat (from: string, name: string, text: string): void {
    if (this.components.hidden()) this.components.notify(`${name} wrote`, text, `chat-${from}`)
  }
}

/** The browser's: the page's visibility, and the Notification API when the producer allowed it. */
export function browserJoinNotifier (): JoinNotifier {
  return new JoinNotifier({
    hidden: () => document.visibilityState === 'hidden',
    notify: (title, body, tag) => {
      if (typeof Notification === 'undefined' || Notification.permission !== 'granted') return
      const shown = new Notification(title, { body, tag })
      shown.onclick = () => { window.focus(); shown.close() }
    }
  })
}
