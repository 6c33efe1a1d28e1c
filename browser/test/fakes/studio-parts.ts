/**
 * In-memory studio components: a mixer that records the plan it is given,
 * host audio that counts opens and closes, a signalling handler the test
 * dials through, and calls whose media the test switches on and off. A
 * `Gate` holds a component's answer back, so a test can stop the studio
 * while it waits (the component does not look at the abort: the studio must
 * clean up whatever arrives late).
 */
import type { MixPlan } from '@openstudio/protocol'
import { PROCESSING_DEFAULTS, type MixerLevels, type ProcessingSettings } from '../../src/audio/index.ts'
import type { CallStats } from '../../src/services/call/peer.ts'
import type { NegotiationMessage, SignalEndpoint } from '../../src/services/call/signal-endpoint.ts'
import type { SignalHandler, StudioAudio, StudioCall, StudioCallInit, StudioMixerPart } from '../../src/services/studio/studio.ts'
import type { SignalMessage } from '@openstudio/protocol'

/** A stand-in for an AudioNode: it only remembers what it was connected to. */
export class FakeNode {
  readonly connections = new Set<unknown>()
  constructor (readonly label: string) {}
  connect (destination: unknown): unknown {
    this.connections.add(destination)
    return destination
  }

  disconnect (): void {
    this.connections.clear()
  }
}

export const fakeNode = (label: string): AudioNode & FakeNode => new FakeNode(label) as unknown as AudioNode & FakeNode

/** A mixer that keeps its sources and the last plan it was told to follow. */
export class FakeMixer implements StudioMixerPart {
  readonly sources = new Map<string, AudioNode>()
  readonly buses = new Map<string, AudioNode & FakeNode>()
  readonly programOutput = fakeNode('program')
  plan: MixPlan = { program: [], buses: {}, monitors: {}, talkback: {} }
  gainsDb: Readonly<Record<string, number>> = {}
  readonly voiceKey = fakeNode('voices')
  voicesDb = 0
  talkbackDuckDb = -15

  duckVoices (db: number): void {
    this.voicesDb = db
  }

  setTalkbackDuck (db: number): void {
    this.talkbackDuckDb = db
  }

  addParticipant (id: string, source: AudioNode): void {
    this.sources.set(id, source)
  }

  has (id: string): boolean {
    return this.sources.has(id)
  }

  removeParticipant (id: string): void {
    this.sources.delete(id)
    this.buses.delete(id)
  }

  apply (plan: MixPlan, gainsDb: Readonly<Record<string, number>> = {}): void {
    this.plan = plan
    this.gainsDb = gainsDb
  }

  busOutput (id: string): AudioNode {
    const bus = this.buses.get(id) ?? fakeNode(`bus:${id}`)
    this.buses.set(id, bus)
    return bus
  }

  levels (): MixerLevels {
    return { program: { peak: -100, rms: -100 }, participants: {} }
  }

  loudnessResets = 0
  resetLoudness (): void {
    this.loudnessResets++
  }

  processing: ProcessingSettings = { ...PROCESSING_DEFAULTS }
  setProcessing (change: Partial<ProcessingSettings>): void {
    this.processing = { ...this.processing, ...change }
  }
}

/** A promise the test settles by hand. */
export class Gate<T = void> {
  readonly promise: Promise<T>
  open!: (value: T) => void
  constructor () {
    this.promise = new Promise((resolve) => { this.open = resolve })
  }
}

/** The host's audio: counts opens and closes; `gate` holds the opening back. */
export function fakeHostAudio (): { open: (options: { signal?: AbortSignal }) => Promise<StudioAudio>, opened: number, closed: number, mixer?: FakeMixer, gate?: Gate, failure?: Error } {
  const audio = {
    opened: 0,
    closed: 0,
    mixer: undefined as FakeMixer | undefined,
    gate: undefined as Gate | undefined,
    /** Thrown by open, as a denied microphone would. */
    failure: undefined as Error | undefined,
    open: async (): Promise<StudioAudio> => {
      await audio.gate?.promise
      if (audio.failure !== undefined) throw audio.failure
      const mixer = new FakeMixer()
      audio.mixer = mixer
      audio.opened++
      let closed = false
      return {
        mixer,
        microphone: fakeNode('host-microphone'),
        monitor: fakeNode('headphones'),
        close: async () => {
          if (closed) return
          closed = true
          audio.closed++
        }
      }
    }
  }
  return audio
}

/** The station node's signalling handler: `dial` hands it a stream, as an incoming one. */
export function fakeSignalHandler (): { handler: SignalHandler, dial: (end: SignalEndpoint) => void, registered: number, unregistered: number, gate?: Gate } {
  let onChannel: ((channel: SignalEndpoint) => void) | undefined
  const signal = {
    registered: 0,
    unregistered: 0,
    gate: undefined as Gate | undefined,
    handler: (async (handle) => {
      await signal.gate?.promise
      signal.registered++
      onChannel = handle
      return async () => {
        signal.unregistered++
        onChannel = undefined
      }
    }) satisfies SignalHandler,
    dial: (end: SignalEndpoint): void => {
      if (onChannel === undefined) throw new Error('the studio is not taking calls')
      onChannel(end)
    }
  }
  return signal
}

/** One call's media: the test says when the caller is heard and whether the audio flows. */
export class FakeCall implements StudioCall {
  connected = false
  stats?: CallStats
  closed = false
  readonly negotiated: NegotiationMessage[] = []
  readonly unsent: Error[] = []

  constructor (public channel: SignalEndpoint, readonly init: StudioCallInit) {}

  negotiate (message: NegotiationMessage): void {
    this.negotiated.push(message)
  }

  rebind (channel: SignalEndpoint): void {
    const old = this.channel
    this.channel = channel
    if (old !== channel) void old.close()
  }

  async send (message: SignalMessage, options?: { signal?: AbortSignal }): Promise<void> {
    if (!this.channel.open) return
    await this.channel.send(message, options).catch((err: Error) => { this.unsent.push(err) })
  }

  close (): void {
    this.closed = true
    void this.channel.close()
  }

  /** The caller's microphone arrives: its track becomes a mixer source. */
  hear (): void {
    this.init.onSource(fakeNode(`microphone:${this.init.id}`))
  }
}

/** A calls factory that keeps every call it opened. */
export function fakeCalls (): { open: (channel: SignalEndpoint, init: StudioCallInit) => StudioCall, opened: FakeCall[] } {
  const calls = {
    opened: [] as FakeCall[],
    open: (channel: SignalEndpoint, init: StudioCallInit): StudioCall => {
      const call = new FakeCall(channel, init)
      calls.opened.push(call)
      return call
    }
  }
  return calls
}
