// The diagnostics the web app exposes on `window`, for code that runs in its pages.
import type {} from '../../browser/src/diagnostics.d.ts'
