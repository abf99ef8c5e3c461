/**
 * The op log's byte layout (src/main/storage/log-format.ts): records written as parts (a large record
 * after its header, not copied into a frame) make exactly the bytes of one frame, and read back.
 */
import { describe, expect, it } from 'vitest'
import { decodeSegment, encodeRecordParts, encodeRecords } from '../../../src/main/storage/log-format'

const record = (n: number, seed: number): Uint8Array =>
  new Uint8Array(n).map((_, i) => (i * 31 + seed) & 0xff)
const joined = (parts: readonly Uint8Array[]): Buffer => Buffer.concat(parts)

describe('op-log records written as parts', () => {
  const cases: [string, Uint8Array[]][] = [
    ['small ones only', [record(10, 1), record(0, 2), record(300, 3)]],
    ['one large', [record(200_000, 4)]],
    [
      'small, large, small, large, large',
      [record(5, 5), record(70_000, 6), record(1, 7), record(65_536, 8), record(1 << 20, 9)],
    ],
    ['none', []],
  ]
  for (const [what, records] of cases) {
    for (const withMagic of [true, false]) {
      it(`${what}${withMagic ? ', at the start of a segment' : ''}: the same bytes as one frame`, () => {
        const parts = encodeRecordParts(records, withMagic)
        expect(joined(parts).equals(Buffer.from(encodeRecords(records, withMagic)))).toBe(true)
        // A large record goes out as the very buffer given: no copy.
        for (const r of records) if (r.byteLength >= 64 * 1024) expect(parts).toContain(r)
        if (withMagic) {
          const decoded = decodeSegment(new Uint8Array(joined(parts)))
          expect(decoded.problem).toBeUndefined()
          expect(decoded.records.map((r) => Buffer.from(r).toString('hex'))).toEqual(
            records.map((r) => Buffer.from(r).toString('hex')),
          )
        }
      })
    }
  }
})
