import { describe, expect, it } from 'vitest'
import { DeleteOp, InsertOp, type TextOp } from '../../../src/shared/crdt/ops'
import { NONE } from '../../../src/shared/crdt/span'
import { decodeTextOps, encodeLocalOp, encodeTextOps } from '../../../src/shared/crdt/text-codec'
import { CrdtDecodeError } from '../../../src/shared/crdt/types'

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

describe('text op codec', () => {
  it('encodes a single local op exactly as the general encoder does, and it decodes back', () => {
    const replicas = ['k3Jx9QpZ', 'other-1', 'Ω-not-packable', 'r4']
    const random = prng(42)
    const pick = (n: number): number => Math.floor(random() * n)
    const big = (): number => 1 + pick(random() < 0.5 ? 100 : 5_000_000_000)
    for (let i = 0; i < 5000; i++) {
      const counter = big()
      let op: TextOp
      if (random() < 0.6) {
        const left = random() < 0.2 ? NONE : pick(4)
        const right = random() < 0.3 ? NONE : pick(4)
        const leftCounter = left === 0 && random() < 0.5 ? counter - 1 : big()
        op = new InsertOp(
          0,
          counter,
          'héllo😀'.slice(0, 1 + pick(7)),
          left,
          left === NONE ? 0 : Math.max(1, leftCounter),
          right,
          right === NONE ? 0 : big(),
        )
      } else {
        op = new DeleteOp(0, counter, 1 + pick(50), pick(4), big(), random() < 0.5)
      }
      if (op.kind === 0 && op.text.length === 0) continue
      const fast = encodeLocalOp(replicas, op)
      expect(fast).toEqual(encodeTextOps(replicas, [op]))
      const decoded = decodeTextOps(fast)
      expect(decoded.ops).toHaveLength(1)
      const back = decoded.ops[0]!
      expect(decoded.replicas[back.agent]).toBe(replicas[0])
      expect(back.counter).toBe(op.counter)
      expect(back.length).toBe(op.length)
    }
  })

  it('refuses a batch whose ops cut a surrogate pair in two', () => {
    // Two one-character inserts whose text section is replaced by one emoji: each op would hold half.
    const ops = [new InsertOp(0, 1, 'a', NONE, 0, NONE, 0), new InsertOp(0, 2, 'b', 0, 1, NONE, 0)]
    const honest = encodeTextOps(['a'], ops)
    expect(new TextDecoder().decode(honest.subarray(honest.length - 2))).toBe('ab') // text is last
    const emoji = new TextEncoder().encode('\u{1F600}')
    const hostile = new Uint8Array([...honest.subarray(0, honest.length - 2), ...emoji])
    expect(() => decodeTextOps(hostile)).toThrow(CrdtDecodeError)
    const whole = encodeTextOps(['a'], [new InsertOp(0, 1, 'x\u{1F600}', NONE, 0, NONE, 0)])
    expect(decodeTextOps(whole).ops[0]).toMatchObject({ text: 'x\u{1F600}' })
  })
})
