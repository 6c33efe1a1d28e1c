/**
 * The mix-minus routing plan: which sources feed the program bus and which
 * feed each caller's return bus. Pure; the Web Audio engine applies it.
 *
 * Each caller's bus is a direct sum of every other audible on-air source,
 * never "program minus self", so a caller can never hear themselves even
 * when the program chain is nonlinear (compressors, limiter).
 */

export interface MixParticipant {
  id: string
  /** Hosts mix into the program and monitor locally; callers get a return bus. */
  kind: 'host' | 'caller'
  onAir: boolean
  /** Muted by the producer or by themselves. */
  muted: boolean
}

export interface MixPlan {
  /** Sources summed into the program bus, in participant order. */
  program: string[]
  /** Return bus of each caller: the sources it hears. */
  buses: Record<string, string[]>
}

export interface MixPlanInit {
  /**
   * Callers waiting off air hear the program on their return.
   * @default true
   */
  offAirHearsProgram?: boolean
}

/** Plans the program bus and every caller's mix-minus bus. */
export function planMix (participants: readonly MixParticipant[], init: MixPlanInit = {}): MixPlan {
  const offAirHearsProgram = init.offAirHearsProgram ?? true
  const program = participants.filter((p) => p.onAir && !p.muted).map((p) => p.id)
  const buses: Record<string, string[]> = {}
  for (const caller of participants) {
    if (caller.kind !== 'caller') continue
    buses[caller.id] = caller.onAir || offAirHearsProgram ? program.filter((id) => id !== caller.id) : []
  }
  return { program, buses }
}
