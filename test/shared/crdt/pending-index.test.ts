/**
 * Ops that arrive before their dependencies are parked, indexed by the one ID each waits for, and
 * released exactly when that ID is applied (src/shared/crdt/pending-ops.ts). These tests deliver
 * whole histories out of order and check that the result is the causal-order result; the scale tests
 * would time out if every arrival rescanned all parked ops again (as TextDoc once did).
 *
 * The concurrent traces are github.com/josephg/editing-traces' friendsforever and clownschool (CC BY
 * 4.0; see ../shared/traces/README.md and test/fixtures/traces/README.md).
 */
import { describe, expect, it, vi } from 'vitest'
import { TextDoc, type VersionVector } from '../../../src/shared/crdt'
import { concurrentTraceBatches, type ConcurrentTraceName } from '../../support/concurrent-traces'
import {
  Prng,
  applyChanges,
  normalizeVersion,
  randomDeleteRange,
  randomInsertIndex,
  randomText,
} from './harness'

interface Delivered {
  readonly text: string
  readonly version: VersionVector
  readonly pending: number
}

/**
 * Delivers `batches` in the order given to a fresh replica, checking the reported changes against a
 * string model on the way. `reopenAt`: save and load the replica after that many batches.
 */
function deliver(batches: readonly Uint8Array[], reopenAt = -1): Delivered {
  let doc = new TextDoc('receiver')
  let model = ''
  batches.forEach((batch, i) => {
    if (i === reopenAt) {
      const pending = doc.pendingCount()
      doc = TextDoc.load(doc.save(), 'reopened')
      expect(doc.pendingCount()).toBe(pending)
      expect(doc.toString()).toBe(model)
    }
    model = applyChanges(model, doc.applyRemote(batch))
  })
  expect(model).toBe(doc.toString())
  return { text: doc.toString(), version: normalizeVersion(doc.version()), pending: doc.pendingCount() }
}

function shuffled<T>(items: readonly T[], seed: number): T[] {
  return new Prng(seed).shuffle([...items])
}

describe('out-of-order delivery gives the causal-order result', () => {
  // When every applied op rescanned all parked ones, one delivery in random or reverse order took
  // 115–135 s (0.6 s in causal order); with the index each takes well under a second.
  const traces: [ConcurrentTraceName, string][] = [
    ['friendsforever', '26,078'],
    ['clownschool', '23,182'],
  ]
  for (const [trace, edits] of traces) {
    it(`${trace}: all ${edits} edits as batches, in seeded random orders and in reverse`, () => {
      const { batches, endContent } = concurrentTraceBatches(trace)
      const causal = deliver(batches)
      expect(causal.text).toBe(endContent)
      expect(causal.pending).toBe(0)

      const orders: [string, Uint8Array[], number][] = [
        ['reverse', [...batches].reverse(), -1],
        ['seed 1', shuffled(batches, 1), -1],
        ['seed 2', shuffled(batches, 2), batches.length >> 1],
        ['seed 3', shuffled(batches, 3), -1],
      ]
      for (const [name, order, reopenAt] of orders) {
        const got = deliver(order, reopenAt)
        expect(got.text === causal.text, `${name}: text differs from causal delivery`).toBe(true)
        expect(got.version, name).toEqual(causal.version)
        expect(got.pending, name).toBe(0)
      }
    }, 60_000)
  }

  /**
   * A seeded history of several replicas that edit and pull `changesSince` from each other. The
   * pulled batches repeat and overlap the keystroke batches (merged runs, runs cut at a peer's
   * version), so the shuffled delivery also parks duplicates, longer versions and partial overlaps.
   */
  function randomHistory(seed: number): Uint8Array[] {
    const rng = new Prng(seed)
    const docs = Array.from({ length: rng.range(2, 5) }, (_, i) => new TextDoc(`r${i}`))
    const texts = docs.map(() => '')
    const batches: Uint8Array[] = []
    for (let step = 0; step < 400; step++) {
      const i = rng.int(docs.length)
      const doc = docs[i]!
      if (rng.chance(0.15)) {
        const from = docs[rng.int(docs.length)]!
        const batch = from.changesSince(rng.chance(0.5) ? doc.version() : {})
        texts[i] = applyChanges(texts[i]!, doc.applyRemote(batch))
        batches.push(batch)
      } else if (texts[i]!.length > 0 && rng.chance(0.3)) {
        const { index, length } = randomDeleteRange(rng, texts[i]!, 5)
        batches.push(doc.localDelete(index, length))
        texts[i] = texts[i]!.slice(0, index) + texts[i]!.slice(index + length)
      } else {
        const index = randomInsertIndex(rng, texts[i]!)
        const text = randomText(rng, 3)
        batches.push(doc.localInsert(index, text))
        texts[i] = texts[i]!.slice(0, index) + text + texts[i]!.slice(index)
      }
    }
    return batches
  }

  for (let seed = 1; seed <= 40; seed++) {
    it(`seeded multi-replica history ${seed}: shuffled, with duplicates, and reversed`, () => {
      const batches = randomHistory(seed)
      const causal = deliver(batches)
      expect(causal.pending).toBe(0)
      const rng = new Prng(seed * 7919)
      const withDuplicates = [...batches, ...batches.filter(() => rng.chance(0.3))]
      for (const order of [
        shuffled(withDuplicates, seed),
        shuffled(batches, seed + 1000),
        [...batches].reverse(),
      ]) {
        const got = deliver(order, rng.int(order.length))
        expect(got).toEqual(causal)
      }
    })
  }
})

