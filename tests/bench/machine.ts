/** What the machine and its processes spend, read from /proc (Linux). */
import { readFile } from 'node:fs/promises'
import { cpus } from 'node:os'
import { round } from './measure.ts'

/** Linux's USER_HZ: /proc times are in these ticks. */
export const CLOCK_TICKS = 100
/** Index of `utime` (then `stime`) in /proc/<pid>/stat and /proc/<pid>/task/<tid>/stat after the command name. */
export const STAT_UTIME = 11

/** Index of `steal` among /proc/stat's cpu fields: time the hypervisor ran something else while this machine's CPUs had work. */
const PROC_STAT_STEAL = 7

/** Busy, stolen and total jiffies of the whole machine (busy includes stolen). */
export interface MachineTimes {
  busy: number
  steal: number
  total: number
}

/** The whole machine's times now, from /proc/stat. */
export async function machineTimes (): Promise<MachineTimes> {
  const fields = (await readFile('/proc/stat', 'utf8')).split('\n')[0]?.trim().split(/\s+/).slice(1).map(Number) ?? []
  const total = fields.slice(0, PROC_STAT_STEAL + 1).reduce((s, x) => s + x, 0)
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0)
  return { busy: total - idle, steal: fields[PROC_STAT_STEAL] ?? 0, total }
}

/** Cores the whole machine kept busy between two readings. */
export function busyCores (before: MachineTimes, after: MachineTimes): number {
  return round((after.busy - before.busy) / (after.total - before.total) * cpus().length)
}

/** Cores the hypervisor took from this machine between two readings (its CPUs had work, and something else ran). */
export function stolenCores (before: MachineTimes, after: MachineTimes): number {
  return round((after.steal - before.steal) / (after.total - before.total) * cpus().length)
}

/** The fields of a /proc stat line after the command name (which may hold spaces). */
export function statFields (stat: string): string[] {
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')
}

/** CPU seconds (user and system) process `pid` has spent, all its threads together. */
export async function processCpuSeconds (pid: number): Promise<number> {
  const fields = statFields(await readFile(`/proc/${pid}/stat`, 'utf8'))
  return (Number(fields[STAT_UTIME]) + Number(fields[STAT_UTIME + 1])) / CLOCK_TICKS
}

/** Resident memory of process `pid` (VmRSS), in bytes. */
export async function processRssBytes (pid: number): Promise<number> {
  const kib = /^VmRSS:\s+(\d+) kB$/m.exec(await readFile(`/proc/${pid}/status`, 'utf8'))?.[1]
  return Number(kib ?? NaN) * 1024
}
