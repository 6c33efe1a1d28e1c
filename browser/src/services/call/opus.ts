/**
 * Opus settings chosen for live talk radio, applied to the remote description
 * before it is set. An Opus `fmtp` line and `a=ptime` describe what the side
 * that wrote them wants to *receive*; tuning the remote's description makes
 * our own sender follow them, so each side tunes what it sends.
 */
export const OPUS_DEFAULTS = {
  /** 10 ms packets: half the packetisation delay of the default 20 ms. */
  ptimeMs: 10,
  /** In-band FEC rides out single packet losses. */
  useInbandFec: true,
  /** No discontinuous transmission: DTX gates quiet speech and room tone, which is wrong for a program. */
  useDtx: false,
  /** Speech plus music beds, mono: 64 kb/s is transparent for a talk mix. */
  maxAverageBitrate: 64_000
} as const

export interface OpusInit {
  ptimeMs?: number
  useInbandFec?: boolean
  useDtx?: boolean
  maxAverageBitrate?: number
}

/** Rewrites the Opus parameters of every audio section of `sdp`. */
export function tuneOpus (sdp: string, init: OpusInit = {}): string {
  const o = { ...OPUS_DEFAULTS, ...init }
  const eol = sdp.includes('\r\n') ? '\r\n' : '\n'
  const lines = sdp.split(eol)
  const opus = new Set(lines.flatMap((l) => /^a=rtpmap:(\d+) opus\/48000/i.exec(l)?.[1] ?? []))
  const wanted: Record<string, string> = {
    minptime: String(o.ptimeMs),
    useinbandfec: o.useInbandFec ? '1' : '0',
    usedtx: o.useDtx ? '1' : '0',
    maxaveragebitrate: String(o.maxAverageBitrate)
  }
  const out: string[] = []
  let inAudio = false
  for (const line of lines) {
    if (line.startsWith('m=')) inAudio = line.startsWith('m=audio')
    if (inAudio && /^a=(max)?ptime:/.test(line)) continue
    const fmtp = /^a=fmtp:(\d+) (.*)$/.exec(line)
    if (fmtp !== null && opus.has(fmtp[1] as string)) {
      const params = new Map((fmtp[2] as string).split(';').map((p) => p.trim().split('=') as [string, string]))
      for (const [k, v] of Object.entries(wanted)) params.set(k, v)
      out.push(`a=fmtp:${fmtp[1] as string} ${[...params].map(([k, v]) => `${k}=${v}`).join(';')}`)
      continue
    }
    out.push(line)
    if (inAudio && line.startsWith('m=audio')) out.push(`a=ptime:${o.ptimeMs}`, `a=maxptime:${o.ptimeMs}`)
  }
  return out.join(eol)
}
