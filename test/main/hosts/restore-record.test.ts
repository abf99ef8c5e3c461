/** The restore record other devices write: what a device is told of it, and what it refuses. */
import { describe, expect, it } from 'vitest'
import { makeRecord, noticeFor, readReport } from '../../../src/main/hosts/restore-record'

const ANA = 'a'.repeat(64)
const BEN = 'b'.repeat(64)
const report = { version: 2, of: 5, versionAt: 1_700_000_000, removed: { [ANA]: 16, [BEN]: 3 } }

describe('restore record', () => {
  it('tells each device how much of its text another device’s restore removed', () => {
    const at = Date.now()
    const record = makeRecord(report, BEN, 'ben', at)
    expect(noticeFor(record, ANA, BEN)).toEqual({
      device: BEN,
      name: 'ben',
      version: 2,
      of: 5,
      versionAt: 1_700_000_000,
      removed: 16,
      at,
    })
    // Not the restorer, and not a device whose text it did not touch.
    expect(noticeFor(record, BEN, BEN)).toBeNull()
    expect(noticeFor(record, 'c'.repeat(64), BEN)).toBeNull()
  })

  it('is told only in the name of the device that signed the write holding it', () => {
    const record = makeRecord(report, BEN, 'ben', Date.now())
    // Written by another member (or by nobody known here) in ben's name: nobody is told.
    expect(noticeFor(record, ANA, 'c'.repeat(64))).toBeNull()
    expect(noticeFor(record, ANA, undefined)).toBeNull()
  })

  it('refuses what is not a report, from a window or a peer', () => {
    for (const bad of [
      null,
      'restore',
      { ...report, version: -1 },
      { ...report, version: 6 },
      { ...report, versionAt: 'yesterday' },
      { ...report, removed: { 'not a device': 1 } },
      { ...report, removed: { [ANA]: 1.5 } },
      {
        ...report,
        removed: Object.fromEntries(
          Array.from({ length: 300 }, (_, i) => [i.toString(16).padStart(64, '0'), 1]),
        ),
      },
    ]) {
      expect(readReport(bad)).toBeNull()
    }
    expect(noticeFor({ ...report, device: 'nobody', name: 'x', at: 1 }, ANA, 'nobody')).toBeNull()
    expect(noticeFor({ ...report, device: BEN, name: 7, at: 1 }, ANA, BEN)).toBeNull()
  })
})
