import { createRouter, createWebHistory } from 'vue-router'
import DirectoryPage from './pages/DirectoryPage.vue'

declare module 'vue-router' {
  interface RouteMeta {
    title?: string
    /** The page needs the libp2p network: the app loads and starts it while the page shows. */
    network?: boolean
  }
}

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    // The directory and station pages read relays over HTTP: no libp2p until a dial.
    { path: '/', name: 'directory', component: DirectoryPage, meta: { title: 'Directory' } },
    { path: '/s/:stationId', name: 'station', component: async () => import('./pages/StationPage.vue'), props: true, meta: { title: 'Station' } },
    { path: '/s/:stationId/call', name: 'call', component: async () => import('./pages/CallPage.vue'), props: true, meta: { title: 'Call', network: true } },
    { path: '/studio', name: 'studio', component: async () => import('./pages/StudioPage.vue'), meta: { title: 'Studio', network: true } },
    { path: '/station', name: 'my-station', component: async () => import('./pages/MyStationPage.vue'), meta: { title: 'My station', network: true } },
    { path: '/settings', name: 'settings', component: async () => import('./pages/SettingsPage.vue'), meta: { title: 'Settings', network: true } },
    { path: '/:rest(.*)*', name: 'not-found', component: async () => import('./pages/NotFoundPage.vue'), meta: { title: 'Not found' } }
  ]
})

router.afterEach((to) => {
  document.title = `${to.meta.title ?? ''} · OpenStudio`
})
