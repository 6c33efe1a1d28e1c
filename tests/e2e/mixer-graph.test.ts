/**
 * The studio mixer's graph, rendered deterministically in real Chromium: an
 * OfflineAudioContext at 48 kHz, one sine per participant, the program and
 * every bus rendered into the channels of one buffer, and each tone measured
 * by Goertzel on an exact bin.
 *
 * Tones sit on a Golomb ruler (every pairwise sum distinct) inside one
 * octave, so no harmonic or third-order intermodulation product of two tones
 * lands on a third: a tone found in a bus was routed there.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { MixParticipant } from '@openstudio/protocol'
import { CEILING_KNEE_DB, GAIN_RAMP_S, TALKBACK_DUCK_DB } from '../../browser/src/audio/index.ts'
import { RENDER_QUANTUM, SAMPLE_RATE, type ScenarioResult, type Voice } from '../src/mixer-harness.ts'
import { openMixerPage, type MixerPage } from '../src/mixer-page.ts'

/** Marks of an optimal 16-mark Golomb ruler. */
const MARKS = [0, 1, 4, 11, 26, 32, 56, 68, 76, 115, 117, 134, 150, 163, 168, 177]
/** 3600…7140 Hz: one octave, all on 20 Hz, so every 50 ms window holds whole cycles. Past the ruler's marks (linear scenarios only), 7200 Hz and up. */
const frequencyOf = (i: number): number => 3600 + 20 * (MARKS[i] ?? 180 + i - MARKS.length)
/** -34 dBFS: under the voice compressor's threshold, and 16 of them under the limiter's: the graph is linear. */
const QUIET = 0.02
/** -6 dBFS each: 18 dB into the voice compressors, and a sum far over full scale. */
const LOUD = 0.5
const dbOf = (x: number): number => 20 * Math.log10(x)
/** How far below the quietest routed tone a tone that is not routed must be. */
const ABSENT_DB = 60
/** Static scenarios render this long and measure after the compressors settle. */
const STATIC: { duration: number, window: [number, number] } = { duration: 0.75, window: [0.25, 0.75] }
/** Mid-render changes happen here: 192 render quanta. */
const CHANGE_AT = (192 * RENDER_QUANTUM) / SAMPLE_RATE
/**
 * The limiters (DynamicsCompressorNodes, on the program and on every bus)
 * look 6 ms ahead: the program and the buses lag by that. Strips have no
 * look-ahead.
 */
const LOOKAHEAD_S = 0.006

/** Voices on the ruler's marks; `linear` allows more (their sums and products may then coincide). */
function voices (callers: number, amplitude: number, extra: string[] = [], linear = false): Voice[] {
  const ids = ['host', ...Array.from({ length: callers }, (_, i) => `c${i + 1}`), ...extra]
  if (ids.length > MARKS.length && !linear) throw new Error(`at most ${MARKS.length} voices`)
  return ids.map((id, i) => ({ id, frequency: frequencyOf(i), amplitude }))
}

function room (list: Voice[], state: Record<string, Partial<MixParticipant>> = {}): MixParticipant[] {
  return list.map((v) => ({ id: v.id, kind: v.id === 'host' ? 'host' : 'caller', onAir: true, muted: false, ...state[v.id] }))
}

const ids = (list: Voice[]): string[] => list.map((v) => v.id)

/** Tone levels (dBFS) in one analysis window: `db(channel, voice)`, where a channel is `program` or a bus owner. */
function tonesIn (result: ScenarioResult, window: number): { db: (channel: string, voice: string) => number, peak: (channel: string) => number } {
  const measured = result.windows[window]
  if (measured === undefined) throw new Error(`no window ${window}`)
  const channel = (name: string): number => {
    const c = result.channels.indexOf(name)
    if (c < 0) throw new Error(`no channel ${name}`)
    return c
  }
  return {
    db: (name, voice) => dbOf(measured.tones[channel(name)]?.[channel(voice) - 1] ?? Number.NaN),
    peak: (name) => measured.peak[channel(name)] ?? Number.NaN
  }
}

