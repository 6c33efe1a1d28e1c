import { describe, expect, it } from 'vitest'
import { JoinNotifier } from '../src/services/studio/join-notifier.ts'
import type { StudioCaller } from '../src/services/studio/studio.ts'

const caller = (id: string, stage: StudioCaller['stage'], topic?: string): StudioCaller => ({
  id, name: `Caller ${id}`, stage, topic, connected: true, muted: false, producerMuted: false, selfMuted: false, gainDb: 0, producer: false,
  note: '', privateTalk: false, hearsTalkback: false, talkingBack: false, chatSilenced: false
})

function rig (hidden: boolean) {
  const shown: Array<[string, string, string]> = []
  const state = { hidden }
  const notifier = new JoinNotifier({ hidden: () => state.hidden, notify: (...n) => { shown.push(n) } })
  return { notifier, shown, state }
}

describe('JoinNotifier', () => {
  it('tells a producer in another tab of each caller new to the green room, once', () => {
    const { notifier, shown } = rig(true)
    notifier.handleCallers([caller('a', 'green-room', 'Bus timetables')])
    notifier.handleCallers([caller('a', 'green-room', 'Bus timetables'), caller('b', 'on-air')])
    expect(shown).toEqual([['Caller a is waiting', 'Wants to talk about: Bus timetables', 'wait-a']])
    // Back in the green room later: news again.
    notifier.handleCallers([caller('a', 'on-air')])
    notifier.handleCallers([caller('a', 'green-room')])
    expect(shown).toHaveLength(2)
  })

  it('stays quiet while the studio is in view, and counts those callers as seen', () => {
    const r = rig(false)
    r.notifier.handleCallers([caller('a', 'green-room')])
    r.notifier.handleChat('a', 'Caller a', 'hello')
    r.state.hidden = true
    r.notifier.handleCallers([caller('a', 'green-room')])
    expect(r.shown).toEqual([])
    r.notifier.handleChat('a', 'Caller a', 'still there?')
    expect(r.shown).toEqual([['Caller a wrote', 'still there?', 'chat-a']])
  })
})
