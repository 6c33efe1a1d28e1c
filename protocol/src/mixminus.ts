/**
 * The mix-minus routing plan: which sources feed the program bus, each
 * caller's return bus and each host's headphone monitor. Pure; the Web Audio
 * engine (browser/src/audio) applies it.
 *
 * Every bus is a direct sum of the sources it lists, never "program minus
 * self", so nobody can hear themselves even when the program chain is
 * nonlinear (compressors, limiter). Invariants, property-tested:
 *
 * - no bus or monitor lists its owner;
 * - the program holds exactly the on-air, unmuted participants;
 * - a caller in private talk is in no program, no caller bus, and hears only
 *   the unmuted hosts.
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
  /** Return bus of each caller (keyed by caller id): the sources it hears, in participant order. */
  buses: Record<string, string[]>
  /**
   * Headphone monitor of each host (keyed by host id): every other program
   * source, plus the green-room callers in private talk, in participant order.
   */
  monitors: Record<string, string[]>
}

export interface MixPlanInit {
  /**
   * Callers waiting off air hear the program on their return.
   * @default true
   */
  offAirHearsProgram?: boolean
  /**
   * Green-room callers (off air) the hosts are talking to privately. Such a
   * caller hears only the unmuted hosts, not the program; the hosts' monitors
   * hear them (unless muted); the program never does. Ids of hosts, of
   * on-air callers and of unknown participants are ignored.
   * @default []
   */
  privateTalk?: readonly string[]
}

/** Plans the program bus, every caller's mix-minus bus and every host's monitor. */
export function planMix (participants: readonly MixParticipant[], init: MixPlanInit = {}): MixPlan {
  const offAirHearsProgram = init.offAirHearsProgram ?? true
  const talking = new Set(init.privateTalk ?? [])
  const inPrivateTalk = (p: MixParticipant): boolean => p.kind === 'caller' && !p.onAir && talking.has(p.id)
  const inProgram = (p: MixParticipant): boolean => p.onAir && !p.muted
  const idsOf = (list: readonly MixParticipant[]): string[] => list.map((p) => p.id)

  const program = idsOf(participants.filter(inProgram))
  const buses: Record<string, string[]> = {}
  const monitors: Record<string, string[]> = {}
  for (const owner of participants) {
    const others = participants.filter((p) => p.id !== owner.id)
    if (owner.kind === 'host') {
      monitors[owner.id] = idsOf(others.filter((p) => inProgram(p) || (inPrivateTalk(p) && !p.muted)))
    } else if (inPrivateTalk(owner)) {
      buses[owner.id] = idsOf(others.filter((p) => p.kind === 'host' && !p.muted))
    } else {
      buses[owner.id] = owner.onAir || offAirHearsProgram ? idsOf(others.filter(inProgram)) : []
    }
  }
  return { program, buses, monitors }
}
