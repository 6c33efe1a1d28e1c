/**
 * What a service has started, to be undone newest first. `Relay.create` adds
 * a step right after each part it starts; a failed create runs the steps at
 * once (so it leaves no timer, socket or handler behind), and `Relay.stop`
 * runs the same steps on a running relay.
 */
import { logger } from '@libp2p/logger'

const log = logger('openstudio:relay:teardown')

/** A step that failed, named for the part it stopped. */
export interface TeardownFailure {
  step: string
  error: Error
}

export class Teardown {
  private readonly steps: Array<{ name: string, undo: () => void | Promise<void> }> = []
  private running?: Promise<TeardownFailure[]>

  /** Adds the undo of a part just started. */
  add (name: string, undo: () => void | Promise<void>): void {
    this.steps.push({ name, undo })
  }

  /**
   * Runs every step, newest first, each once: a step that fails is logged and
   * the rest still run. Later calls wait for the first run. Never rejects.
   * @returns the steps that failed, in the order they ran
   */
  async run (): Promise<TeardownFailure[]> {
    this.running ??= this.runSteps()
    return this.running
  }

  private async runSteps (): Promise<TeardownFailure[]> {
    const failures: TeardownFailure[] = []
    for (const { name, undo } of this.steps.splice(0).reverse()) {
      try {
        await undo()
      } catch (err) {
        const error = err instanceof Error ? err : new Error(String(err))
        log.error('stopping %s failed: %s', name, error.message)
        failures.push({ step: name, error })
      }
    }
    return failures
  }
}
