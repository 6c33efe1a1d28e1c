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
 *   the unmuted hosts;
 * - a talkback source is in no program and no bus but its target's, where
 *   everything else is ducked (see MixPlan.talkback);
 * - carts (played audio files) own no bus, and are heard wherever the program's
 *   sources are.
 */

export interface MixParticipant {
  id: string
  /** Hosts mix into the program and monitor locally; callers get a return bus; carts only play into the program. */
  kind: 'host' | 'caller' | 'cart'
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
  /**
   * Talkback heard on each bus or monitor (keyed by its owner): these
   * sources are at full level there, and everything else on that bus is
   * ducked under them. Owners without talkback are absent.
   */
  talkback: Record<string, string[]>
}

/** Push-to-talk from one participant to another's ears only. */
export interface Talkback {
  /** Who talks: a host, or a caller (a co-host talking to the producer). */
  from: string
  /** Who hears it: a caller's return or a host's monitor. */
  to: string
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
  /**
   * Push-to-talk in progress (IFB). `from` leaves the program and every
   * bus but `to`'s, even when muted in the room (talkback is its own
   * switch); `to` hears it over its usual mix, which the mixer ducks.
   * Talkback from or to a cart, to oneself, or with an unknown id is ignored.
   * @default []
   */
  talkback?: readonly Talkback[]
}

/** Plans the program bus, every caller's mix-minus bus and every host's monitor. */
export function planMix (participants: readonly MixParticipant[], init: MixPlanInit = {}): MixPlan {
  const offAirHearsProgram = init.offAirHearsProgram ?? true
  const talking = new Set(init.privateTalk ?? [])
  const byId = new Map(participants.map((p) => [p.id, p]))
  const talkback = (init.talkback ?? []).filter(({ from, to }) => from !== to && byId.get(from)?.kind !== 'cart' && byId.get(to)?.kind !== 'cart' && byId.has(from) && byId.has(to))
  const talkingBack = new Set(talkback.map((t) => t.from))
  const inPrivateTalk = (p: MixParticipant): boolean => p.kind === 'caller' && !p.onAir && talking.has(p.id)
  const inProgram = (p: MixParticipant): boolean => p.onAir && !p.muted && !talkingBack.has(p.id)
  const idsOf = (list: readonly MixParticipant[]): string[] => list.map((p) => p.id)

  const program = idsOf(participants.filter(inProgram))
  const buses: Record<string, string[]> = {}
  const monitors: Record<string, string[]> = {}
  const heard: Record<string, string[]> = {}
  for (const owner of participants) {
    if (owner.kind === 'cart') continue
    const others = participants.filter((p) => p.id !== owner.id && !talkingBack.has(p.id))
    const talkbackHere = talkback.filter((t) => t.to === owner.id).map((t) => t.from)
    let sources: string[]
    if (owner.kind === 'host') {
      sources = idsOf(others.filter((p) => inProgram(p) || (inPrivateTalk(p) && !p.muted)))
    } else if (inPrivateTalk(owner)) {
      sources = idsOf(others.filter((p) => p.kind === 'host' && !p.muted))
    } else {
      sources = owner.onAir || offAirHearsProgram ? idsOf(others.filter(inProgram)) : []
    }
    // In participant order, like every other list of the plan.
    if (talkbackHere.length > 0) {
      sources = idsOf(participants.filter((p) => sources.includes(p.id) || talkbackHere.includes(p.id)))
      heard[owner.id] = idsOf(participants.filter((p) => talkbackHere.includes(p.id)))
    }
    if (owner.kind === 'host') monitors[owner.id] = sources
    else buses[owner.id] = sources
  }
  return { program, buses, monitors, talkback: heard }
}
