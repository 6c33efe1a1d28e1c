import { createApp } from 'vue'
import App from './App.vue'
import { NETWORK } from './composables/network.ts'
import { router } from './router.ts'
import { NetworkService } from './services/network.ts'
import './styles.css'

const network = new NetworkService()
createApp(App).provide(NETWORK, network).use(router).mount('#app')
window.addEventListener('pagehide', () => { void network.stop() })
