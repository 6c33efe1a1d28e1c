/**
 * A deliberate Icecast 2.4 configuration for OpenStudio (see docs/icecast.md):
 * bound to one address, no root (Icecast refuses to run as root, so it drops
 * to the Debian `icecast2` user when started as root), a CORS header so the
 * web app's meter can read the stream, a chosen burst size, fallback mounts,
 * and limits. `docker/icecast.xml` is the same template for a container.
 */
import { FALLBACK_SOURCE_DEFAULTS } from './constants.ts'
import { MP3_DEFAULTS } from '../ffmpeg/constants.ts'

/**
 * Bytes of recent audio a new listener gets at once: 64 KiB.
 *
 * The cost is latency: a new listener starts this much audio behind live, and
 * stays there. At 96 kb/s that is about 5 s, at 64 kb/s about 8 s (somewhat
 * less when the studio sends one Ogg page per 10 ms packet: the page headers
 * count too). In exchange, a player fills its buffer at once and never stalls
 * at the start, and a listener who reconnects after an Icecast restart gets
 * the audio the relay replayed from its ring buffer, instead of a gap. Set 0
 * for listeners at the live edge, who may stall before their buffer fills.
 */
export const DEFAULT_BURST_BYTES = 64 * 1024

export interface IcecastMount {
  /** Such as `/live.ogg`. */
  mount: string
  /**
   * Where listeners go while the source is away, and come back from when it
   * returns (`fallback-override`). It must be a live mount with a paced
   * source, such as `FallbackSource`: Icecast 2.4 sends a file from the
   * web root untimed, several times faster than real time.
   */
  fallback?: string
  /** @default the server's burst size */
  burstBytes?: number
  /** Left out of the public status pages and directories. @default false */
  hidden?: boolean
  /**
   * The character set of an MP3 mount's ICY titles. Icecast 2.4 assumes
   * ISO-8859-1 and writes anything outside it as an HTML entity (`&#8217;`);
   * 'UTF-8' passes titles in any script to players as they were set.
   * @default Icecast's (ISO-8859-1 for MP3)
   */
  charset?: string
}

/**
 * A mount this Icecast relays from another (an edge relaying the origin): it
 * connects as a listener and serves the same stream to its own listeners.
 * The way to grow past one server (docs/icecast.md, "More than one Icecast").
 */
export interface IcecastRelay {
  /** The origin's host. */
  server: string
  port: number
  /** The origin's mount, such as `/live.ogg`. */
  mount: string
  /** @default `mount` */
  localMount?: string
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
  /** Mounts relayed from other Icecasts, always on (not on demand). @default none */
  relays?: IcecastRelay[]
  /** Value of Access-Control-Allow-Origin. @default '*' */
  corsOrigin?: string
  /** Drop privileges to this user and group (needed when started as root). */
  changeOwner?: { user: string, group: string }
  /** @default 100 */
  maxListeners?: number
  /** @default 8 */
  maxSources?: number
}

/**
 * A live mount whose listeners stay connected while its source is away: they
 * move to the fallback mount (fed by `FallbackSource`) and back.
 */
export function mountWithFallback (mount: string, fallback: string = FALLBACK_SOURCE_DEFAULTS.mount): IcecastMount {
  return { mount, fallback }
}

/**
 * The MP3 rendition's mount (the relay's `--mp3-mount`): titles in UTF-8, so
 * that a now-playing title in any script reaches players as it was set.
 */
export function mp3Mount (mount: string = MP3_DEFAULTS.mount): IcecastMount {
  return { mount, charset: 'UTF-8' }
}

/**
 * The fallback mount itself: no burst, since its listeners arrive from a live
 * mount and a burst would put them behind by that much when they go back;
 * hidden, since nobody should tune in to it directly.
 */
export function fallbackMount (mount: string = FALLBACK_SOURCE_DEFAULTS.mount): IcecastMount {
  return { mount, burstBytes: 0, hidden: true }
}

export function icecastConfig (init: IcecastConfigInit): string {
  const host = init.host ?? '127.0.0.1'
  const burst = init.burstBytes ?? DEFAULT_BURST_BYTES
  const mounts = (init.mounts ?? []).map((m) => `
  <mount type="normal">
    <mount-name>${xml(m.mount)}</mount-name>${m.fallback === undefined ? '' : `
    <fallback-mount>${xml(m.fallback)}</fallback-mount>
    <fallback-override>1</fallback-override>`}${m.hidden === true ? `
    <hidden>1</hidden>
    <public>0</public>` : ''}
    <burst-size>${m.burstBytes ?? burst}</burst-size>${m.charset === undefined ? '' : `
    <charset>${xml(m.charset)}</charset>`}
  </mount>`).join('')
  const relays = (init.relays ?? []).map((r) => `
  <relay>
    <server>${xml(r.server)}</server>
    <port>${r.port}</port>
    <mount>${xml(r.mount)}</mount>
    <local-mount>${xml(r.localMount ?? r.mount)}</local-mount>
    <on-demand>0</on-demand>
    <relay-shoutcast-metadata>1</relay-shoutcast-metadata>
  </relay>`).join('')
  return `<icecast>
  <!-- Generated by OpenStudio (node/src/icecast/config.ts). -->
  <location>OpenStudio</location>
  <admin>admin@localhost</admin>
  <limits>
    <clients>${(init.maxListeners ?? 100) + (init.maxSources ?? 8) + 4}</clients>
    <sources>${init.maxSources ?? 8}</sources>
    <queue-size>524288</queue-size>
    <client-timeout>30</client-timeout>
    <header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout>
    <!-- A new listener starts this far behind live: ${burstSeconds(burst, 96)} s at 96 kb/s, ${burstSeconds(burst, 64)} s at 64 kb/s. -->
    <burst-on-connect>1</burst-on-connect>
    <burst-size>${burst}</burst-size>
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
  <!-- The web app reads the stream into Web Audio (meters), which needs CORS. -->
  <http-headers>
    <header name="Access-Control-Allow-Origin" value="${xml(init.corsOrigin ?? '*')}" />
    <header name="Access-Control-Allow-Headers" value="Range, Icy-MetaData" />
  </http-headers>${mounts}${relays}
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

/** Seconds of audio in `bytes` at `kbps`, to one decimal. */
function burstSeconds (bytes: number, kbps: number): string {
  return ((bytes * 8) / (kbps * 1000)).toFixed(1)
}

function xml (value: string): string {
  return value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
