/**
 * A raw ICY client, as old radio players are: it asks an Icecast MP3 mount
 * for in-band metadata (`Icy-MetaData: 1`), counts `icy-metaint` audio bytes,
 * and reads each metadata block after them (a length byte × 16, then
 * `StreamTitle='…';`). It keeps every StreamTitle it read, and the raw
 * blocks, so a test can check what a player would show and that nothing was
 * injected beside it.
 */
export class IcyReader {
  /** Each metadata block read that was not empty, as text. */
  readonly blocks: string[] = []
  /** The StreamTitle of each block that had one. */
  readonly titles: string[] = []
  /** Audio bytes read. */
  audioBytes = 0
  private readonly abort = new AbortController()
  readonly done: Promise<void>

  constructor (url: string) {
    this.done = this.read(url).catch((err: Error) => {
      if (!this.abort.signal.aborted) throw err
    })
  }

  stop (): void {
    this.abort.abort()
  }

  private async read (url: string): Promise<void> {
    const res = await fetch(url, { headers: { 'icy-metadata': '1' }, signal: this.abort.signal })
    const metaint = Number(res.headers.get('icy-metaint'))
    if (!res.ok || !Number.isInteger(metaint) || metaint <= 0 || res.body === null) throw new Error(`no ICY metadata from ${url}: ${res.status}, icy-metaint ${String(res.headers.get('icy-metaint'))}`)
    let untilMeta = metaint
    let meta: number[] | undefined
    let metaLength = 0
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      for (let i = 0; i < chunk.length;) {
        if (meta === undefined && untilMeta > 0) {
          const take = Math.min(untilMeta, chunk.length - i)
          untilMeta -= take
          this.audioBytes += take
          i += take
        } else if (meta === undefined) {
          metaLength = (chunk[i++] as number) * 16
          meta = []
          if (metaLength === 0) { meta = undefined; untilMeta = metaint }
        } else {
          const take = Math.min(metaLength - meta.length, chunk.length - i)
          meta.push(...chunk.subarray(i, i + take))
          i += take
          if (meta.length === metaLength) {
            this.block(new TextDecoder().decode(new Uint8Array(meta)).replace(/\0+$/, ''))
            meta = undefined
            untilMeta = metaint
          }
        }
      }
    }
  }

  private block (text: string): void {
    this.blocks.push(text)
    const title = /^StreamTitle='(.*?)';/s.exec(text)?.[1]
    if (title !== undefined) this.titles.push(title)
  }
}
