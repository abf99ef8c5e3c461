/**
 * Decoder fuzz: random bytes, and valid batches cut, flipped, spliced and padded, either decode to
 * well-formed ops (which a tree then applies without any other error) or throw CrdtDecodeError.
 */
import { describe, expect, it } from 'vitest'
import { CrdtDecodeError } from '../../../src/shared/crdt/types'
import { seededRandom, type Random } from '../../../src/shared/random'
import { FileTree } from '../../../src/shared/tree/file-tree'
import { decodeOps, encodeOps, MAX_OPS_PER_BATCH, ROOT } from '../../../src/shared/tree/tree-ops'

function validBatch(rnd: Random): Uint8Array {
  const t = new FileTree(rnd() < 0.5 ? 'alice' : 'not packable ü', { clock: () => 1000 })
  const d = t.create(ROOT, 'dir', 'folder')
  const ops = [d.op]
  for (let i = 0; i < 1 + rnd() * 5; i++) {
    const f = t.create(d.id, `f${i}.md`, 'file')
    ops.push(f.op)
    if (rnd() < 0.5) ops.push(t.rename(f.id, `g${i} 😀`))
    if (rnd() < 0.3) ops.push(t.remove(f.id))
  }
  return encodeOps(ops)
}

function mutate(rnd: Random, b: Uint8Array): Uint8Array {
  const out = [...b]
  const n = 1 + Math.floor(rnd() * 4)
  for (let i = 0; i < n; i++) {
    const at = Math.floor(rnd() * (out.length + 1))
    const r = rnd()
    if (r < 0.4) out[at] = Math.floor(rnd() * 256)
    else if (r < 0.6) out.splice(at, 1)
    else if (r < 0.8) out.splice(at, 0, Math.floor(rnd() * 256))
    else out.length = at
  }
  return Uint8Array.from(out)
}

/** Whether the bytes decoded (and applied); throws anything but CrdtDecodeError. */
function tryDecode(bytes: Uint8Array, tree: FileTree): boolean {
  try {
    tree.apply(decodeOps(bytes))
    return true
  } catch (e) {
    if (!(e instanceof CrdtDecodeError)) throw e
    return false
  }
}

describe('tree batch decoder', () => {
  it('random bytes throw only CrdtDecodeError', () => {
    const rnd = seededRandom(15)
    const tree = new FileTree('me')
    for (let i = 0; i < 20_000; i++) {
      const bytes = Uint8Array.from({ length: Math.floor(rnd() * 64) }, () => Math.floor(rnd() * 256))
      if (bytes.length > 0 && rnd() < 0.5) bytes[0] = 0x70 | (bytes[0]! & 15) // past the format byte
      tryDecode(bytes, tree)
    }
  })

  it('mutated valid batches throw only CrdtDecodeError', () => {
    const rnd = seededRandom(16)
    let decoded = 0
    for (let i = 0; i < 10_000; i++)
      if (tryDecode(mutate(rnd, validBatch(rnd)), new FileTree('me'))) decoded++
    expect(decoded).toBeGreaterThan(100) // the apply path is exercised too
  })

  it('refuses a count beyond the cap and a non-Uint8Array', () => {
    const big = new Uint8Array(8 * (MAX_OPS_PER_BATCH + 1) + 8)
    big.set([0x70, 0x81, 0x4f]) // no replicas, then a count of 10113
    expect(() => decodeOps(big)).toThrow(/at most/)
    expect(() => decodeOps([1, 2] as unknown as Uint8Array)).toThrow(CrdtDecodeError)
    expect(() => decodeOps(new Uint8Array([0x10]))).toThrow(CrdtDecodeError)
  })
})
