import type { multiaddr } from '@multiformats/multiaddr'
import type { NetworkService } from './services/network.ts'

declare global {
  interface Window {
    /** Read-only diagnostics (support, tests, benchmarks): the page's network service and live audio nodes. */
    openstudioDiagnostics?: {
      playerAnalyser?: AnalyserNode
      network?: NetworkService
      multiaddr?: typeof multiaddr
    }
  }
}
