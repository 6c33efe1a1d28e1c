/**
 * A small internet in network namespaces, for the NAT lab test. A public
 * segment (a bridge, 203.0.113.0/24, TEST-NET-3) holds the relays and coturn.
 * Each site is a LAN (10.1x.0.0/24) behind a router namespace whose nftables
 * rules make its NAT:
 *
 * - `eim`: endpoint-independent mapping (Linux masquerade keeps the source
 *   port), filtering by address and port, as most home routers do;
 * - `symmetric`: address-and-port-dependent mapping (`masquerade random`: a
 *   new public port for every destination), which defeats hole punching;
 * - `tcp443`: EIM, and nothing leaves but TCP to port 443 (no UDP at all),
 *   as on many corporate and hotel networks.
 *
 * Traffic stays on the addresses this module creates, in namespaces it
 * deletes on `stop`. It needs root (`ip netns`) and nftables.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { chmod, mkdir, rm, rmdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

export type NatKind = 'eim' | 'symmetric' | 'tcp443'

/** Addresses on the public segment. */
export const PUBLIC = {
  relay1: '203.0.113.10',
  /** relay1's HTTP server (the app, on port 443: only 443 leaves the tcp443 site). */
  app: '203.0.113.11',
  relay2: '203.0.113.12',
  coturn: '203.0.113.20'
} as const

export interface NatSite {
  name: string
  kind: NatKind
  /** The LAN namespace, where a browser of this site runs. */
  ns: string
  /** The router's public address. */
  publicIp: string
}

export interface NatLab {
  /** The public segment's namespace. */
  publicNs: string
  sites: Record<string, NatSite>
  /** Runs `command` in namespace `ns`, killed on `stop`. */
  spawnIn: (ns: string, command: string, args: string[], options?: { env?: NodeJS.ProcessEnv }) => ChildProcess
  /** A wrapper script that runs Debian's Chromium in `ns` (for playwright's `executablePath`). */
  chromiumIn: (ns: string) => Promise<string>
  stop: () => Promise<void>
}

/** Why the lab cannot run here, or undefined when it can. */
export async function natLabMissing (): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'network namespaces need root'
  const probe = `osprobe${process.pid}`
  try {
    await run('ip', ['netns', 'add', probe])
    await run('ip', ['netns', 'del', probe])
  } catch (err) {
    return `network namespaces are not permitted here: ${(err as Error).message.split('\n')[0]}`
  }
  if (!await run('nft', ['--version']).then(() => true, () => false)) return 'nftables is not installed: apt-get install nftables'
  return undefined
}

