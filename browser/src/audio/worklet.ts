/**
 * Loading AudioWorklet processors that ship as source text: each module is
 * added once per context, from a blob URL (no file for the bundler to place).
 */

const loaded = new WeakMap<BaseAudioContext, Map<string, Promise<void>>>()

/** Adds the module `source`, which registers processor `name`, to `context` once. */
export async function loadProcessor (context: BaseAudioContext, name: string, source: string): Promise<void> {
  let modules = loaded.get(context)
  if (modules === undefined) {
    modules = new Map()
    loaded.set(context, modules)
  }
  let loading = modules.get(name)
  if (loading === undefined) {
    const url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }))
    loading = context.audioWorklet.addModule(url).finally(() => { URL.revokeObjectURL(url) })
    modules.set(name, loading)
  }
  await loading
}