describe('parked ops at scale', () => {
  // A work count, not a time: how often TextDoc tries to apply an op. Indexed, an op is tried when it
  // arrives and again only when the ID it waits for applies (at most once per dependency it lacks).
  // Rescanning all parked ops after each applied one tried them ~3,400 times each here.
  it('out of order, each op of a concurrent trace is tried a few times, not once per arrival', () => {
    const { batches } = concurrentTraceBatches('clownschool')
    const doc = new TextDoc('receiver')
    const tries = vi.spyOn(TextDoc.prototype as unknown as { tryApply(): boolean }, 'tryApply')
    try {
      for (const batch of shuffled(batches, 4)) doc.applyRemote(batch)
      expect(doc.pendingCount()).toBe(0)
      expect(tries.mock.calls.length).toBeLessThan(4 * batches.length)
    } finally {
      tries.mockRestore()
    }
  }, 60_000)

  /** `n` keystrokes of one replica (typing, sometimes elsewhere, sometimes backspacing), one batch each. */
  function keystrokes(n: number): { batches: Uint8Array[]; text: string } {
    const rng = new Prng(n)
    const doc = new TextDoc('typist')
    const batches: Uint8Array[] = []
    let cursor = 0
    for (let i = 0; i < n; i++) {
      if (rng.chance(0.02)) cursor = rng.int(doc.length + 1)
      if (cursor > 0 && rng.chance(0.1)) batches.push(doc.localDelete(--cursor, 1))
      else batches.push(doc.localInsert(cursor++, String.fromCharCode(97 + rng.int(26))))
    }
    return { batches, text: doc.toString() }
  }

  // Each arrival parks on its predecessor; the last one to arrive releases the other 19,999 in one
  // cascade. Rescanning every parked op after each release took ~270 s here (20,000 passes over up
  // to 20,000 parked ops); indexed, the whole test takes about a second.
  it('20,000 single-op batches of one replica, delivered newest first', () => {
    const { batches, text } = keystrokes(20_000)
    const doc = new TextDoc('receiver')
    let model = ''
    for (let i = batches.length - 1; i >= 1; i--) expect(doc.applyRemote(batches[i]!)).toEqual([])
    expect(doc.pendingCount()).toBe(19_999)
    model = applyChanges(model, doc.applyRemote(batches[0]!))
    expect(doc.toString()).toBe(text)
    expect(model).toBe(text)
    expect(doc.pendingCount()).toBe(0)
  }, 20_000)

  // The same cascade after a restart: the parked ops are saved, loaded back (still parked) and
  // released when the missing op arrives. Took ~85 s with the rescans.
  it('a reopened replica with 20,000 parked ops releases them when the missing op arrives', () => {
    const { batches, text } = keystrokes(20_000)
    const doc = new TextDoc('receiver')
    for (const batch of shuffled(batches.slice(1), 5)) doc.applyRemote(batch)
    expect(doc.pendingCount()).toBe(19_999)
    const reopened = TextDoc.load(doc.save(), 'reopened')
    expect(reopened.pendingCount()).toBe(19_999)
    expect(reopened.toString()).toBe('')
    reopened.applyRemote(batches[0]!)
    expect(reopened.toString()).toBe(text)
    expect(reopened.pendingCount()).toBe(0)
  }, 20_000)
})

