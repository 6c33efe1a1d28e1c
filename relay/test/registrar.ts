/** A registrar that keeps the protocols handled, without a node. */
export function registrar (): { protocols: Set<string>, handle: (protocol: string | string[]) => Promise<void>, unhandle: (protocol: string | string[]) => Promise<void> } {
  const protocols = new Set<string>()
  const each = (protocol: string | string[]): string[] => Array.isArray(protocol) ? protocol : [protocol]
  return {
    protocols,
    handle: async (protocol) => { for (const p of each(protocol)) protocols.add(p) },
    unhandle: async (protocol) => { for (const p of each(protocol)) protocols.delete(p) }
  }
}
