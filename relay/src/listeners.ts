/**
 * Announces the listener counts of the relay's program on the directory
 * topic and in the station's room, signed with the relay's key: when the
 * count changes, and at least every LISTENER_ANNOUNCE_MS while the program
 * runs, so readers can tell a fresh count from a stale one.
 *
 * It passes on the show's now-playing title the same way, as the station
 * signed it: when the studio sends a new one, and again with each count, so
 * that a reader who joins the topic late learns it within LISTENER_ANNOUNCE_MS.
 */
import { logger } from '@libp2p/logger'
import { encodeAnnouncement, signListenerReport, stationKeyFromSeed, TOPIC, type StationKey } from '@openstudio/protocol'
import type { OpenStudioServices } from '@openstudio/node'
import type { PrivateKey } from '@libp2p/interface'
import { LISTENER_ANNOUNCE_MS } from './constants.ts'
import type { ProgramService } from './program.ts'

const log = logger('openstudio:relay:listeners')

export interface ListenerAnnouncerComponents {
  pubsub: Pick<OpenStudioServices['pubsub'], 'publish'>
}

export class ListenerAnnouncer {
  private readonly key: StationKey
  private last?: { station: string, listeners: number, at: number }
  /** The program's station's newest signed title. */
  private nowPlaying?: { station: string, statement: Uint8Array }

  /** @throws {TypeError} for a relay key that is not Ed25519 */
  constructor (private readonly components: ListenerAnnouncerComponents, privateKey: PrivateKey) {
    if (privateKey.type !== 'Ed25519') throw new TypeError('listener reports are signed with an Ed25519 relay key')
    this.key = stationKeyFromSeed(privateKey.raw.subarray(0, 32))
  }

  /** Announces the counts `program` reads from Icecast. */
  follow (program: ProgramService): void {
    program.addEventListener('program:listeners', (e) => { void this.report(e.detail.station, e.detail.listeners, program.mount, Date.now()) })
    program.addEventListener('program:now-playing', (e) => {
      this.nowPlaying = { station: e.detail.station, statement: e.detail.statement }
      void this.publish(e.detail.station, encodeAnnouncement({ type: 'now-playing', statement: e.detail.statement }))
    })
  }

  /** Announces one count, unless it repeats the last one within LISTENER_ANNOUNCE_MS. */
  async report (station: string, listeners: number, mount: string, now: number): Promise<void> {
    const last = this.last
    if (last !== undefined && last.station === station && last.listeners === listeners && now - last.at < LISTENER_ANNOUNCE_MS) return
    this.last = { station, listeners, at: now }
    const report = encodeAnnouncement({ type: 'listeners', report: signListenerReport({ station, relay: this.key.id, mount, listeners, at: now }, this.key) })
    await this.publish(station, report)
    if (this.nowPlaying?.station === station) await this.publish(station, encodeAnnouncement({ type: 'now-playing', statement: this.nowPlaying.statement }))
  }

  /** One announcement on the directory topic and in the station's room. */
  private async publish (station: string, announcement: Uint8Array): Promise<void> {
    for (const topic of [TOPIC.directory, TOPIC.room(station)]) {
      try {
        await this.components.pubsub.publish(topic, announcement)
      } catch (err) {
        log('announcement not published on %s: %s', topic, (err as Error).message)
      }
    }
  }
}
