/** A studio on air through a fixture's relay, for the program benchmarks. */
import type { Page } from 'playwright-core'
import type { ProgramInit } from '@openstudio/relay'
import { goLive, openStudio, startStudioFixture, type StudioFixture } from '../src/studio-fixture.ts'

export const BENCH_PASSWORD = 'program-bench'
export const BENCH_BITRATE = 96

/**
 * A studio on air through a relay feeding `program.icecastUrl`, with a
 * `toneHz` microphone (0: silence), while `measure` runs; `prepare` sees the
 * page before the app loads.
 */
export async function onAir<T> (
  program: Omit<ProgramInit, 'stations' | 'icecastPassword'>, toneHz: number,
  measure: (page: Page, fixture: StudioFixture) => Promise<T>, init: { prepare?: (page: Page) => Promise<void>, httpPort?: number } = {}
): Promise<T> {
  const fixture = await startStudioFixture({
    dirPrefix: 'openstudio-bench-program-studio-',
    httpPort: init.httpPort,
    program: { ...program, stations: ['*'], icecastPassword: BENCH_PASSWORD }
  })
  try {
    const page = await fixture.openPage(await fixture.launch(toneHz))
    await init.prepare?.(page)
    await openStudio(page, fixture.origin, { passphrase: 'benchmark passphrase', name: 'Bench On Air' })
    await goLive(page, BENCH_BITRATE)
    return await measure(page, fixture)
  } finally {
    await fixture.stop()
  }
}