/** Builds the public segment and one site per entry of `kinds` (site name → NAT kind). */
export async function startNatLab (dir: string, kinds: Record<string, NatKind>): Promise<NatLab> {
  const tag = (process.pid % 10_000).toString(36) + Math.floor(Math.random() * 1296).toString(36)
  const publicNs = `os${tag}pub`
  const namespaces: string[] = []
  const processes: ChildProcess[] = []
  const ip = async (...args: string[]): Promise<void> => { await run('ip', args) }
  const inNs = async (ns: string, command: string, ...args: string[]): Promise<void> => { await run('ip', ['netns', 'exec', ns, command, ...args]) }
  const stop = async (): Promise<void> => {
    for (const p of processes) p.kill('SIGKILL')
    await Promise.all(processes.map(async (p) => p.exitCode !== null || p.signalCode !== null ? undefined : new Promise((resolve) => p.once('exit', resolve))))
    // Deleting a namespace removes its interfaces, and with them the veth peers.
    for (const ns of namespaces.reverse()) {
      await ip('netns', 'del', ns).catch(() => {})
      await rm(join('/etc/netns', ns), { recursive: true, force: true })
    }
    await rmdir('/etc/netns').catch(() => { /* not empty: another lab's, or the machine's own */ })
  }
  try {
    await ip('netns', 'add', publicNs)
    namespaces.push(publicNs)
    await inNs(publicNs, 'ip', 'link', 'set', 'lo', 'up')
    await inNs(publicNs, 'ip', 'link', 'add', 'br0', 'type', 'bridge')
    await inNs(publicNs, 'ip', 'link', 'set', 'br0', 'up')
    for (const addr of ['203.0.113.1', ...Object.values(PUBLIC)]) await inNs(publicNs, 'ip', 'addr', 'add', `${addr}/24`, 'dev', 'br0')
    // Packets to addresses outside the lab (a peer's private host candidate, say) must vanish
    // upstream, as on the internet. Without a default route, sending them fails with
    // ENETUNREACH, and coturn closes the whole allocation of the peer that sent them.
    // The rest of the internet is a namespace that does not forward: what it is sent, it drops.
    const upstream = `os${tag}up`
    await ip('netns', 'add', upstream)
    namespaces.push(upstream)
    await ip('link', 'add', `os${tag}i0`, 'type', 'veth', 'peer', 'name', `os${tag}i1`)
    await ip('link', 'set', `os${tag}i0`, 'netns', publicNs, 'name', 'upstream')
    await ip('link', 'set', `os${tag}i1`, 'netns', upstream, 'name', 'eth0')
    for (const [ns, dev, addr] of [[publicNs, 'upstream', '198.18.0.1/30'], [upstream, 'eth0', '198.18.0.2/30']] as const) {
      await inNs(ns, 'ip', 'addr', 'add', addr, 'dev', dev)
      await inNs(ns, 'ip', 'link', 'set', dev, 'up')
    }
    await inNs(publicNs, 'ip', 'route', 'add', 'default', 'via', '198.18.0.2')

    const sites: Record<string, NatSite> = {}
    let i = 0
    for (const [name, kind] of Object.entries(kinds)) {
      i++
      const router = `os${tag}r${i}`
      const lan = `os${tag}l${i}`
      await ip('netns', 'add', router)
      namespaces.push(router)
      await ip('netns', 'add', lan)
      namespaces.push(lan)
      const publicIp = `203.0.113.${100 + i}`
      const lanNet = `10.${10 + i}.0`
      // router.wan ↔ the public bridge; router.lan ↔ the site's LAN.
      await ip('link', 'add', `os${tag}w${i}`, 'type', 'veth', 'peer', 'name', `os${tag}u${i}`)
      await ip('link', 'set', `os${tag}w${i}`, 'netns', router, 'name', 'wan')
      await ip('link', 'set', `os${tag}u${i}`, 'netns', publicNs)
      await inNs(publicNs, 'ip', 'link', 'set', `os${tag}u${i}`, 'master', 'br0', 'up')
      await ip('link', 'add', `os${tag}n${i}`, 'type', 'veth', 'peer', 'name', `os${tag}e${i}`)
      await ip('link', 'set', `os${tag}n${i}`, 'netns', router, 'name', 'lan')
      await ip('link', 'set', `os${tag}e${i}`, 'netns', lan, 'name', 'eth0')
      for (const [ns, dev, addr] of [[router, 'wan', `${publicIp}/24`], [router, 'lan', `${lanNet}.1/24`], [lan, 'eth0', `${lanNet}.2/24`]] as const) {
        await inNs(ns, 'ip', 'addr', 'add', addr, 'dev', dev)
        await inNs(ns, 'ip', 'link', 'set', dev, 'up')
      }
      await inNs(router, 'ip', 'link', 'set', 'lo', 'up')
      await inNs(lan, 'ip', 'link', 'set', 'lo', 'up')
      await inNs(lan, 'ip', 'route', 'add', 'default', 'via', `${lanNet}.1`)
      // The lab has no DNS. `ip netns exec` mounts this over /etc/resolv.conf, so that a lookup
      // fails at once instead of waiting out the host's resolver, which the lab cannot reach.
      await mkdir(join('/etc/netns', lan), { recursive: true })
      await writeFile(join('/etc/netns', lan, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n')
      await inNs(router, 'ip', 'route', 'add', 'default', 'via', '203.0.113.1')
      await inNs(router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1')
      await writeFile(join(dir, `${router}.nft`), natRules(kind))
      await inNs(router, 'nft', '-f', join(dir, `${router}.nft`))
      sites[name] = { name, kind, ns: lan, publicIp }
    }

    return {
      publicNs,
      sites,
      spawnIn: (ns, command, args, options = {}) => {
        const child = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env })
        processes.push(child)
        return child
      },
      chromiumIn: async (ns) => {
        const wrapper = join(dir, `chromium-${ns}`)
        await writeFile(wrapper, `#!/bin/sh\nexec ip netns exec ${ns} /usr/bin/chromium "$@"\n`)
        await chmod(wrapper, 0o755)
        return wrapper
      },
      stop
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/**
 * The router's nftables rules for a NAT of `kind`.
 *
 * Unsolicited packets to the router itself are dropped in `input`, before
 * conntrack confirms them. Otherwise a peer's hole-punching check that arrives
 * before this site has sent to that peer leaves a conntrack entry for the
 * router's public port, and masquerade must then give the site's own first
 * packet to the peer another port: the mapping would stop being endpoint
 * independent exactly when hole punching needs it to be. A home router's NAT
 * does not behave like that.
 */
function natRules (kind: NatKind): string {
  const masquerade = kind === 'symmetric' ? 'masquerade random' : 'masquerade'
  const onlyTcp443 = kind !== 'tcp443'
    ? ''
    : `
  chain forward {
    type filter hook forward priority filter; policy accept;
    ct state established,related accept
    iifname "lan" meta l4proto udp drop
    iifname "lan" tcp dport != 443 drop
  }`
  return `table ip lab_nat {
  chain postrouting {
    type nat hook postrouting priority srcnat; policy accept;
    oifname "wan" ${masquerade}
  }
}
table inet lab_filter {
  chain input {
    type filter hook input priority filter; policy accept;
    iifname "wan" ct state new drop
  }${onlyTcp443}
}
`
}
