/**
 * Many concurrent inserts at one place (src/shared/crdt/sibling-runs.ts): the integration scan passes
 * runs of siblings at once, and must still order everything exactly as the plain scan does, on every
 * replica and in every delivery order.
 *
 * The oracle is a brute-force copy of the integration rule (text-doc.ts's header), one character at a
 * time over a plain array, with no spans, runs or index. The work test counts ID lookups, not time.
 */
import { describe, expect, it, vi } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { IdIndex } from '../../../src/shared/crdt/id-index'
import { decodeTextOps } from '../../../src/shared/crdt/text-codec'
import { Prng, normalizeVersion } from './harness'

interface Char {
  readonly id: string
  readonly name: string
  readonly left: string | null
  readonly right: string | null
  readonly ch: string
  deleted: boolean
}

/** The text the plain rule gives for `batches`, applied one character at a time in the order given. */
function reference(batches: readonly Uint8Array[]): string {
  const doc: Char[] = []
  const byId = new Map<string, Char>()
  const at = (id: string | null, edge: number): number => (id === null ? edge : doc.indexOf(byId.get(id)!))
  for (const batch of batches) {
    const { replicas, ops } = decodeTextOps(batch)
    for (const op of ops) {
      const name = replicas[op.agent]!
      if (op.kind === 1) {
        for (let k = 0; k < op.length; k++) {
          const target = byId.get(`${replicas[op.targetAgent]!}:${op.targetCounter + k}`)
          if (target) target.deleted = true
        }
        continue
      }
      const rightId =
        op.originRightAgent < 0 ? null : `${replicas[op.originRightAgent]!}:${op.originRightCounter}`
      let leftId = op.originLeftAgent < 0 ? null : `${replicas[op.originLeftAgent]!}:${op.originLeftCounter}`
      for (let k = 0; k < op.length; k++) {
        const c: Char = {
          id: `${name}:${op.counter + k}`,
          name,
          left: leftId,
          right: rightId,
          ch: op.text[k]!,
          deleted: false,
        }
        const left = at(c.left, -1)
        const right = at(c.right, doc.length)
        let dest = left + 1
        let scanning = false
        for (let i = left + 1; ; i++) {
          if (!scanning) dest = i
          if (i === doc.length || i === right) break
          const o = doc[i]!
          const oLeft = at(o.left, -1)
          if (oLeft < left) break
          if (oLeft === left) {
            const oRight = at(o.right, doc.length)
            if (oRight < right) scanning = true
            else if (oRight === right) {
              if (c.name < o.name) break
              scanning = false
            } else scanning = false
          }
        }
        doc.splice(dest, 0, c)
        byId.set(c.id, c)
        leftId = c.id
      }
    }
  }
  return doc
    .filter((c) => !c.deleted)
    .map((c) => c.ch)
    .join('')
}

/**
 * Rounds of concurrent edits by `replicas` replicas around "[]": most insert right after "[" or right
 * before "]" (so many inserts share both origins), some type inside others' words (splitting them), go
 * on typing after their own (descendants between siblings) or delete (tombstones that merge). After
 * each round every replica receives every batch, in its own random order. Returns all batches, in the
 * order made (a causal order), and the replicas.
 */
function history(seed: number, replicas: number, rounds: number): { batches: Uint8Array[]; docs: TextDoc[] } {
  const rng = new Prng(seed)
  const base = new TextDoc('base')
  const batches = [base.localInsert(0, '[]')]
  const names = Array.from({ length: replicas }, (_, i) => `r${rng.int(1000)}-${i}`)
  const docs = names.map((name) => new TextDoc(name))
  for (const doc of docs) doc.applyRemote(batches[0]!)
  for (let round = 0; round < rounds; round++) {
    const made: Uint8Array[] = []
    for (const doc of docs) {
      if (rng.chance(0.2)) continue
      for (let edit = rng.range(1, 3); edit > 0; edit--) {
        const text = doc.toString()
        const word = 'abcdefghij'.slice(0, rng.range(1, 4))
        const r = rng.next()
        if (r < 0.35) made.push(doc.localInsert(1, word))
        else if (r < 0.6) made.push(doc.localInsert(text.length - 1, word))
        else if (r < 0.8) made.push(doc.localInsert(rng.range(1, text.length - 1), word))
        else if (text.length > 2) {
          const index = rng.range(1, text.length - 2)
          made.push(doc.localDelete(index, rng.range(1, Math.min(3, text.length - 1 - index))))
        }
      }
    }
    for (const doc of docs) for (const batch of rng.shuffle([...made])) doc.applyRemote(batch)
    batches.push(...made)
  }
  return { batches, docs }
}

