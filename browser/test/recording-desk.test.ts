import { describe, expect, it } from 'vitest'
import type { SignalMessage } from '@openstudio/protocol'
import type { StudioRecorder } from '../src/services/recording/recorder.ts'
import type { UploadEndpoint } from '../src/services/recording/uploads.ts'
import { RecordingDesk } from '../src/services/studio/recording-desk.ts'
import type { StudioCall } from '../src/services/studio/components.ts'
import { fakeNode } from './fakes/studio-parts.ts'

/** A recorder that notes what it is asked to do. */
function fakeRecorder () {
  const did: string[] = []
  let recording = false
  const recorder = {
    get recording () { return recording },
    get status () { return { recording, dir: 'recording-1' } },
    start: async () => { recording = true; did.push('start') },
    stop: async () => { recording = false; did.push('stop') },
    // As the real one: a voice is attached only while it records.
    attach: async (id: string, who: string) => { if (recording) did.push(`attach ${id} ${who}`) },
    detach: (id: string) => { if (recording) did.push(`detach ${id}`) },
    storage: {},
    recordingFor: () => undefined
  }
  return { recorder: recorder as unknown as StudioRecorder, did }
}

function fakeCall (): StudioCall & { sent: SignalMessage[] } {
  const sent: SignalMessage[] = []
  return { sent, send: async (m: SignalMessage) => { sent.push(m) } } as unknown as StudioCall & { sent: SignalMessage[] }
}

describe('RecordingDesk', () => {
  it('records every voice heard before the start, and those heard after; a voice that leaves is detached', async () => {
    const { recorder, did } = fakeRecorder()
    const calls = [fakeCall()]
    const desk = new RecordingDesk({ recorder: () => recorder, calls: () => calls, delayMs: () => 0 })
    desk.hear('host', 'Host', fakeNode('host') as unknown as AudioNode)
    desk.hear('ada', 'Ada', fakeNode('ada') as unknown as AudioNode)
    desk.leave('ada')
    desk.hear('bo', 'Bo', fakeNode('bo') as unknown as AudioNode)
    await desk.start(recorder, { show: 'Talk' }, fakeNode('program') as unknown as AudioNode)
    desk.hear('cy', 'Cy', fakeNode('cy') as unknown as AudioNode)
    desk.leave('bo')
    // Ada left before the recording: her track never starts.
    expect(did).toEqual(['start', 'attach host Host', 'attach bo Bo', 'attach cy Cy', 'detach bo'])
    // Every caller is told which recording runs, and told again when it stops.
    expect(calls[0]?.sent).toEqual([{ type: 'recording', recording: 'recording-1' }])
    await desk.stop()
    expect(calls[0]?.sent.at(-1)).toEqual({ type: 'recording', recording: undefined })
  })

  it('tells one call on its own (a caller who comes in while recording), and takes uploads until it closes', async () => {
    const { recorder } = fakeRecorder()
    const desk = new RecordingDesk({ recorder: () => recorder, calls: () => [], delayMs: () => 0 })
    await desk.start(recorder, { show: 'Talk' }, fakeNode('program') as unknown as AudioNode)
    const late = fakeCall()
    await desk.announce(late)
    expect(late.sent).toEqual([{ type: 'recording', recording: 'recording-1' }])

    let handled: ((channel: UploadEndpoint) => void) | undefined
    let removed = 0
    await desk.openUploads(async (onChannel) => {
      handled = onChannel
      return async () => { removed++ }
    }, new AbortController().signal)
    expect(handled).toBeTypeOf('function')
    expect(desk.uploads).toBeDefined()
    await desk.close()
    await desk.close()
    expect(removed).toBe(1)
    expect(desk.recording).toBe(false)
  })

  it('takes no uploads without a recorder', async () => {
    const desk = new RecordingDesk({ recorder: () => undefined, calls: () => [], delayMs: () => 0 })
    await desk.openUploads(async () => { throw new Error('never asked') }, new AbortController().signal)
    expect(desk.uploads).toBeUndefined()
    await desk.close()
  })
})
