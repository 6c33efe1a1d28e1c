// One lint config for the whole repository. It enforces the architecture's
// boundaries (docs/architecture.md): protocol/ is pure, browser/ never reaches into the
// Node side, and node/ and relay/ never reach into browser/.
import { builtinModules } from 'node:module'
import js from '@eslint/js'
import globals from 'globals'
import tseslint from 'typescript-eslint'
import pluginVue from 'eslint-plugin-vue'

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)]

const noBrowser = {
  group: ['@openstudio/browser', '@openstudio/browser/*', '**/browser/**'],
  message: 'node/, relay/ and network/ must not import browser/ code.'
}
const noNodeSide = {
  group: ['@openstudio/node', '@openstudio/node/*', '@openstudio/relay', '@openstudio/relay/*', '**/node/src/**', '**/relay/src/**', '../node/**', '../relay/**'],
  message: 'browser/ and protocol/ must not import node/ or relay/ code.'
}

/** Globals that belong to a platform, not to ECMAScript: banned in protocol/. */
const platformGlobals = [
  'window', 'document', 'navigator', 'location', 'localStorage', 'sessionStorage', 'indexedDB',
  'fetch', 'WebSocket', 'XMLHttpRequest', 'RTCPeerConnection', 'AudioContext', 'crypto',
  'process', 'Buffer', 'require', 'global', '__dirname', '__filename',
  'setTimeout', 'setInterval', 'clearTimeout', 'clearInterval', 'queueMicrotask', 'performance', 'console'
].map((name) => ({ name, message: 'protocol/ is pure: take time, randomness and I/O as parameters.' }))

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '.openstudio/**', 'test-results/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  ...pluginVue.configs['flat/recommended'].map((c) => ({ ...c, files: ['browser/**/*.vue'] })),
  {
    files: ['browser/**/*.vue'],
    languageOptions: { parserOptions: { parser: tseslint.parser, extraFileExtensions: ['.vue'] } },
    rules: {
      'vue/max-attributes-per-line': 'off',
      'vue/singleline-html-element-content-newline': 'off',
      'vue/multiline-html-element-content-newline': 'off',
      'vue/html-self-closing': 'off'
    }
  },
  {
    languageOptions: { globals: { ...globals.node } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-console': 'error',
      'no-empty': ['error', { allowEmptyCatch: false }]
    }
  },
  {
    files: ['protocol/**/*.ts'],
    languageOptions: { globals: {} },
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeBuiltins.map((name) => ({ name, message: 'protocol/ is pure: no Node built-ins.' })),
        patterns: [
          noNodeSide,
          { group: ['@openstudio/browser', '@openstudio/browser/*', '**/browser/**'], message: 'protocol/ must not import browser/ code.' },
          { group: ['libp2p', 'libp2p/*', '@libp2p/*', '@chainsafe/*'], message: 'protocol/ is pure: no libp2p node, transport or service.' },
          { group: ['vue', 'vue/*', '@vue/*', 'vue-router', '@vueuse/*'], message: 'protocol/ is pure: no Vue.' }
        ]
      }],
      'no-restricted-globals': ['error', ...platformGlobals]
    }
  },
  {
    // network/ runs in Node and in browsers: neither platform's own modules or globals.
    files: ['network/**/*.ts'],
    languageOptions: { globals: { ...globals['shared-node-browser'] } },
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeBuiltins.map((name) => ({ name, message: 'network/ runs in browsers too: no Node built-ins.' })),
        patterns: [noNodeSide, noBrowser, { group: ['vue', 'vue/*', '@vue/*'], message: 'network/ has no UI.' }]
      }],
      'no-restricted-globals': ['error', ...['window', 'document', 'navigator', 'localStorage', 'indexedDB', 'process', 'Buffer', 'require', '__dirname']
        .map((name) => ({ name, message: 'network/ is platform-neutral: inject platform parts.' }))]
    }
  },
  {
    files: ['browser/**/*.ts', 'browser/**/*.vue'],
    languageOptions: { globals: { ...globals.browser } },
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeBuiltins.map((name) => ({ name, message: 'browser/ runs in a browser: no Node built-ins.' })),
        patterns: [noNodeSide]
      }]
    }
  },
  {
    // The audio engine is plain Web Audio: no network, no Vue.
    files: ['browser/src/audio/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', {
        paths: nodeBuiltins.map((name) => ({ name, message: 'browser/ runs in a browser: no Node built-ins.' })),
        patterns: [noNodeSide, { group: ['vue', '@libp2p/*', 'libp2p', '@openstudio/network'], message: 'browser/src/audio is the Web Audio engine only: no Vue, no network.' }]
      }]
    }
  },
  {
    files: ['node/**/*.ts', 'relay/**/*.ts'],
    rules: { 'no-restricted-imports': ['error', { patterns: [noBrowser] }] }
  },
  {
    files: ['node/src/cli/**/*.ts', 'tests/**/*.ts', 'scripts/**/*.ts'],
    rules: { 'no-console': 'off' }
  }
)
