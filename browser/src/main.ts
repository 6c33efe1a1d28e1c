import { multiaddr } from '@multiformats/multiaddr'
import { createApp } from 'vue'
import App from './App.vue'
import { NETWORK } from './composables/network.ts'
import { router } from './router.ts'
import { NetworkService } from './services/network.ts'
import './styles.css'

const network = new NetworkService()
// Read-only diagnostics for support, tests and benchmarks.
window.openstudioDiagnostics = { ...window.openstudioDiagnostics, network, multiaddr }
createApp(App).provide(NETWORK, network).use(router).mount('#app')
window.addEventListener('pagehide', () => { void network.stop() })
