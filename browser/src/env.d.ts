declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

interface Window {
  /** Read-only diagnostics (tests, support): live audio nodes of the page. */
  openstudioDiagnostics?: { playerAnalyser?: AnalyserNode }
}
