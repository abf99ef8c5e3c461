/**
 * What the collaboration UI reads off a replica: cursor anchors (presence), author runs (authorship),
 * insertion times (hover) and past versions (the history slider), checked against a plain-string model
 * over random multi-replica histories.
 */
import { describe, expect, it } from 'vitest'
import { TextDoc } from '../../../src/shared/crdt'
import { seededRandom } from '../../../src/shared/random'

const WORDS = ['a', 'bc', 'déf', '😀', 'ghij ', '\n', 'k']

/** Three replicas editing at random and exchanging everything now and then. */
function randomDocs(seed: number, steps: number): TextDoc[] {
  const rand = seededRandom(seed)
  const docs = ['ana', 'ben', 'cy'].map((r) => new TextDoc(r))
  for (let i = 0; i < steps; i++) {
    const d = docs[Math.floor(rand() * docs.length)]!
    if (d.length > 0 && rand() < 0.3) {
      const at = Math.floor(rand() * d.length)
      const n = Math.min(d.length - at, 1 + Math.floor(rand() * 3))
      try {
        d.localDelete(at, n)
      } catch {
        // the range would split a surrogate pair: skip this step
      }
    } else {
      const at = Math.floor(rand() * (d.length + 1))
      try {
        d.localInsert(at, WORDS[Math.floor(rand() * WORDS.length)]!)
      } catch {
        // inside a surrogate pair: skip
      }
    }
    if (rand() < 0.2) {
      for (const x of docs) for (const y of docs) if (x !== y) y.applyRemote(x.changesSince(y.version()))
    }
  }
  for (const x of docs) for (const y of docs) if (x !== y) y.applyRemote(x.changesSince(y.version()))
  return docs
}

describe('cursor anchors', () => {
  it('round-trip every position of a random document', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const [doc] = randomDocs(seed, 60)
      for (let i = 0; i <= doc!.length; i++) expect(doc!.cursorIndex(doc!.cursorAnchor(i))).toBe(i)
    }
  })

  it('keep a cursor on its character while another replica types before it', () => {
    const a = new TextDoc('ana')
    const b = new TextDoc('ben')
    b.applyRemote(a.localInsert(0, 'hello world'))
    const anchor = b.cursorAnchor(6) // Ben's cursor before "world"
    const c = new TextDoc('cy')
    c.applyRemote(a.changesSince({}))
    b.applyRemote(c.localInsert(0, '>> '))
    a.applyRemote(c.changesSince(a.version()))
    expect(a.cursorIndex(anchor)).toBe(9)
    expect(a.toString().slice(a.cursorIndex(anchor)!)).toBe('world')
  })

  it('puts a cursor whose character was deleted where the character was', () => {
    const a = new TextDoc('ana')
    a.localInsert(0, 'abcdef')
    const anchor = a.cursorAnchor(4) // after "d"
    a.localDelete(2, 3) // "cde" goes
    expect(a.toString()).toBe('abf')
    expect(a.cursorIndex(anchor)).toBe(2)
    expect(a.cursorIndex({ replica: 'nobody', counter: 1 })).toBeUndefined()
    expect(a.cursorIndex(null)).toBe(0)
    expect(() => a.cursorAnchor(99)).toThrow(RangeError)
  })
})

describe('author runs', () => {
  it('cover the visible text and name the replica of every character', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const [doc] = randomDocs(seed, 80)
      const runs = doc!.authorRuns()
      expect(runs.reduce((n, r) => n + r.length, 0)).toBe(doc!.length)
      let i = 0
      for (const [k, run] of runs.entries()) {
        if (k > 0) expect(run.replica).not.toBe(runs[k - 1]!.replica) // maximal runs
        for (let j = 0; j < run.length; j++, i++) expect(doc!.idAt(i).replica).toBe(run.replica)
      }
    }
  })
})

describe('history views', () => {
  it('match a model of the text after every step, on the author and on a peer', () => {
    const doc = new TextDoc('ana')
    const peer = new TextDoc('ben')
    const seen = ['']
    const seenByPeer = ['']
    const rand = seededRandom(7)
    let model = ''
    for (let i = 0; i < 50; i++) {
      if (model.length > 0 && rand() < 0.3) {
        const at = Math.floor(rand() * model.length)
        peer.applyRemote(doc.localDelete(at, 1))
        model = model.slice(0, at) + model.slice(at + 1)
      } else {
        const at = Math.floor(rand() * (model.length + 1))
        peer.applyRemote(doc.localInsert(at, 'x' + i))
        model = model.slice(0, at) + 'x' + i + model.slice(at)
      }
      // Typing may extend the last history entry instead of adding one: check at entry boundaries.
      seen[doc.history().length] = model
      seenByPeer[peer.history().length] = model // the peer logs every batch as its own entry
    }
    for (const [steps, text] of seen.entries())
      if (text !== undefined) expect(doc.textAfter(steps)).toBe(text)
    expect(seenByPeer).toHaveLength(51)
    for (const [steps, text] of seenByPeer.entries()) expect(peer.textAfter(steps)).toBe(text)
    expect(() => doc.textAfter(-1)).toThrow(RangeError)
  })

  it('tell when each character was inserted', () => {
    let now = 1_700_000_000_000
    const a = new TextDoc('ana', { clock: () => now })
    a.localInsert(0, 'old ')
    now += 3_600_000
    a.localInsert(4, 'new')
    expect(a.insertedAt(a.idAt(0))).toBe(1_700_000_000)
    expect(a.insertedAt(a.idAt(5))).toBe(1_700_003_600)
    expect(a.insertedAt({ replica: 'nobody', counter: 1 })).toBe(0)
  })
})
