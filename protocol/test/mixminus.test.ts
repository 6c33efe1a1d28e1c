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

  it('keeps its invariants for any room', () => {
    const participant = fc.record({
      id: fc.string({ minLength: 1, maxLength: 4 }), kind: fc.constantFrom('host' as const, 'caller' as const),
      onAir: fc.boolean(), muted: fc.boolean()
    })
    const room = fc.uniqueArray(participant, { selector: (x) => x.id, maxLength: 16 }).chain((list) => fc.record({
      list: fc.constant(list),
      privateTalk: fc.subarray([...list.map((x) => x.id), 'stranger']),
      offAirHearsProgram: fc.boolean()
    }))
    fc.assert(fc.property(room, ({ list, privateTalk, offAirHearsProgram }) => {
      const plan = planMix(list, { privateTalk, offAirHearsProgram })
      const byId = new Map(list.map((x) => [x.id, x]))
      const talking = (id: string): boolean => privateTalk.includes(id) && byId.get(id)?.kind === 'caller' && byId.get(id)?.onAir === false

      expect(plan.program).toEqual(list.filter((x) => x.onAir && !x.muted).map((x) => x.id))
      expect(Object.keys(plan.buses).sort()).toEqual(list.filter((x) => x.kind === 'caller').map((x) => x.id).sort())
      expect(Object.keys(plan.monitors).sort()).toEqual(list.filter((x) => x.kind === 'host').map((x) => x.id).sort())
      for (const [owner, sources] of [...Object.entries(plan.buses), ...Object.entries(plan.monitors)]) {
        expect(sources).not.toContain(owner)
        expect(new Set(sources).size).toBe(sources.length)
      }
      for (const [caller, sources] of Object.entries(plan.buses)) {
        if (talking(caller)) {
          expect(sources).toEqual(list.filter((x) => x.kind === 'host' && !x.muted).map((x) => x.id))
        } else {
          for (const s of sources) expect(plan.program).toContain(s)
        }
      }
      for (const [host, sources] of Object.entries(plan.monitors)) {
        const expected = list.filter((x) => x.id !== host && !x.muted && (x.onAir || talking(x.id))).map((x) => x.id)
        expect(sources).toEqual(expected)
      }
    }))
  })
})
