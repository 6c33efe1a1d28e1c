import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    projects: [
      {
        // Browser services read the build's flags (browser/vite.config.ts): unit tests run them as a test build.
        define: { __OPENSTUDIO_DIAGNOSTICS__: 'true' },
        test: {
          name: 'unit',
          // Groups run one after another: real-media tests need the CPU to themselves.
          sequence: { groupOrder: 0 },
          include: ['{protocol,network,node,relay,browser}/test/**/*.test.ts', 'tests/lint/**/*.test.ts', 'tests/src/**/*.test.ts'],
          setupFiles: ['tests/src/setup-node.ts'],
          testTimeout: 20_000
        }
      },
      {
        test: {
          name: 'integration',
          sequence: { groupOrder: 1 },
          include: ['tests/integration/**/*.test.ts', 'tests/adversarial/**/*.test.ts'],
          setupFiles: ['tests/src/setup-node.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false
        }
      },
      {
        test: {
          name: 'e2e',
          sequence: { groupOrder: 2 },
          include: ['tests/e2e/**/*.test.ts'],
          setupFiles: ['tests/src/setup-node.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false
        }
      }
    ]
  }
})