describe('concurrent inserts at one place', () => {
  for (let seed = 1; seed <= 30; seed++) {
    it(`seed ${seed}: every replica and every delivery order gives the plain rule's text`, () => {
      const { batches, docs } = history(seed, 12 + (seed % 5) * 8, 3 + (seed % 3))
      const expected = reference(batches)
      for (const doc of docs) expect(doc.toString()).toBe(expected)
      const rng = new Prng(seed * 31)
      for (let order = 0; order < 3; order++) {
        const receiver = new TextDoc('receiver')
        const shuffled = rng.shuffle([...batches])
        const half = shuffled.length >> 1
        for (const batch of shuffled.slice(0, half)) receiver.applyRemote(batch)
        // Sibling runs are not saved: a reloaded replica rebuilds them and must agree all the same.
        const reopened = order === 1 ? TextDoc.loadState(receiver.saveState(), 'reopened') : receiver
        for (const batch of shuffled.slice(half)) reopened.applyRemote(batch)
        expect(reopened.toString()).toBe(expected)
        expect(reopened.pendingCount()).toBe(0)
        expect(normalizeVersion(reopened.version())).toEqual(normalizeVersion(docs[0]!.version()))
      }
    })
  }

  // 'q' continues 'p' (same replica, next counter, same right origin) and ties with x, y, z typed
  // after 'p' elsewhere; deleting "pq" joins q's tombstone into p's, taking q out of its run.
  it('a sibling that leaves its run when deleted together with the character before it', () => {
    const base = new TextDoc('base')
    const brackets = base.localInsert(0, '[]')
    const a = new TextDoc('a')
    a.applyRemote(brackets)
    const p = a.localInsert(1, 'p')
    const q = a.localInsert(2, 'q')
    const after = (name: string): Uint8Array => {
      const doc = new TextDoc(name)
      doc.applyRemote(brackets)
      doc.applyRemote(p)
      return doc.localInsert(2, name)
    }
    const [x, y, z] = [after('x'), after('y'), after('z')]
    const del = a.localDelete(1, 2)
    const [w, v] = [after('xx'), after('0')]
    const batches = [brackets, p, q, x, y, z, del, w, v]
    const expected = reference(batches)
    expect(expected).toBe('[0xxxyz]')
    const rng = new Prng(11)
    for (const order of [
      batches,
      rng.shuffle([...batches]),
      rng.shuffle([...batches]),
      [...batches].reverse(),
    ]) {
      const doc = new TextDoc('receiver')
      for (const batch of order) doc.applyRemote(batch)
      expect(doc.toString()).toBe(expected)
    }
  })

  it('one character each from 300 replicas, in several orders: ordered by replica ID', () => {
    const base = new TextDoc('base')
    const brackets = base.localInsert(0, '[]')
    const rng = new Prng(7)
    const letters: [string, string][] = []
    const ties = Array.from({ length: 300 }, (_, i) => {
      const name = `p${rng.int(100_000)}-${i}`
      const letter = String.fromCharCode(0x4e00 + i)
      letters.push([name, letter])
      const doc = new TextDoc(name)
      doc.applyRemote(brackets)
      return doc.localInsert(1, letter)
    })
    letters.sort(([a], [b]) => (a < b ? -1 : 1))
    const expected = `[${letters.map(([, letter]) => letter).join('')}]`
    expect(reference([brackets, ...ties])).toBe(expected)
    for (const order of [ties, [...ties].reverse(), rng.shuffle([...ties]), rng.shuffle([...ties])]) {
      const doc = new TextDoc('receiver')
      doc.applyRemote(brackets)
      for (const batch of order) doc.applyRemote(batch)
      expect(doc.toString()).toBe(expected)
    }
  })

  // Runs longer than a chunk (sibling-runs.ts keeps a run in chunks of at most 512 members): joined in
  // random orders, then cut across chunk boundaries by inserts typed between members and by deletes.
  it('1,600 replicas at one place, cut by inserts between them: ordered as the plain rule orders them', () => {
    const base = new TextDoc('base')
    const brackets = base.localInsert(0, '[]')
    const rng = new Prng(21)
    const docs = Array.from({ length: 1600 }, (_, i) => {
      const doc = new TextDoc(`p${rng.int(100_000)}-${i}`)
      doc.applyRemote(brackets)
      return doc
    })
    const ties = docs.map((doc, i) => doc.localInsert(1, String.fromCharCode(0x4e00 + i)))
    // Some replicas see part of the others' inserts, then type or delete among them.
    const later: Uint8Array[] = []
    for (const doc of docs.slice(0, 200)) {
      for (const batch of rng.shuffle([...ties]).slice(0, rng.range(200, 1600))) doc.applyRemote(batch)
      const length = doc.toString().length
      if (rng.chance(0.7)) later.push(doc.localInsert(rng.range(2, length - 1), 'ab'))
      else later.push(doc.localDelete(rng.range(1, length - 2), 1))
    }
    const batches = [brackets, ...ties, ...later]
    const expected = reference(batches)
    for (let order = 0; order < 3; order++) {
      const receiver = new TextDoc('receiver')
      receiver.applyRemote(brackets)
      // Causal enough: a later batch that arrives before what it names waits, as from the network.
      const shuffled = rng.shuffle([...ties, ...later])
      for (const batch of shuffled) receiver.applyRemote(batch)
      expect(receiver.pendingCount()).toBe(0)
      expect(receiver.toString()).toBe(expected)
    }
  })
})

describe('work of many inserts at one place', () => {
  // A work count, not a time: ID lookups while 3,000 replicas' inserts at one place arrive in a random
  // order. The plain scan looked up both origins of every sibling it passed, ~n²/2 siblings in all
  // (about 4.5 million lookups here); passing runs at once needs a few per insert.
  it('3,000 replicas, one character each between the same two characters', () => {
    const n = 3000
    const base = new TextDoc('base')
    const brackets = base.localInsert(0, '[]')
    const ties = Array.from({ length: n }, (_, i) => {
      const doc = new TextDoc(`replica-${i}`)
      doc.applyRemote(brackets)
      return doc.localInsert(1, 'x')
    })
    const order = new Prng(3).shuffle(ties)
    const doc = new TextDoc('receiver')
    doc.applyRemote(brackets)
    const finds = vi.spyOn(IdIndex.prototype, 'find')
    try {
      for (const batch of order.slice(0, n / 2)) doc.applyRemote(batch)
      // After a reload the runs are gone; the scan rebuilds them as it passes the siblings.
      const reopened = TextDoc.loadState(doc.saveState(), 'reopened')
      for (const batch of order.slice(n / 2)) reopened.applyRemote(batch)
      expect(reopened.length).toBe(n + 2)
      expect(finds.mock.calls.length).toBeLessThan(20 * n)
    } finally {
      finds.mockRestore()
    }
  })
})