describe('parked duplicates and overlaps', () => {
  /** `text` typed into `doc` one keystroke at a time from `at`; the batches. */
  function type(doc: TextDoc, at: number, text: string): Uint8Array[] {
    return [...text].map((c, i) => doc.localInsert(at + i, c))
  }

  it('the same op delivered twice while parked is parked once and applied once', () => {
    const a = new TextDoc('a')
    const [x, y] = type(a, 0, 'xy') as [Uint8Array, Uint8Array]
    const b = new TextDoc('b')
    b.applyRemote(y)
    b.applyRemote(y)
    expect(b.pendingCount()).toBe(1)
    expect(applyChanges('', b.applyRemote(x))).toBe('xy')
    expect(b.pendingCount()).toBe(0)
    expect(b.applyRemote(y)).toEqual([])
    expect(b.toString()).toBe('xy')
  })

  it('a longer version of a parked insert replaces it; a shorter one is dropped', () => {
    const z = new TextDoc('z')
    const fromZ = z.localInsert(0, 'z')
    const a = new TextDoc('a')
    a.applyRemote(fromZ)
    // Typed before z: every version of the run waits for z, its right origin.
    const versions: Uint8Array[] = []
    for (let i = 0; i < 300; i++) {
      a.localInsert(i, 'abc'[i % 3]!)
      versions.push(a.changesSince({ z: 1 })) // one op: the run so far, a1…a(i+1)
    }
    const b = new TextDoc('b')
    // Each longer version replaces the parked one (leaving it stale in the index), then every
    // shorter one is dropped.
    for (const batch of versions) b.applyRemote(batch)
    for (const batch of [...versions].reverse()) b.applyRemote(batch)
    expect(b.pendingCount()).toBe(1)
    const saved = TextDoc.load(b.save(), 'b2')
    for (const doc of [b, saved]) {
      expect(applyChanges('', doc.applyRemote(fromZ))).toBe(a.toString())
      expect(doc.toString()).toBe(a.toString())
      expect(doc.pendingCount()).toBe(0)
      expect(normalizeVersion(doc.version())).toEqual(normalizeVersion(a.version()))
    }
  })

  it('a longer parked delete that waits for a later target than the one it replaced', () => {
    const a = new TextDoc('a')
    const typed = a.localInsert(0, 'abcdef')
    const c = new TextDoc('c')
    c.applyRemote(typed)
    const first = c.localDelete(0, 1) // c1 deletes a1
    c.localDelete(0, 1) // c2 deletes a2: the log merges them into one op over a1…a2
    const both = c.changesSince({ a: 6 })
    const b = new TextDoc('b')
    b.applyRemote(first) // parked on a1
    b.applyRemote(both) // replaces it, parked on a2
    expect(b.pendingCount()).toBe(1)
    b.applyRemote(typed)
    expect(b.toString()).toBe('cdef')
    expect(b.pendingCount()).toBe(0)
    expect(normalizeVersion(b.version())).toEqual(normalizeVersion(c.version()))
  })

  it('a parked run that something else partly applied meanwhile applies only its new part', () => {
    const a = new TextDoc('a')
    type(a, 0, 'abcd')
    const firstFour = a.changesSince({}) // a1…a4 as one op
    type(a, 4, 'e')
    const lastThree = a.changesSince({ a: 2 }) // a3…a5 as one op
    const b = new TextDoc('b')
    b.applyRemote(lastThree) // parked on a2
    expect(b.pendingCount()).toBe(1)
    let model = applyChanges('', b.applyRemote(firstFour))
    expect(model).toBe('abcde')
    expect(b.pendingCount()).toBe(0)
    model = applyChanges(model, b.applyRemote(lastThree))
    expect(b.toString()).toBe('abcde')
    expect(model).toBe('abcde')
    expect(b.history().map((h) => [h.counter, h.length])).toEqual([
      [1, 4],
      [5, 1],
    ])
  })

  it('an op parked on one dependency parks again on the next one it lacks', () => {
    const a = new TextDoc('a')
    const c = new TextDoc('c')
    const fromA = a.localInsert(0, 'left ')
    c.applyRemote(fromA)
    const fromC = c.localInsert(5, 'right')
    const m = new TextDoc('m')
    m.applyRemote(fromA)
    m.applyRemote(fromC)
    const mid = m.localInsert(5, 'middle ') // its origins: a5 (the space) on the left, c1 on the right
    const mid2 = m.localInsert(12, '!') // a new op (its own right origin): waits for mid first
    const b = new TextDoc('b')
    b.applyRemote(mid2)
    b.applyRemote(mid)
    expect(b.pendingCount()).toBe(2)
    b.applyRemote(fromA) // releases mid, which now lacks c's character
    expect(b.pendingCount()).toBe(2)
    expect(b.toString()).toBe('left ')
    b.applyRemote(fromC)
    expect(b.toString()).toBe('left middle !right')
    expect(b.toString()).toBe(m.toString())
    expect(b.pendingCount()).toBe(0)
  })

  // Only a replica ID used twice can make this happen; kept as the rescan did it: local edits
  // report no remote changes, so what waited on them goes with the next batch that applies.
  it('an op waiting for a counter of this replica goes once a later batch applies', () => {
    const twin = new TextDoc('me')
    const o = new TextDoc('o')
    o.applyRemote(twin.localInsert(0, 'ab'))
    const after = o.localInsert(2, '!') // left origin: me2
    const doc = new TextDoc('me')
    doc.applyRemote(after)
    expect(doc.pendingCount()).toBe(1)
    doc.localInsert(0, 'xy') // me1, me2 here
    expect(doc.pendingCount()).toBe(1)
    doc.applyRemote(new TextDoc('p').localInsert(0, 'p'))
    expect(doc.pendingCount()).toBe(0)
    expect(doc.toString()).toMatch(/^p?xy!p?$/)
  })
})
