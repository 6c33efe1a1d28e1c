/**
 * The page's libp2p network service: what NetworkLoader (main.ts) imports on
 * first need. Everything libp2p is reached from here, so it sits in chunks
 * that the directory and station pages never load.
 */
import { multiaddr } from '@multiformats/multiaddr'
import { NetworkService } from './network.ts'

/** This tab's network service, not started. */
export function createPageNetwork (): NetworkService {
  const network = new NetworkService()
  // Read-only diagnostics for tests and benchmarks: dev mode and test builds only (browser/vite.config.ts).
  if (__OPENSTUDIO_DIAGNOSTICS__) window.openstudioDiagnostics = { ...window.openstudioDiagnostics, network, multiaddr }
  return network
}
