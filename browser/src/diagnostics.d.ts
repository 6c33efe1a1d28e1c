import type { multiaddr } from '@multiformats/multiaddr'
import type { CallerSession } from './services/call/caller.ts'
import type { DoubleEnder } from './services/call/double-ender.ts'
import type { NetworkService } from './services/network.ts'
import type { StudioService } from './services/studio/studio.ts'

declare global {
  interface Window {
    /** Read-only diagnostics (support, tests, benchmarks): the page's network service and live audio nodes. */
    openstudioDiagnostics?: {
      playerAnalyser?: AnalyserNode
      /** The studio running in this page. */
      studio?: StudioService
      /** The program as the studio mixes it. */
      programAnalyser?: AnalyserNode
      /** What the producer hears in their headphones: everyone but the host, and talkback to them. */
      monitorAnalyser?: AnalyserNode
      /** The call running in this page. */
      caller?: CallerSession
      /** The caller's own recording of its microphone (the double-ender), once it started. */
      doubleEnder?: DoubleEnder
      /** What the caller hears: the studio's mix-minus. */
      returnAnalyser?: AnalyserNode
      /** The page's network service, once a page loaded it (libp2p loads on first need: services/network-loader.ts). */
      network?: NetworkService
      multiaddr?: typeof multiaddr
    }
  }
}
