/**
 * splitTextBatch: a batch cut into chunks of at most `maxBytes`, applied in order, must leave any
 * replica exactly as the whole batch does (text, version, parked ops, and how later concurrent ops
 * integrate). Seeded random multi-replica histories with deletes, backspaces, emoji and chunk sizes
 * down to the smallest that holds one op, so long inserts are cut many times.
 */
import { describe, expect, it } from 'vitest'
import { TextDoc, splitTextBatch } from '../../../src/shared/crdt'
import { decodeTextOps, encodeTextOps } from '../../../src/shared/crdt/text-codec'
import { InsertOp } from '../../../src/shared/crdt/ops'
import { writeHeader } from '../../../src/shared/crdt/replica-table'
import { ByteWriter } from '../../../src/shared/crdt/bytes'
import { Prng } from './harness'

const PIECES = ['a', 'bc', 'héllo', '😀', 'x😀y', '👩‍👩‍👧', '中文', ' ', '\n', '𝄞𝄞']

function randomText(p: Prng, max: number): string {
  let s = ''
  const n = p.range(1, max)
  while (s.length < n) s += p.pick(PIECES)
  return s
}

/** A valid cut point of `doc`'s text: never inside a surrogate pair. */
function boundary(text: string, i: number): number {
  const c = text.charCodeAt(i)
  return c >= 0xdc00 && c <= 0xdfff ? i - 1 : i
}

function edit(doc: TextDoc, p: Prng, longInserts: boolean): void {
  const text = doc.toString()
  if (text.length > 0 && p.chance(0.3)) {
    const start = boundary(text, p.int(text.length))
    const end = Math.min(text.length, boundary(text, start + p.range(1, 30)))
    if (end > start) doc.localDelete(start, end - start)
    return
  }
  const at = boundary(text, p.int(text.length + 1))
  doc.localInsert(at, randomText(p, longInserts && p.chance(0.3) ? 2000 : 12))
}

/** The smallest `maxBytes` that splitTextBatch accepts for `batch`. */
function minimumSize(batch: Uint8Array): number {
  const head = new ByteWriter()
  writeHeader(head, 5, decodeTextOps(batch).replicas)
  return head.length + 9 + 73 + 4
}

/** Same text and version; ops parked for missing dependencies may be parked in pieces, so only whether any are. */
function expectSame(a: TextDoc, b: TextDoc): void {
  expect(b.toString()).toBe(a.toString())
  expect(b.version()).toEqual(a.version())
  expect(b.pendingCount() > 0).toBe(a.pendingCount() > 0)
}

/** Applies `batch` whole to one copy of `target` and in chunks to another; both must agree. */
function checkSplit(
  target: TextDoc,
  batch: Uint8Array,
  maxBytes: number,
  later: readonly Uint8Array[],
  everything: readonly Uint8Array[],
): number {
  const whole = TextDoc.load(target.save(), 'whole')
  const split = TextDoc.load(target.save(), 'split')
  const chunks = splitTextBatch(batch, maxBytes)
  for (const c of chunks) expect(c.length).toBeLessThanOrEqual(Math.max(maxBytes, batch.length))
  whole.applyRemote(batch)
  for (const c of chunks) split.applyRemote(c)
  expectSame(whole, split)
  // Later ops (concurrent with or after the batch) must integrate the same way.
  for (const b of later) {
    whole.applyRemote(b)
    split.applyRemote(b)
  }
  expectSame(whole, split)
  // Then everything else: whatever was parked resolves, in pieces or not, to the same document.
  for (const b of everything) {
    whole.applyRemote(b)
    split.applyRemote(b)
  }
  expectSame(whole, split)
  expect(split.pendingCount()).toBe(0)
  return chunks.length
}

