import { createRouter, createWebHistory } from 'vue-router'
import DirectoryPage from './pages/DirectoryPage.vue'

export const router = createRouter({
  history: createWebHistory(),
  routes: [
    { path: '/', name: 'directory', component: DirectoryPage, meta: { title: 'Directory' } },
    { path: '/s/:stationId', name: 'station', component: async () => import('./pages/StationPage.vue'), props: true, meta: { title: 'Station' } },
    { path: '/s/:stationId/call', name: 'call', component: async () => import('./pages/CallPage.vue'), props: true, meta: { title: 'Call' } },
    { path: '/studio', name: 'studio', component: async () => import('./pages/StudioPage.vue'), meta: { title: 'Studio' } },
    { path: '/station', name: 'my-station', component: async () => import('./pages/MyStationPage.vue'), meta: { title: 'My station' } },
    { path: '/settings', name: 'settings', component: async () => import('./pages/SettingsPage.vue'), meta: { title: 'Settings' } },
    { path: '/:rest(.*)*', name: 'not-found', component: async () => import('./pages/NotFoundPage.vue'), meta: { title: 'Not found' } }
  ]
})

router.afterEach((to) => {
  document.title = `${String(to.meta.title ?? '')} · OpenStudio`
})
