/**
 * A deliberate Icecast 2.4 configuration for OpenStudio (see ENVIRONMENT.md):
 * bound to one address, no root (Icecast refuses to run as root, so it drops
 * to the Debian `icecast2` user when started as root), a CORS header so the
 * web app's meter can read the stream, a chosen burst size, fallback mounts,
 * and limits.
 */

/** Bytes of old audio a new listener gets first. 0 starts at the live edge
 *  (lowest latency, but a player may stall before its buffer fills); 16 KiB is
 *  about 1 s of 128 kb/s Opus: a quick start for about one second of delay. */
export const DEFAULT_BURST_BYTES = 16 * 1024

export interface IcecastMount {
  /** Such as `/live.ogg`. */
  mount: string
  /** Where listeners go while the source is away; keeps them connected. */
  fallback?: string
}

export interface IcecastConfigInit {
  /** @default '127.0.0.1' */
  host?: string
  port: number
  sourcePassword: string
  adminPassword: string
  /** Directory for logs (writable by the Icecast user). */
  logDir: string
  /** Icecast's web root (status pages). @default '/usr/share/icecast2/web' */
  webRoot?: string
  /** @default DEFAULT_BURST_BYTES */
  burstBytes?: number
  mounts?: IcecastMount[]
  /** Value of Access-Control-Allow-Origin. @default '*' */
  corsOrigin?: string
  /** Drop privileges to this user and group (needed when started as root). */
  changeOwner?: { user: string, group: string }
  /** @default 100 */
  maxListeners?: number
  /** @default 8 */
  maxSources?: number
}

export function icecastConfig (init: IcecastConfigInit): string {
  const host = init.host ?? '127.0.0.1'
  const mounts = (init.mounts ?? []).map((m) => `
  <mount type="normal">
    <mount-name>${xml(m.mount)}</mount-name>${m.fallback === undefined ? '' : `
    <fallback-mount>${xml(m.fallback)}</fallback-mount>
    <fallback-override>1</fallback-override>`}
    <burst-size>${init.burstBytes ?? DEFAULT_BURST_BYTES}</burst-size>
  </mount>`).join('')
  return `<icecast>
  <location>OpenStudio</location>
  <admin>admin@localhost</admin>
  <limits>
    <clients>${(init.maxListeners ?? 100) + (init.maxSources ?? 8) + 4}</clients>
    <sources>${init.maxSources ?? 8}</sources>
    <queue-size>524288</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout>
    <burst-on-connect>1</burst-on-connect>
    <burst-size>${init.burstBytes ?? DEFAULT_BURST_BYTES}</burst-size>
  </limits>
  <authentication>
    <source-password>${xml(init.sourcePassword)}</source-password>
    <admin-user>admin</admin-user>
    <admin-password>${xml(init.adminPassword)}</admin-password>
  </authentication>
  <hostname>${xml(host)}</hostname>
  <listen-socket>
    <port>${init.port}</port>
    <bind-address>${xml(host)}</bind-address>
  </listen-socket>
  <http-headers>
    <header name="Access-Control-Allow-Origin" value="${xml(init.corsOrigin ?? '*')}" />
    <header name="Access-Control-Allow-Headers" value="Range, Icy-MetaData" />
  </http-headers>${mounts}
  <fileserve>1</fileserve>
  <paths>
    <basedir>/usr/share/icecast2</basedir>
    <logdir>${xml(init.logDir)}</logdir>
    <webroot>${xml(init.webRoot ?? '/usr/share/icecast2/web')}</webroot>
    <adminroot>/usr/share/icecast2/admin</adminroot>
    <alias source="/" destination="/status.xsl"/>
  </paths>
  <logging>
    <accesslog>access.log</accesslog>
    <errorlog>error.log</errorlog>
    <loglevel>2</loglevel>
    <logsize>10000</logsize>
  </logging>
  <security>
    <chroot>0</chroot>${init.changeOwner === undefined ? '' : `
    <changeowner>
      <user>${xml(init.changeOwner.user)}</user>
      <group>${xml(init.changeOwner.group)}</group>
    </changeowner>`}
  </security>
</icecast>
`
}

function xml (value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
