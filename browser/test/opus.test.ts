import { describe, expect, it } from 'vitest'
import { tuneOpus } from '../src/services/call/opus.ts'

// The audio section of a Chromium 156 offer, trimmed.
const offer = [
  'v=0', 'o=- 1 2 IN IP4 127.0.0.1', 's=-', 't=0 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 13 110 126',
  'a=rtpmap:111 opus/48000/2', 'a=rtcp-fb:111 transport-cc', 'a=fmtp:111 minptime=10;useinbandfec=1',
  'a=rtpmap:63 red/48000/2', 'a=fmtp:63 111/111', 'a=rtpmap:9 G722/8000',
  'm=application 9 UDP/DTLS/SCTP webrtc-datachannel', 'a=sctp-port:5000', ''
].join('\r\n')

describe('Opus tuning', () => {
  it('asks for 10 ms packets, FEC, no DTX and a bitrate, on the Opus payload only', () => {
    const tuned = tuneOpus(offer)
    expect(tuned).toContain('a=fmtp:111 minptime=10;useinbandfec=1;usedtx=0;maxaveragebitrate=64000\r\n')
    expect(tuned).toContain('a=fmtp:63 111/111\r\n')
    expect(tuned.match(/a=ptime:10/g)).toHaveLength(1)
    expect(tuned.indexOf('a=ptime:10')).toBeLessThan(tuned.indexOf('m=application'))
    expect(tuned.endsWith('\r\n')).toBe(true)
  })

  it('is idempotent and follows the options', () => {
    expect(tuneOpus(tuneOpus(offer))).toBe(tuneOpus(offer))
    expect(tuneOpus(offer, { useDtx: true })).toContain('usedtx=1;')
    expect(tuneOpus(offer, { ptimeMs: 20 })).toContain('a=ptime:20')
  })
})
