/**
 * Set by browser/vite.config.ts at build time: true in dev mode (`vite`) and
 * in test builds (`vite build --mode test`), false in the production build.
 * Code under `if (__OPENSTUDIO_DIAGNOSTICS__)` is left out of production.
 */
declare const __OPENSTUDIO_DIAGNOSTICS__: boolean
