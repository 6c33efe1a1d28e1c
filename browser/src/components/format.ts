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

/** A byte count for people: 3.4 GB, 1.2 MB, 340 kB, 512 B. */
export function bytesText (n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)} GB`
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`
  if (n >= 1e3) return `${Math.round(n / 1e3)} kB`
  return `${n} B`
}

/** A length of time as h:mm:ss, or m:ss under an hour. */
export function durationText (seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const mm = String(Math.floor((s % 3600) / 60))
  const ss = String(s % 60).padStart(2, '0')
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mm.padStart(2, '0')}:${ss}` : `${mm}:${ss}`
}
