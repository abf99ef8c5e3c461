/**
 * The form tree ops travel and are stored in (src/shared/tree/tree-part.ts): batches of at most
 * MAX_OPS_PER_BATCH, cut one batch per part for the wire, and hostile bytes refused with
 * CrdtDecodeError only.
 */
import { describe, expect, it } from 'vitest'
import { CrdtDecodeError } from '../../../src/shared/crdt'
import { seededRandom } from '../../../src/shared/random'
import { FileTree } from '../../../src/shared/tree/file-tree'
import { decodeTreePart, encodeTreePart, splitTreePart } from '../../../src/shared/tree/tree-part'
import { MAX_OPS_PER_BATCH, ROOT, type TreeOp } from '../../../src/shared/tree/tree-ops'

function manyOps(n: number): TreeOp[] {
  const tree = new FileTree('authorRepli')
  const made = tree.create(ROOT, 'f', 'file')
  const ops = [made.op]
  while (ops.length < n) ops.push(tree.rename(made.id, `name-${ops.length}`))
  return ops
}

describe('tree parts', () => {
  it('keep every op through batches of at most one batch’s ops, whole or cut one batch per part', () => {
    const ops = manyOps(2 * MAX_OPS_PER_BATCH + 5)
    const bytes = encodeTreePart(ops)
    const batches = decodeTreePart(bytes)
    expect(batches.map((b) => b.length)).toEqual([MAX_OPS_PER_BATCH, MAX_OPS_PER_BATCH, 5])
    expect(batches.flat()).toEqual(ops)
    const parts = splitTreePart(bytes)
    expect(parts).toHaveLength(3)
    expect(parts.flatMap((p) => decodeTreePart(p).flat())).toEqual(ops)
    expect(encodeTreePart([])).toEqual(new Uint8Array(0))
    expect(decodeTreePart(new Uint8Array(0))).toEqual([])
    expect(splitTreePart(new Uint8Array(0))).toEqual([])
  })

  it('refuses truncated, padded and random bytes with CrdtDecodeError only', () => {
    const bytes = encodeTreePart(manyOps(50))
    const bad = [bytes.subarray(0, 3), bytes.subarray(0, bytes.length - 1), new Uint8Array([...bytes, 0])]
    const random = seededRandom(7)
    for (let i = 0; i < 300; i++) {
      const mutated = bytes.slice()
      for (let k = 0; k < 3; k++) mutated[Math.floor(random() * mutated.length)] = Math.floor(random() * 256)
      bad.push(mutated)
      bad.push(Uint8Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256)))
    }
    for (const b of bad) {
      for (const decode of [decodeTreePart, splitTreePart]) {
        try {
          decode(b)
        } catch (err) {
          expect(err).toBeInstanceOf(CrdtDecodeError)
        }
      }
    }
    for (const b of bad.slice(0, 3)) expect(() => decodeTreePart(b)).toThrow(CrdtDecodeError)
  })
})
