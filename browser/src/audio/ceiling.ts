/**
 * The program's safety ceiling after the limiter: a WaveShaperNode that is
 * the identity up to a knee just under full scale and bends smoothly into
 * the curve's end (just under 0 dBFS) above it. The limiter does the work;
 * the ceiling only catches its overshoots (it is not a brick wall: extreme
 * inputs poke through by a fraction of a dB), so the program never leaves
 * the graph above 0 dBFS.
 */

/** Points in the shaping curve: odd, so that 0 maps to 0 exactly. */
const CURVE_POINTS = 8193

/** The transfer curve over inputs -1…1: identity to `knee` (linear, 0…1), then a tanh bend. */
export function ceilingCurve (knee: number, points = CURVE_POINTS): Float32Array<ArrayBuffer> {
  const curve = new Float32Array(points)
  const headroom = 1 - knee
  for (let i = 0; i < points; i++) {
    const x = (2 * i) / (points - 1) - 1
    const a = Math.abs(x)
    const y = a <= knee ? a : knee + headroom * Math.tanh((a - knee) / headroom)
    curve[i] = Math.sign(x) * y
  }
  return curve
}

/** A ceiling node with its knee at `kneeDb` dBFS. */
export function createCeiling (context: BaseAudioContext, kneeDb: number): WaveShaperNode {
  return new WaveShaperNode(context, { curve: ceilingCurve(10 ** (kneeDb / 20)), oversample: 'none' })
}
