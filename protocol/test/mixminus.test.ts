import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { planMix, type MixParticipant } from '../src/index.ts'

const p = (id: string, kind: MixParticipant['kind'], onAir = true, muted = false): MixParticipant => ({ id, kind, onAir, muted })

describe('mix-minus plan', () => {
  it('feeds the program with every audible on-air source and each caller with everyone else', () => {
    const plan = planMix([p('host', 'host'), p('a', 'caller'), p('b', 'caller'), p('c', 'caller', false)])
    expect(plan.program).toEqual(['host', 'a', 'b'])
    expect(plan.buses).toEqual({ a: ['host', 'b'], b: ['host', 'a'], c: ['host', 'a', 'b'] })
  })

  it('gives each host a monitor of every other program source', () => {
    const plan = planMix([p('host', 'host'), p('cohost', 'host'), p('a', 'caller'), p('c', 'caller', false)])
    expect(plan.monitors).toEqual({ host: ['cohost', 'a'], cohost: ['host', 'a'] })
    expect(planMix([p('host', 'host')]).monitors).toEqual({ host: [] })
  })

  it('drops muted sources from the program, every bus and every monitor', () => {
    const plan = planMix([p('host', 'host'), p('a', 'caller'), p('b', 'caller', true, true)])
    expect(plan.program).toEqual(['host', 'a'])
    expect(plan.buses).toEqual({ a: ['host'], b: ['host', 'a'] })
    expect(plan.monitors).toEqual({ host: ['a'] })
  })

  it('can keep off-air callers out of the program return', () => {
    expect(planMix([p('host', 'host'), p('c', 'caller', false)], { offAirHearsProgram: false }).buses).toEqual({ c: [] })
  })

  it('lets hosts talk privately with green-room callers, away from the program', () => {
    const list = [p('host', 'host'), p('cohost', 'host'), p('a', 'caller'), p('g', 'caller', false), p('w', 'caller', false)]
    const plan = planMix(list, { privateTalk: ['g'] })
    expect(plan.program).toEqual(['host', 'cohost', 'a'])
    // g hears the hosts only, not caller a on air; w (waiting, not in private talk) hears the program, not g.
    expect(plan.buses).toEqual({ a: ['host', 'cohost'], g: ['host', 'cohost'], w: ['host', 'cohost', 'a'] })
    expect(plan.monitors).toEqual({ host: ['cohost', 'a', 'g'], cohost: ['host', 'a', 'g'] })
  })

  it('keeps muted hosts out of private talk, and a muted green-room caller out of the monitors', () => {
    const list = [p('host', 'host'), p('quiet', 'host', true, true), p('g', 'caller', false, true)]
    const plan = planMix(list, { privateTalk: ['g'] })
    expect(plan.buses).toEqual({ g: ['host'] })
    expect(plan.monitors).toEqual({ host: [], quiet: ['host'] })
  })

  it('hears private talk even when off-air callers are otherwise kept from the program', () => {
    const plan = planMix([p('host', 'host'), p('g', 'caller', false), p('w', 'caller', false)], { privateTalk: ['g'], offAirHearsProgram: false })
    expect(plan.buses).toEqual({ g: ['host'], w: [] })
  })

  it('ignores private talk with hosts, on-air callers and unknown ids', () => {
    const list = [p('host', 'host'), p('a', 'caller')]
    expect(planMix(list, { privateTalk: ['host', 'a', 'nobody'] })).toEqual(planMix(list))
  })

  it('plays carts into the program and wherever the program is heard, but never into private talk', () => {
    const plan = planMix([p('host', 'host'), p('jingle', 'cart'), p('a', 'caller'), p('g', 'caller', false)], { privateTalk: ['g'] })
    expect(plan.program).toEqual(['host', 'jingle', 'a'])
    expect(plan.buses).toEqual({ a: ['host', 'jingle'], g: ['host'] })
    expect(plan.monitors).toEqual({ host: ['jingle', 'a', 'g'] })
  })

  it('routes talkback to its target only, over what the target hears anyway', () => {
    const list = [p('host', 'host'), p('a', 'caller'), p('b', 'caller'), p('g', 'caller', false)]
    const plan = planMix(list, { talkback: [{ from: 'host', to: 'g' }] })
    // The producer leaves the program and every other bus; g hears them over the program.
    expect(plan.program).toEqual(['a', 'b'])
    expect(plan.buses).toEqual({ a: ['b'], b: ['a'], g: ['host', 'a', 'b'] })
    expect(plan.talkback).toEqual({ g: ['host'] })
    expect(planMix(list).talkback).toEqual({})
  })

  it('lets a muted producer talk back, and a co-host talk back to the producer', () => {
    const list = [p('host', 'host', true, true), p('co', 'caller'), p('b', 'caller')]
    expect(planMix(list, { talkback: [{ from: 'host', to: 'b' }] }).buses).toEqual({ co: ['b'], b: ['host', 'co'] })
    const back = planMix(list, { talkback: [{ from: 'co', to: 'host' }] })
    expect(back.program).toEqual(['b'])
    expect(back.monitors).toEqual({ host: ['co', 'b'] })
    expect(back.buses).toEqual({ co: ['b'], b: [] })
    expect(back.talkback).toEqual({ host: ['co'] })
  })

  it('ignores talkback to oneself, from or to a cart, and with unknown ids', () => {
    const list = [p('host', 'host'), p('jingle', 'cart'), p('a', 'caller')]
    const talkback = [{ from: 'host', to: 'host' }, { from: 'jingle', to: 'a' }, { from: 'host', to: 'jingle' }, { from: 'host', to: 'nobody' }, { from: 'nobody', to: 'a' }]
    expect(planMix(list, { talkback })).toEqual(planMix(list))
  })

  it('keeps its invariants for any room', () => {
    const participant = fc.record({
      id: fc.string({ minLength: 1, maxLength: 4 }), kind: fc.constantFrom('host' as const, 'caller' as const, 'cart' as const),
      onAir: fc.boolean(), muted: fc.boolean()
    })
    const room = fc.uniqueArray(participant, { selector: (x) => x.id, maxLength: 16 }).chain((list) => {
      const anyone = fc.constantFrom(...list.map((x) => x.id), 'stranger')
      return fc.record({
        list: fc.constant(list),
        privateTalk: fc.subarray([...list.map((x) => x.id), 'stranger']),
        offAirHearsProgram: fc.boolean(),
        talkback: fc.array(fc.record({ from: anyone, to: anyone }), { maxLength: 3 })
      })
    })
    fc.assert(fc.property(room, ({ list, privateTalk, offAirHearsProgram, talkback }) => {
      const plan = planMix(list, { privateTalk, offAirHearsProgram, talkback })
      const byId = new Map(list.map((x) => [x.id, x]))
      const talking = (id: string): boolean => privateTalk.includes(id) && byId.get(id)?.kind === 'caller' && byId.get(id)?.onAir === false
      const person = (id: string): boolean => byId.has(id) && byId.get(id)?.kind !== 'cart'
      const live = talkback.filter(({ from, to }) => from !== to && person(from) && person(to))
      const talkers = new Set(live.map((t) => t.from))
      const heardBy = (owner: string): string[] => live.filter((t) => t.to === owner).map((t) => t.from)

      expect(plan.program).toEqual(list.filter((x) => x.onAir && !x.muted && !talkers.has(x.id)).map((x) => x.id))
      expect(Object.keys(plan.buses).sort()).toEqual(list.filter((x) => x.kind === 'caller').map((x) => x.id).sort())
      expect(Object.keys(plan.monitors).sort()).toEqual(list.filter((x) => x.kind === 'host').map((x) => x.id).sort())
      for (const [owner, all] of [...Object.entries(plan.buses), ...Object.entries(plan.monitors)]) {
        expect(all).not.toContain(owner)
        expect(new Set(all).size).toBe(all.length)
        // Talkers are heard only where they talk back to, and there at full level.
        for (const id of all) if (talkers.has(id)) expect(heardBy(owner)).toContain(id)
        for (const id of heardBy(owner)) expect(all).toContain(id)
        expect(plan.talkback[owner] ?? []).toEqual(list.filter((x) => heardBy(owner).includes(x.id)).map((x) => x.id))
      }
      const without = (sources: string[]): string[] => sources.filter((id) => !talkers.has(id))
      for (const [caller, all] of Object.entries(plan.buses)) {
        const sources = without(all)
        if (talking(caller)) {
          expect(sources).toEqual(list.filter((x) => x.kind === 'host' && !x.muted && !talkers.has(x.id)).map((x) => x.id))
        } else {
          for (const id of sources) expect(plan.program).toContain(id)
        }
      }
      for (const [host, all] of Object.entries(plan.monitors)) {
        const expected = list.filter((x) => x.id !== host && !x.muted && !talkers.has(x.id) && (x.onAir || talking(x.id))).map((x) => x.id)
        expect(without(all)).toEqual(expected)
      }
    }))
  })
})
