/**
 * Signals for services that own a shutdown AbortController: one signal for
 * "this service stopped or this caller gave up", and a wait on shared work
 * that a caller's own signal abandons without cancelling the work.
 */

export interface AbortOptions { signal?: AbortSignal }

/** `shutdown`, and `signal` too when given. */
export function eitherSignal (shutdown: AbortSignal, signal?: AbortSignal): AbortSignal {
  return signal === undefined ? shutdown : AbortSignal.any([shutdown, signal])
}

/**
 * Waits for `work`, which others may be waiting for too: `signal` ends this
 * wait only, and the work goes on.
 * @throws the signal's reason when it aborts first, or what `work` rejects with
 */
export async function abandonable<T> (work: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (signal === undefined) return await work
  signal.throwIfAborted()
  return await new Promise<T>((resolve, reject) => {
    const onAbort = (): void => { reject(signal.reason) }
    signal.addEventListener('abort', onAbort, { once: true })
    work.then(resolve, reject).finally(() => { signal.removeEventListener('abort', onAbort) })
  })
}