/** `heard` are in `channel` at `db` (±`tolerance`), and every one of `absent` is ABSENT_DB below the quietest of them. */
function expectMix (tones: ReturnType<typeof tonesIn>, channel: string, heard: string[], absent: string[], db: number, tolerance = 0.2): void {
  for (const id of heard) expect(Math.abs(tones.db(channel, id) - db), `${id} in ${channel}`).toBeLessThanOrEqual(tolerance)
  const floor = Math.min(...heard.map((id) => tones.db(channel, id)))
  for (const id of absent) expect(tones.db(channel, id), `${id} must not be in ${channel}`).toBeLessThan(floor - ABSENT_DB)
}

describe('studio mixer graph (OfflineAudioContext in Chromium)', () => {
  let page: MixerPage

  beforeAll(async () => {
    page = await openMixerPage()
  })

  afterAll(async () => {
    await page?.stop()
  })

  it.each([1, 2, 3, 5, 8, 15])('with %i callers: the program has everyone, each bus everyone but its owner', async (callers) => {
    const list = voices(callers, QUIET)
    const result = await page.render({
      voices: list, duration: STATIC.duration, windows: [STATIC.window], steps: [{ at: 0, add: ids(list), participants: room(list) }]
    })
    const tones = tonesIn(result, 0)
    // Unity gain end to end: the compressors' makeup gain is cancelled below their thresholds.
    expectMix(tones, 'program', ids(list), [], dbOf(QUIET))
    for (const owner of ids(list)) {
      expectMix(tones, owner, ids(list).filter((id) => id !== owner), [owner], dbOf(QUIET))
    }
  })

  it('with 19 callers, past one compressor worklet of 16 strips: the program has everyone, each bus everyone but its owner', async () => {
    // 20 quiet voices sum to 0.4: under every threshold, so the graph is linear and tones off the ruler are safe.
    const list = voices(19, QUIET, [], true)
    const result = await page.render({
      voices: list, duration: STATIC.duration, windows: [STATIC.window], steps: [{ at: 0, add: ids(list), participants: room(list) }]
    })
    const tones = tonesIn(result, 0)
    expectMix(tones, 'program', ids(list), [], dbOf(QUIET))
    for (const owner of ids(list)) expectMix(tones, owner, ids(list).filter((id) => id !== owner), [owner], dbOf(QUIET))
  })

  it('the voice compressor follows its static curve: unity below -24 dBFS, the soft knee, then 3:1', async () => {
    // One voice at a time, alone in the program; -20 dBFS sits in the knee, -6 dBFS past it (the limiter is transparent under -3 dBFS).
    const reduction = async (amplitude: number): Promise<number> => {
      const list = voices(0, amplitude)
      const result = await page.render({
        voices: list, duration: STATIC.duration, windows: [STATIC.window], steps: [{ at: 0, add: ids(list), participants: room(list) }]
      })
      return tonesIn(result, 0).db('program', 'host') - dbOf(amplitude)
    }
    // Over the threshold by x dB: in the 10 dB knee (1/3 - 1) x² / 20, past it (1/3 - 1) (x - 5).
    expect(Math.abs(await reduction(10 ** (-30 / 20)))).toBeLessThan(0.01)
    expect(Math.abs(await reduction(10 ** (-20 / 20)) - (-2 / 3) * 16 / 20)).toBeLessThan(0.1)
    expect(Math.abs(await reduction(LOUD) - (-2 / 3) * (dbOf(LOUD) + 24 - 5))).toBeLessThan(0.1)
  })

  it('a muted caller leaves the program and every bus, and still hears everyone', async () => {
    const list = voices(5, QUIET)
    const result = await page.render({
      voices: list, duration: STATIC.duration, windows: [STATIC.window],
      steps: [{ at: 0, add: ids(list), participants: room(list, { c2: { muted: true } }) }]
    })
    const tones = tonesIn(result, 0)
    const audible = ids(list).filter((id) => id !== 'c2')
    expectMix(tones, 'program', audible, ['c2'], dbOf(QUIET))
    for (const owner of audible) expectMix(tones, owner, audible.filter((id) => id !== owner), ['c2', owner], dbOf(QUIET))
    expectMix(tones, 'c2', audible, ['c2'], dbOf(QUIET))
  })

  it('private talk: the green-room caller hears only the host, the host monitor hears them, the program does not', async () => {
    const list = voices(2, QUIET, ['green', 'waiting'])
    const result = await page.render({
      voices: list, duration: STATIC.duration, windows: [STATIC.window],
      steps: [{
        at: 0, add: ids(list), privateTalk: ['green'],
        participants: room(list, { green: { onAir: false }, waiting: { onAir: false } })
      }]
    })
    const tones = tonesIn(result, 0)
    const all = ids(list)
    const except = (...out: string[]): string[] => all.filter((id) => !out.includes(id))
    expectMix(tones, 'program', ['host', 'c1', 'c2'], ['green', 'waiting'], dbOf(QUIET))
    expectMix(tones, 'green', ['host'], except('host'), dbOf(QUIET))
    expectMix(tones, 'host', ['c1', 'c2', 'green'], ['host', 'waiting'], dbOf(QUIET))
    expectMix(tones, 'c1', ['host', 'c2'], except('host', 'c2'), dbOf(QUIET))
    expectMix(tones, 'waiting', ['host', 'c1', 'c2'], ['green', 'waiting'], dbOf(QUIET))
  })

  it('talkback: only the target hears the producer, over the show ducked by the set amount', async () => {
    const list = voices(3, QUIET)
    const on = room(list)
    const result = await page.render({
      voices: list, duration: 1.5, windows: [[0.1, 0.5], [1, 1.5]], mixer: { talkbackDuckDb: -12 },
      steps: [{ at: 0, add: ids(list), participants: on }, { at: CHANGE_AT, participants: on, talkback: [{ from: 'host', to: 'c2' }] }]
    })
    const before = tonesIn(result, 0)
    const during = tonesIn(result, 1)
    // The producer leaves the program and every other bus: nobody else hears the talkback.
    expectMix(during, 'program', ['c1', 'c2', 'c3'], ['host'], dbOf(QUIET))
    expectMix(during, 'c1', ['c2', 'c3'], ['host', 'c1'], dbOf(QUIET))
    expectMix(during, 'c3', ['c1', 'c2'], ['host', 'c3'], dbOf(QUIET))
    // The target hears the producer as loud as before, and the show 12 dB down.
    expect(Math.abs(during.db('c2', 'host') - before.db('c2', 'host'))).toBeLessThan(0.2)
    for (const id of ['c1', 'c3']) expect(Math.abs(during.db('c2', id) - before.db('c2', id) + 12)).toBeLessThan(0.2)
    expect(during.db('c2', 'c2')).toBeLessThan(during.db('c2', 'c1') - ABSENT_DB)
  })

  it('talkback from a co-host reaches only the producer’s monitor', async () => {
    const list = voices(2, QUIET)
    const result = await page.render({
      voices: list, duration: STATIC.duration, windows: [STATIC.window],
      steps: [{ at: 0, add: ids(list), participants: room(list), talkback: [{ from: 'c1', to: 'host' }] }]
    })
    const tones = tonesIn(result, 0)
    expectMix(tones, 'program', ['host', 'c2'], ['c1'], dbOf(QUIET))
    expectMix(tones, 'c2', ['host'], ['c1', 'c2'], dbOf(QUIET))
    expectMix(tones, 'host', ['c1'], ['host'], dbOf(QUIET))
    expect(Math.abs(tones.db('host', 'c2') - dbOf(QUIET) - TALKBACK_DUCK_DB)).toBeLessThan(0.2)
  })

  it('a cart plays into the program, every bus and the monitor, never into private talk, and can duck the voices', async () => {
    const list = voices(1, QUIET, ['green', 'cart'])
    const people = list.filter((v) => v.id !== 'cart')
    const participants: MixParticipant[] = [...room(people, { green: { onAir: false } }), { id: 'cart', kind: 'cart', onAir: true, muted: false }]
    const result = await page.render({
      voices: list, duration: 1.5, windows: [[0.1, 0.5], [1, 1.5]],
      steps: [
        { at: 0, add: ids(people), carts: ['cart'], participants, privateTalk: ['green'] },
        { at: CHANGE_AT, duckVoicesDb: -10 }
      ]
    })
    const tones = tonesIn(result, 0)
    expectMix(tones, 'program', ['host', 'c1', 'cart'], ['green'], dbOf(QUIET))
    expectMix(tones, 'c1', ['host', 'cart'], ['c1', 'green'], dbOf(QUIET))
    expectMix(tones, 'host', ['c1', 'cart', 'green'], ['host'], dbOf(QUIET))
    expectMix(tones, 'green', ['host'], ['cart', 'c1', 'green'], dbOf(QUIET))
    // Ducked: the voices 10 dB down in the program, the cart as it was.
    const ducked = tonesIn(result, 1)
    for (const id of ['host', 'c1']) expect(Math.abs(ducked.db('program', id) - dbOf(QUIET) + 10)).toBeLessThan(0.2)
    expect(Math.abs(ducked.db('program', 'cart') - dbOf(QUIET))).toBeLessThan(0.2)
  })

  it('a fader moves its participant by its dB in the program and in every bus', async () => {
    // QUIET + 6 dB is still under the voice compressor's threshold, so the strip is linear and the comparison exact.
    const list = voices(2, QUIET)
    const render = async (gainsDb: Record<string, number>): Promise<ReturnType<typeof tonesIn>> => tonesIn(await page.render({
      voices: list, duration: STATIC.duration, windows: [STATIC.window], steps: [{ at: 0, add: ids(list), participants: room(list), gainsDb }]
    }), 0)
    const flat = await render({})
    const moved = await render({ c1: -12, c2: 6, host: 0 })
    const change = (channel: string, voice: string): number => moved.db(channel, voice) - flat.db(channel, voice)
    for (const channel of ['program', 'host']) {
      expect(Math.abs(change(channel, 'c1') + 12)).toBeLessThan(0.5)
      expect(Math.abs(change(channel, 'c2') - 6)).toBeLessThan(0.5)
    }
    expect(Math.abs(change('program', 'host'))).toBeLessThan(0.1)
    expect(Math.abs(change('c2', 'c1') + 12)).toBeLessThan(0.5)
    expect(Math.abs(change('c1', 'c2') - 6)).toBeLessThan(0.5)
  })

  it('the limiters hold 15 loud callers under the ceiling knee in the program and every return, and buses stay mix-minus', async () => {
    const list = voices(15, LOUD)
    const render = async (limiter?: { ratio: number }): Promise<ScenarioResult> => page.render({
      voices: list, duration: STATIC.duration, windows: [[0, STATIC.duration], STATIC.window],
      steps: [{ at: 0, add: ids(list), participants: room(list) }],
      mixer: limiter === undefined ? undefined : { limiter }
    })
    const knee = 10 ** (CEILING_KNEE_DB / 20)
    // The input is honest: with limiters that do nothing (1:1), every sum runs into the ceiling's bend.
    const unlimited = tonesIn(await render({ ratio: 1 }), 0)
    for (const channel of ['program', ...ids(list)]) expect(unlimited.peak(channel), `${channel} unlimited`).toBeGreaterThan(knee)
    const result = await render()
    const whole = tonesIn(result, 0)
    const settled = tonesIn(result, 1)
    // The limiters alone keep the program and each caller's return under the ceiling's knee, from the first sample.
    for (const channel of ['program', ...ids(list)]) expect(whole.peak(channel), channel).toBeLessThanOrEqual(knee)
    for (const id of ids(list)) expect(settled.db('program', id)).toBeGreaterThan(-30)
    // Each bus's limiter works as hard as the program's here, and its gain moves make products of the 14 other tones,
    // up to 17 dB under them, some on the owner's bin. A bus made as "program minus self" would leave the own tone
    // about 8 dB under the others: each tone is about 3 dB quieter in the program than on its strip.
    for (const owner of ids(list)) {
      const others = ids(list).filter((id) => id !== owner)
      expect(settled.db(owner, owner)).toBeLessThan(Math.min(...others.map((id) => settled.db(owner, id))) - 12)
    }
  })

  it('the program processor brings a programme at −30 LUFS and one at −8 LUFS to −16 LUFS (±1 LU), true peak at most −1 dBTP', async () => {
    for (const inputLufs of [-30, -8]) {
      // A 1 kHz sine's BS.1770 loudness is its peak level, the program being the same on both channels.
      const host: Voice = { id: 'host', frequency: 1000, amplitude: 10 ** (inputLufs / 20) }
      const result = await page.render({
        voices: [host], duration: 30, windows: [], loudnessFrom: 15,
        mixer: { processing: { enabled: true } },
        steps: [{ at: 0, add: ['host'], participants: room([host]) }]
      })
      const loudness = result.loudness
      expect(loudness, `${inputLufs} LUFS in`).toBeDefined()
      expect(Math.abs((loudness?.integrated ?? 0) + 16), `from ${inputLufs} LUFS: ${loudness?.integrated}`).toBeLessThanOrEqual(1)
      expect(loudness?.truePeak).toBeLessThanOrEqual(-1)
    }
  })

  it('the ceiling keeps the program and the returns under 0 dBFS with 15 full-scale callers 12 dB hot', async () => {
    const list = voices(15, 1)
    const result = await page.render({
      voices: list, duration: STATIC.duration, windows: [[0, STATIC.duration]],
      steps: [{ at: 0, add: ids(list), participants: room(list), gainsDb: Object.fromEntries(ids(list).map((id) => [id, 12])) }]
    })
    for (const channel of ['program', ...ids(list)]) expect(tonesIn(result, 0).peak(channel), channel).toBeLessThanOrEqual(1)
  })

  it('a mute is a ramp of GAIN_RAMP_S: gradual, then silent, and applying the same plan again does not restart it', async () => {
    const list = voices(1, QUIET)
    const at = CHANGE_AT
    const ms = 0.001
    const muted = room(list, { host: { muted: true } })
    // One window per millisecond of the ramp, one limiter look-ahead later: the envelope must fall step by step, not at once.
    const steps = Math.round(GAIN_RAMP_S / ms)
    const from = at + LOOKAHEAD_S
    const ramp = Array.from({ length: steps }, (_, i): [number, number] => [from + i * ms, from + (i + 1) * ms])
    const result = await page.render({
      voices: list, duration: 1,
      windows: [[from - 5 * ms, from], ...ramp, [from + GAIN_RAMP_S, from + 0.05], [from + GAIN_RAMP_S, from + GAIN_RAMP_S + 0.45]],
      steps: [
        { at: 0, add: ids(list), participants: room(list) },
        { at, participants: muted },
        { at: at + RENDER_QUANTUM / SAMPLE_RATE, participants: muted }
      ]
    })
    // c1's bus carries the host alone.
    expect(tonesIn(result, 0).peak('c1')).toBeGreaterThan(0.99 * QUIET)
    expect(tonesIn(result, 0).peak('c1')).toBeLessThanOrEqual(QUIET + 1e-6)
    for (const [i] of ramp.entries()) {
      const peak = tonesIn(result, 1 + i).peak('c1')
      expect(peak, `ramp ms ${i}`).toBeLessThanOrEqual(QUIET * (1 - (i / steps)) + 1e-4)
      expect(peak, `ramp ms ${i}`).toBeGreaterThanOrEqual(QUIET * (1 - ((i + 1) / steps)) - 1e-4)
    }
    expect(tonesIn(result, 1 + steps).peak('c1')).toBe(0)
    // The program too.
    const after = tonesIn(result, 2 + steps)
    expectMix(after, 'program', ['c1'], ['host'], dbOf(QUIET))
  })

  it('mid-render: mute, remove, admit and a swapped source take effect as soon as the graph\'s delays allow', async () => {
    const list = voices(4, QUIET, ['green', 'spare'])
    const at = CHANGE_AT
    const before: [number, number] = [0.25, 0.5]
    // The mute ramp, then the limiters' look-ahead (the swapped source has no look-ahead of its own to go through).
    const busFrom = at + GAIN_RAMP_S + LOOKAHEAD_S
    const busAfter: [number, number] = [busFrom, busFrom + 0.45]
    const programAfter: [number, number] = busAfter
    const inRoom = list.filter((v) => v.id !== 'spare')
    const result = await page.render({
      voices: list, duration: 1, windows: [before, busAfter, programAfter],
      steps: [
        { at: 0, add: ids(inRoom), participants: room(inRoom, { green: { onAir: false } }) },
        {
          at, remove: ['c2'], replace: [['c3', 'spare']],
          participants: room(inRoom.filter((v) => v.id !== 'c2'), { c1: { muted: true } })
        }
      ]
    })
    const first = tonesIn(result, 0)
    expectMix(first, 'program', ['host', 'c1', 'c2', 'c3', 'c4'], ['green', 'spare'], dbOf(QUIET))
    expectMix(first, 'green', ['host', 'c1', 'c2', 'c3', 'c4'], ['green', 'spare'], dbOf(QUIET))

    const program = tonesIn(result, 2)
    expectMix(program, 'program', ['host', 'c4', 'green', 'spare'], ['c1', 'c2', 'c3'], dbOf(QUIET))
    const buses = tonesIn(result, 1)
    expectMix(buses, 'host', ['c4', 'green', 'spare'], ['host', 'c1', 'c2', 'c3'], dbOf(QUIET))
    expectMix(buses, 'c1', ['host', 'c4', 'green', 'spare'], ['c1', 'c2', 'c3'], dbOf(QUIET))
    expectMix(buses, 'c3', ['host', 'c4', 'green'], ['c1', 'c2', 'c3', 'spare'], dbOf(QUIET))
    expectMix(buses, 'green', ['host', 'c4', 'spare'], ['c1', 'c2', 'c3', 'green'], dbOf(QUIET))
    // The removed caller's bus is disconnected.
    expect(buses.peak('c2')).toBe(0)

    // Meters, read at the change: each strip's sine at its amplitude (peak, and RMS 3 dB under).
    const levels = result.levels[1]
    for (const id of ['host', 'c1', 'c2', 'c3', 'c4', 'green']) {
      expect(Math.abs((levels?.participants[id]?.peak ?? 0) - dbOf(QUIET)), `${id} peak`).toBeLessThan(0.2)
      expect(Math.abs((levels?.participants[id]?.rms ?? 0) - dbOf(QUIET / Math.SQRT2)), `${id} rms`).toBeLessThan(0.2)
    }
    expect(levels?.program.peak).toBeGreaterThan(dbOf(QUIET))
  })

  it('refuses bad gains and use after dispose, by typed errors', async () => {
    expect(await page.errorNames()).toEqual(['InvalidGainError', 'InvalidGainError', 'none', 'MixerDisposedError'])
  })
})