describe('splitTextBatch', () => {
  it('returns a batch within the size unchanged, the very same array', () => {
    const doc = new TextDoc('alice')
    const batch = doc.localInsert(0, 'hello')
    const chunks = splitTextBatch(batch, 1 << 20)
    expect(chunks).toHaveLength(1)
    expect(chunks[0]).toBe(batch)
  })

  it('cuts a 3 M character insert into chunks, keeping times and never splitting a surrogate pair', () => {
    const doc = new TextDoc('alice')
    doc.localInsert(0, '😀a'.repeat(1_000_000))
    const batch = doc.changesSince({})
    const chunks = splitTextBatch(batch, 100_000)
    expect(chunks.length).toBeGreaterThanOrEqual(50) // 5 MB of UTF-8
    const copy = new TextDoc('bob')
    for (const c of chunks) {
      expect(c.length).toBeLessThanOrEqual(100_000)
      expect(c[0]! >> 4).toBe(5) // still a timed batch
      const { ops } = decodeTextOps(c)
      for (const op of ops) expect(op.time).toBe(decodeTextOps(batch).ops[0]!.time)
      copy.applyRemote(c)
    }
    expect(copy.toString() === doc.toString()).toBe(true)
    expect(copy.version()).toEqual(doc.version())
  })

  it('keeps an untimed batch untimed and the pieces consecutive', () => {
    const op = new InsertOp(0, 1, 'abcdefghij'.repeat(100), -1, 0, -1, 0)
    const batch = encodeTextOps(['alice'], [op])
    const chunks = splitTextBatch(batch, 300)
    expect(chunks.length).toBeGreaterThan(3)
    let counter = 1
    for (const c of chunks) {
      expect(c[0]! >> 4).toBe(1)
      for (const piece of decodeTextOps(c).ops) {
        if (piece.kind !== 0) throw new Error('an insert cut into a delete')
        expect(piece.counter).toBe(counter)
        if (counter > 1) expect([piece.originLeftAgent, piece.originLeftCounter]).toEqual([0, counter - 1])
        expect(piece.originRightAgent).toBe(-1) // the original's (none), on every piece
        counter += piece.length
      }
    }
    expect(counter).toBe(1001)
  })

  it('refuses a size that cannot hold one op', () => {
    const doc = new TextDoc('alice')
    const batch = doc.localInsert(0, 'x'.repeat(500))
    expect(() => splitTextBatch(batch, 40)).toThrow(RangeError)
  })

  it('places every piece right after the one before, among concurrent inserts at the same spot', () => {
    let totalChunks = 0
    for (let seed = 1; seed <= 40; seed++) {
      const p = new Prng(1000 + seed)
      const base = new TextDoc(`base-${seed}`)
      base.localInsert(0, 'ab')
      const names = p.shuffle(['m', 'a', 'z', 'k', 'c'].map((n) => `${n}-${seed}`))
      const docs = names.map((n) => TextDoc.load(base.save(), n))
      // Everyone types at index 1 at once: same origins, ordered by replica ID.
      const batches = docs.map((d) => d.localInsert(1, randomText(p, p.chance(0.5) ? 300 : 5)))
      const all = TextDoc.load(base.save(), `all-${seed}`)
      for (const b of batches) all.applyRemote(b)
      const target = TextDoc.load(base.save(), `target-${seed}`)
      for (const b of batches) if (p.chance(0.5)) target.applyRemote(b)
      const catchUp = all.changesSince(target.version())
      const min = minimumSize(catchUp)
      for (const maxBytes of [min, min + p.int(100)]) {
        totalChunks += checkSplit(target, catchUp, maxBytes, [], batches)
      }
      for (const b of batches) totalChunks += checkSplit(target, b, minimumSize(b), [], batches)
    }
    expect(totalChunks).toBeGreaterThan(500)
  })

  it('applied in order, chunks of random histories give the same state as the whole batch', () => {
    let totalChunks = 0
    for (let seed = 1; seed <= 60; seed++) {
      const p = new Prng(seed)
      const n = p.range(2, 4)
      const docs = Array.from({ length: n }, (_, i) => new TextDoc(`replica${i}-${seed}`))
      const batches: Uint8Array[] = []
      // A history: local edits (some long), with partial syncs between random pairs.
      for (let step = 0; step < 40; step++) {
        const doc = p.pick(docs)
        if (p.chance(0.2)) {
          const other = p.pick(docs)
          if (other !== doc) doc.applyRemote(other.changesSince(doc.version()))
        } else {
          const before = doc.version()
          edit(doc, p, true)
          batches.push(doc.changesSince(before))
        }
      }
      const source = p.pick(docs)
      const target = p.pick(docs.filter((d) => d !== source).concat([new TextDoc(`fresh-${seed}`)]))
      const catchUp = source.changesSince(target.version()) // timed
      const local = p.pick(batches) // untimed or timed, maybe already known to the target
      // Concurrent edits from another replica, to integrate after the batch.
      const third = p.pick(docs)
      const later: Uint8Array[] = []
      for (let k = 0; k < 5; k++) {
        const before = third.version()
        edit(third, p, false)
        later.push(third.changesSince(before))
      }
      const everything = docs.map((d) => d.changesSince({}))
      for (const batch of [catchUp, local]) {
        const min = minimumSize(batch)
        for (const maxBytes of [min, min + p.int(64), min + p.int(2000)]) {
          totalChunks += checkSplit(target, batch, maxBytes, later, everything)
        }
      }
    }
    expect(totalChunks).toBeGreaterThan(2000)
  })
})
