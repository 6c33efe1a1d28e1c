/** Display helpers. */

const languageNames = new Intl.DisplayNames(undefined, { type: 'language' })

export function languageName (tag: string): string {
  try {
    return languageNames.of(tag) ?? tag
  } catch {
    return tag
  }
}

export function shortId (id: string): string {
  return `${id.slice(0, 10)}…${id.slice(-6)}`
}

export function ago (at: number, now = Date.now()): string {
  const s = Math.round((now - at) / 1000)
  if (s < 5) return 'just now'
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.round(s / 60)} min ago`
  return `${Math.round(s / 3600)} h ago`
}
