// The diagnostics the web app exposes on `window`, for code that runs in its pages.
/// <reference path="../../browser/src/diagnostics.d.ts" />
