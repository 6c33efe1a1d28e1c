import { multiaddr } from '@multiformats/multiaddr'
import { createApp } from 'vue'
import App from './App.vue'
import { NETWORK } from './composables/network.ts'
import { router } from './router.ts'
import { NetworkService } from './services/network.ts'
import './styles.css'

const network = new NetworkService()
// Read-only diagnostics for tests and benchmarks: dev mode and test builds only (browser/vite.config.ts).
if (__OPENSTUDIO_DIAGNOSTICS__) window.openstudioDiagnostics = { ...window.openstudioDiagnostics, network, multiaddr }
createApp(App).provide(NETWORK, network).use(router).mount('#app')
window.addEventListener('pagehide', () => { void network.stop() })
