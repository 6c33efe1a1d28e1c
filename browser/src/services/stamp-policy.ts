/**
 * The stamp policy of a page that verifies records without a libp2p node:
 * before the first record is verified, the page asks the relay that served it
 * how much proof of work the network requires (`/api/bootstrap`), and applies
 * it (applyStampPolicy). The network service does the same when it starts
 * (loadNetworkConfig).
 */
import { abandonable, type AbortOptions } from './abort.ts'
import { applyStampPolicy, fetchBootstrap } from './config.ts'

/** How long the page waits for `/api/bootstrap` before it goes on with the build's floor. */
export const STAMP_POLICY_TIMEOUT_MS = 5_000

let loaded: Promise<void> | undefined

/**
 * Applies the relay's stamp policy, once per page. When the relay does not
 * answer, the build's floor applies, and the next call asks again. Never
 * rejects, except with the reason of `signal` when it aborts.
 */
export async function loadStampPolicy (options: AbortOptions = {}): Promise<void> {
  options.signal?.throwIfAborted()
  loaded ??= fetchBootstrap(AbortSignal.timeout(STAMP_POLICY_TIMEOUT_MS)).then(applyStampPolicy, () => {
    applyStampPolicy()
    loaded = undefined
  })
  await abandonable(loaded, options.signal)
}
