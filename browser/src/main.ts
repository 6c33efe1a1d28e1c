import { createApp } from 'vue'
import App from './App.vue'
import { NETWORK } from './composables/network.ts'
import { router } from './router.ts'
import { NetworkLoader } from './services/network-loader.ts'
import './styles.css'

// libp2p loads only when a page needs it (the studio, my station, a call, a dial): browsing and listening go over HTTP.
const network = new NetworkLoader(async () => (await import('./services/libp2p-network.ts')).createPageNetwork())
createApp(App).provide(NETWORK, network).use(router).mount('#app')
window.addEventListener('pagehide', () => { void network.stop() })
