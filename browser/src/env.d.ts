declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

interface Window {
  /** Read-only diagnostics (support, tests, benchmarks): the page's network service and live audio nodes. */
  openstudioDiagnostics?: {
    playerAnalyser?: AnalyserNode
    network?: import('./services/network.ts').NetworkService
    multiaddr?: typeof import('@multiformats/multiaddr').multiaddr
  }
}
