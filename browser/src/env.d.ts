declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

// hls.js's light build (no subtitles, alternate audio or DRM) has no types of its own in its exports: it is the same API.
declare module 'hls.js/light' {
  export { default } from 'hls.js'
}
