import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vite'

/**
 * `vite build` makes the production app in dist/ (what `npm start` and the
 * relay image serve). `vite build --mode test` makes the app the end-to-end
 * tests and benchmarks serve, in test-results/app/ (tests/src/web.ts), with
 * `window.openstudioDiagnostics`: the page's services and audio nodes, for
 * tests to read and drive. Dev mode (`vite`) has them too; production has not.
 *
 * The directory and station pages load no libp2p: it comes in a dynamic
 * import when a page needs it (services/network-loader.ts). Chunks that
 * hold libp2p are named `libp2p-*.js`, so a person reading the network
 * panel sees when one is loaded.
 */
export default defineConfig(({ command, mode }) => ({
  root: import.meta.dirname,
  plugins: [vue()],
  define: {
    __OPENSTUDIO_DIAGNOSTICS__: JSON.stringify(command === 'serve' || mode === 'test')
  },
  build: {
    target: 'es2022',
    outDir: mode === 'test' ? '../test-results/app' : 'dist',
    emptyOutDir: true,
    reportCompressedSize: true,
    chunkSizeWarningLimit: 1200,
    rolldownOptions: {
      output: {
        chunkFileNames: (chunk) => chunk.moduleIds.some((id) => /[\\/]node_modules[\\/](libp2p|@libp2p)[\\/]/.test(id))
          ? 'assets/libp2p-[name]-[hash].js'
          : 'assets/[name]-[hash].js'
      }
    }
  }
}))
