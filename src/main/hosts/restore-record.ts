/**
 * The last restore of a past version, kept as an internal document property so that it reaches
 * everyone, those away included (properties sync like the text, last writer wins). The restorer's
 * window reports it (`noteRestore`); every other window whose person's text it removed is told.
 * A record comes from any member's device: it is checked field by field, and must name the device that
 * wrote it, before anyone is told.
 */
import type { RestoreNotice, RestoreReport } from '../../shared/api'
import type { JsonValue } from '../storage/durable-doc'

/** The property that holds the record; hidden from the Properties panel like the author records. */
export const RESTORE_KEY = 'restore:last'

/** A record names at most this many devices (more would not fit one notice anyway). */
const MAX_DEVICES = 256
const DEVICE = /^[0-9a-f]{64}$/
const MAX_NAME = 64

interface RestoreRecord extends RestoreReport {
  readonly device: string
  readonly name: string
  /** When it was restored (ms since the epoch): two restores of one version are two records. */
  readonly at: number
}

const count = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0

/** The report as the renderer sent it, or null if it is not one. */
export function readReport(raw: unknown): RestoreReport | null {
  if (typeof raw !== 'object' || raw === null) return null
  const r = raw as Record<string, unknown>
  const removed = r['removed']
  if (!count(r['version']) || !count(r['of']) || r['version'] > r['of'] || !count(r['versionAt'])) return null
  if (typeof removed !== 'object' || removed === null) return null
  const entries = Object.entries(removed)
  if (entries.length > MAX_DEVICES || !entries.every(([d, n]) => DEVICE.test(d) && count(n))) return null
  return {
    version: r['version'],
    of: r['of'],
    versionAt: r['versionAt'],
    removed: Object.fromEntries(entries) as Record<string, number>,
  }
}

export function makeRecord(report: RestoreReport, device: string, name: string, at: number): JsonValue {
  const record: RestoreRecord = { ...report, device, name: name.slice(0, MAX_NAME), at }
  return record as unknown as JsonValue
}

/**
 * What `self` is told of a record: null if it is not valid, is self's own, removed none of its text, or
 * names a restorer other than `writer`, the device that signed the write holding it (signed-props.ts).
 */
export function noticeFor(
  raw: JsonValue | undefined,
  self: string,
  writer: string | undefined,
): RestoreNotice | null {
  const report = readReport(raw)
  if (!report) return null
  const r = raw as Record<string, unknown>
  const device = r['device']
  const name = r['name']
  if (typeof device !== 'string' || !DEVICE.test(device) || device === self || device !== writer) return null
  if (typeof name !== 'string' || !count(r['at'])) return null
  const removed = report.removed[self] ?? 0
  if (removed === 0) return null
  return {
    device,
    name: name.slice(0, MAX_NAME),
    version: report.version,
    of: report.of,
    versionAt: report.versionAt,
    removed,
    at: r['at'],
  }
}
