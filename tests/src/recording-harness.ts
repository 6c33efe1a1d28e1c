/**
 * Page side of the recording benchmark and the Opus track test: the studio
 * mixer in a live 48 kHz AudioContext with a host and callers (oscillators),
 * the program and every voice recorded by the real StudioRecorder into this
 * page's OPFS, or not; and the recorder's Opus writer and reader on known
 * signals.
 * Bundled by esbuild and loaded into an empty page (see mixer-page.ts).
 */
import { planMix, type MixParticipant } from '../../protocol/src/mixminus.ts'
import { createStudioMixer, type StudioMixer } from '../../browser/src/audio/index.ts'
import { createProgramTap } from '../../browser/src/audio/program-tap.ts'
import { StudioRecorder } from '../../browser/src/services/recording/recorder.ts'
import { decodeOggOpus, opusInStorage } from '../../browser/src/services/recording/opus-file.ts'
import { opfsRecordingStorage } from '../../browser/src/services/recording/storage.ts'
import { toPcm16, wavHeader } from '../../browser/src/services/recording/wav.ts'
import { sweep } from './sweep.ts'

let show: { context: AudioContext, mixer: StudioMixer, voices: Map<string, AudioNode> } | undefined
let recorder: StudioRecorder | undefined

/** Starts the show: a host and `callers` callers on air, each a sine. */
export async function startShow (callers: number): Promise<void> {
  const context = new AudioContext({ sampleRate: 48_000 })
  await context.resume()
  const mixer = await createStudioMixer(context)
  const ids = ['host', ...Array.from({ length: callers }, (_, i) => `caller-${i + 1}`)]
  const voices = new Map<string, AudioNode>()
  for (const [i, id] of ids.entries()) {
    const oscillator = new OscillatorNode(context, { frequency: 300 + 100 * i })
    oscillator.start()
    const voice = oscillator.connect(new GainNode(context, { gain: 0.1 }))
    voices.set(id, voice)
    mixer.addParticipant(id, voice)
  }
  const room: MixParticipant[] = ids.map((id) => ({ id, kind: id === 'host' ? 'host' : 'caller', onAir: true, muted: false }))
  mixer.apply(planMix(room))
  // The host's headphones, as in the studio (silent here: no sound server).
  mixer.busOutput('host').connect(context.destination)
  show = { context, mixer, voices }
}

/** Starts recording the program and every voice, as WAV or Opus (WAV while it runs, Opus made at the stop). */
export async function startRecording (format: 'wav' | 'opus' = 'wav'): Promise<void> {
  if (show === undefined) throw new Error('no show')
  const { context, mixer, voices } = show
  const storage = opfsRecordingStorage()
  recorder = new StudioRecorder({ storage, tap: createProgramTap, frameNow: () => Math.round(context.currentTime * context.sampleRate), sampleRate: context.sampleRate, toOpus: opusInStorage(storage, context.sampleRate) })
  await recorder.start({ show: 'Bench', format }, mixer.programOutput)
  for (const [id, node] of voices) await recorder.attach(id, id, node)
}

/** Stops recording (an Opus recording's tracks are transcoded before this resolves). @returns what it wrote, and lost */
export async function stopRecording (): Promise<{ bytes: number, lostSeconds: number, seconds: number, files: string[] }> {
  const running = recorder
  if (running === undefined) throw new Error('not recording')
  const { seconds } = running.status
  const manifest = await running.stop()
  recorder = undefined
  const { bytes, lostSeconds } = running.status
  return { bytes, lostSeconds, seconds, files: manifest?.tracks.map((t) => t.file) ?? [] }
}

/** Bytes written so far by the running recording. */
export function recordedBytes (): number {
  return recorder?.status.bytes ?? 0
}

/**
 * Writes `seconds` of a `frequency` Hz sine (amplitude 0.4) as a 16-bit WAV
 * track in OPFS, transcodes it with the recorder's Opus writer, and returns
 * the Ogg file's bytes.
 */
export async function opusOfTone (seconds: number, frequency: number, channels: 1 | 2): Promise<number[]> {
  const rate = 48_000
  const frames = seconds * rate
  return opusOf(new Float32Array(frames * channels).map((_, i) => 0.4 * Math.sin((2 * Math.PI * frequency * (i % frames)) / rate)), channels)
}

/**
 * Makes a mono Opus track of `sweep(seconds)` as the recorder does, and reads
 * the stretches asked for back through the studio's decoder (decodeOggOpus).
 * @returns the file's bytes, and the stretches
 */
export async function opusStretches (seconds: number, asked: Array<[from: number, frames: number]>): Promise<{ bytes: number[], stretches: number[][] }> {
  const bytes = await opusOf(sweep(seconds), 1)
  const file = await opfsRecordingStorage().read('opus-test', 'tone.opus')
  const stretches: number[][] = []
  for (const [from, frames] of asked) stretches.push([...await decodeOggOpus(file, from, frames)])
  return { bytes, stretches }
}

async function opusOf (planar: Float32Array, channels: 1 | 2): Promise<number[]> {
  const storage = opfsRecordingStorage()
  const rate = 48_000
  const frames = planar.length / channels
  const wav = await storage.open('opus-test', 'tone.wav')
  await wav.truncate(0)
  await wav.write(0, wavHeader({ sampleRate: rate, channels }, frames * channels * 2))
  await wav.write(44, toPcm16(planar, frames, channels))
  await wav.close()
  const shares: number[] = []
  await opusInStorage(storage, rate)('opus-test', 'tone.wav', 'tone.opus', channels, (share) => { shares.push(share) })
  if (shares.at(-1) !== 1) throw new Error(`progress ended at ${shares.at(-1)}`)
  return [...new Uint8Array(await (await storage.read('opus-test', 'tone.opus')).arrayBuffer())]
}
