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

  it('drops muted sources from the program and every bus', () => {
    const plan = planMix([p('host', 'host'), p('a', 'caller'), p('b', 'caller', true, true)])
    expect(plan.program).toEqual(['host', 'a'])
    expect(plan.buses).toEqual({ a: ['host'], b: ['host', 'a'] })
  })

  it('can keep off-air callers out of the program return', () => {
    expect(planMix([p('host', 'host'), p('c', 'caller', false)], { offAirHearsProgram: false }).buses).toEqual({ c: [] })
  })

  it('never routes a caller to its own bus', () => {
    const participant = fc.record({
      id: fc.string({ minLength: 1, maxLength: 4 }), kind: fc.constantFrom('host' as const, 'caller' as const),
      onAir: fc.boolean(), muted: fc.boolean()
    })
    fc.assert(fc.property(fc.uniqueArray(participant, { selector: (x) => x.id, maxLength: 16 }), (list) => {
      const plan = planMix(list)
      for (const [caller, sources] of Object.entries(plan.buses)) {
        expect(sources).not.toContain(caller)
        for (const s of sources) expect(plan.program).toContain(s)
      }
    }))
  })
})
