import { describe, expect, it } from 'vitest'
import {
  CrdtDecodeError,
  LwwMap,
  TextDoc,
  type TextChange,
  type VersionVector,
} from '../../../src/shared/crdt'
import { applyChanges, normalizeVersion } from './harness'

/** Applies a batch and checks that the reported changes turn the old text into the new one. */
function receive(doc: TextDoc, batch: Uint8Array): TextChange[] {
  const before = doc.toString()
  const changes = doc.applyRemote(batch)
  expect(applyChanges(before, changes)).toBe(doc.toString())
  expect(doc.length).toBe(doc.toString().length)
  return changes
}

function snapshot(doc: TextDoc): { text: string; version: VersionVector; pending: number } {
  return { text: doc.toString(), version: normalizeVersion(doc.version()), pending: doc.pendingCount() }
}

/** A document typed one keystroke at a time; returns the doc and one batch per keystroke. */
function typed(replica: string, text: string): { doc: TextDoc; batches: Uint8Array[] } {
  const doc = new TextDoc(replica)
  const batches: Uint8Array[] = []
  for (const ch of text) batches.push(doc.localInsert(doc.length, ch))
  return { doc, batches }
}

describe('TextDoc local editing', () => {
  it('starts empty', () => {
    const doc = new TextDoc('r1')
    expect(doc.replica).toBe('r1')
    expect(doc.length).toBe(0)
    expect(doc.toString()).toBe('')
    expect(normalizeVersion(doc.version())).toEqual({})
    expect(doc.pendingCount()).toBe(0)
  })

  it('inserts and deletes at UTF-16 positions, CRLF and emoji included', () => {
    const doc = new TextDoc('r1')
    doc.localInsert(0, 'line one\r\nline two')
    doc.localInsert(8, ' 😀')
    expect(doc.toString()).toBe('line one 😀\r\nline two')
    expect(doc.length).toBe(21)
    doc.localDelete(8, 3) // ' 😀' is three code units
    expect(doc.toString()).toBe('line one\r\nline two')
    doc.localDelete(8, 2)
    doc.localInsert(8, '\n')
    doc.localInsert(doc.length, '👍🏽')
    expect(doc.toString()).toBe('line one\nline two👍🏽')
    expect(doc.length).toBe('line one\nline two👍🏽'.length)
  })

  it('returns a Uint8Array batch per edit that later edits do not alter', () => {
    const doc = new TextDoc('r1')
    const first = doc.localInsert(0, 'abc')
    const copy = first.slice()
    for (let i = 0; i < 50; i++) doc.localInsert(doc.length, 'x')
    doc.localDelete(0, 10)
    expect(first).toBeInstanceOf(Uint8Array)
    expect(first).toEqual(copy)
  })

  it('throws RangeError for positions outside [0, length], changing nothing', () => {
    const doc = new TextDoc('r1')
    doc.localInsert(0, 'hello')
    const before = snapshot(doc)
    expect(() => doc.localInsert(-1, 'x')).toThrow(RangeError)
    expect(() => doc.localInsert(6, 'x')).toThrow(RangeError)
    expect(() => doc.localDelete(-1, 1)).toThrow(RangeError)
    expect(() => doc.localDelete(0, 6)).toThrow(RangeError)
    expect(() => doc.localDelete(5, 1)).toThrow(RangeError)
    expect(() => doc.localDelete(4, 2)).toThrow(RangeError)
    expect(() => doc.localDelete(6, 0)).toThrow(RangeError)
    expect(() => doc.localDelete(2, -1)).toThrow(RangeError)
    expect(() => new TextDoc('r2').localInsert(1, 'x')).toThrow(RangeError)
    expect(() => new TextDoc('r2').localDelete(0, 1)).toThrow(RangeError)
    expect(snapshot(doc)).toEqual(before)
    // The edges themselves are fine.
    doc.localInsert(5, '!')
    doc.localInsert(0, '¡')
    doc.localDelete(doc.length, 0)
    expect(doc.toString()).toBe('¡hello!')
  })

  it('never splits a surrogate pair', () => {
    const doc = new TextDoc('r1')
    doc.localInsert(0, 'a😀b😀😀')
    // positions: a=0, 😀=1..2, b=3, 😀=4..5, 😀=6..7
    const before = snapshot(doc)
    for (const bad of [2, 5, 7]) expect(() => doc.localInsert(bad, 'x')).toThrow(RangeError)
    expect(() => doc.localDelete(2, 1)).toThrow(RangeError) // starts inside
    expect(() => doc.localDelete(2, 2)).toThrow(RangeError)
    expect(() => doc.localDelete(0, 2)).toThrow(RangeError) // ends inside
    expect(() => doc.localDelete(1, 1)).toThrow(RangeError)
    expect(() => doc.localDelete(3, 2)).toThrow(RangeError)
    expect(() => doc.localDelete(5, 3)).toThrow(RangeError)
    expect(() => doc.localDelete(2, 0)).toThrow(RangeError) // an empty range inside a pair
    expect(snapshot(doc)).toEqual(before)
    doc.localInsert(6, '|') // between two adjacent pairs
    doc.localDelete(1, 2)
    expect(doc.toString()).toBe('ab😀|😀')
  })

  it('knows about pairs that arrived from remote replicas and from a snapshot', () => {
    const a = new TextDoc('a')
    const b = new TextDoc('b')
    receive(b, a.localInsert(0, 'x𝔸y'))
    expect(() => b.localInsert(2, '!')).toThrow(RangeError)
    expect(() => b.localDelete(1, 1)).toThrow(RangeError)
    const c = TextDoc.load(b.save(), 'c')
    expect(() => c.localInsert(2, '!')).toThrow(RangeError)
    expect(() => c.localDelete(2, 2)).toThrow(RangeError)
    c.localDelete(1, 2)
    expect(c.toString()).toBe('xy')
  })

  it('inserting empty text or deleting nothing is a no-op here and at every receiver', () => {
    const a = new TextDoc('a')
    const b = new TextDoc('b')
    receive(b, a.localInsert(0, 'abc'))
    const before = snapshot(a)
    const noops = [a.localInsert(1, ''), a.localDelete(1, 0), a.localInsert(3, ''), a.localDelete(3, 0)]
    expect(snapshot(a)).toEqual(before)
    for (const batch of noops) {
      expect(batch).toBeInstanceOf(Uint8Array)
      expect(receive(b, batch)).toEqual([])
      expect(receive(a, batch)).toEqual([])
    }
    expect(snapshot(b)).toEqual(before)
  })

  it('version() counts local ops under the replica ID, and grows with every edit', () => {
    const doc = new TextDoc('me')
    let last = 0
    const edits: (() => void)[] = [
      () => doc.localInsert(0, 'a'),
      () => doc.localInsert(1, 'bcd'),
      () => doc.localDelete(1, 1),
      () => doc.localInsert(0, '😀'),
      () => doc.localDelete(0, 4),
    ]
    for (const edit of edits) {
      edit()
      const v = normalizeVersion(doc.version())
      expect(Object.keys(v)).toEqual(['me'])
      expect(v.me).toBeGreaterThan(last)
      last = v.me!
    }
    // A returned vector is a copy.
    doc.version().me = 0
    expect(doc.version().me).toBe(last)
  })

  it('accepts replica IDs of 1 to 64 characters, not only ASCII', () => {
    const ids = ['x', 'é', '设备-1', 'a b', 'z'.repeat(64)]
    const docs = ids.map((id) => new TextDoc(id))
    const batches = docs.map((d, i) => d.localInsert(0, String(i)))
    const sink = new TextDoc('sink')
    for (const batch of batches) receive(sink, batch)
    expect(Object.keys(normalizeVersion(sink.version())).sort()).toEqual([...ids].sort())
    const loaded = TextDoc.load(sink.save(), 'sink2')
    expect(normalizeVersion(loaded.version())).toEqual(normalizeVersion(sink.version()))
  })
})

describe('TextDoc remote batches', () => {
  it('applies a remote batch and reports the visible change', () => {
    const a = new TextDoc('a')
    const b = new TextDoc('b')
    const changes = receive(b, a.localInsert(0, 'hello'))
    expect(b.toString()).toBe('hello')
    expect(changes.length).toBeGreaterThan(0)
    expect(receive(b, a.localInsert(2, 'X'))).toEqual([{ index: 2, deleted: 0, inserted: 'X' }])
    expect(receive(b, a.localDelete(3, 1))).toEqual([{ index: 3, deleted: 1, inserted: '' }])
    expect(b.toString()).toBe('heXlo')
    expect(normalizeVersion(b.version())).toEqual(normalizeVersion(a.version()))
  })

  it('is idempotent: a batch applied twice changes nothing the second time', () => {
    const a = new TextDoc('a')
    const b = new TextDoc('b')
    const batches = [a.localInsert(0, 'hello world'), a.localDelete(0, 6), a.localInsert(5, '!')]
    for (const batch of batches) {
      receive(b, batch)
      const after = snapshot(b)
      expect(receive(b, batch)).toEqual([])
      expect(snapshot(b)).toEqual(after)
    }
    // Own batches echoed back are ignored too.
    const own = snapshot(a)
    for (const batch of batches) expect(receive(a, batch)).toEqual([])
    expect(snapshot(a)).toEqual(own)
    expect(b.toString()).toBe('world!')
  })

  it('parks ops that arrive before their dependencies and releases them', () => {
    const a = new TextDoc('a')
    const b1 = a.localInsert(0, 'abc')
    const b2 = a.localInsert(3, 'def')
    const b3 = a.localDelete(1, 2)
    const b = new TextDoc('b')
    expect(receive(b, b3)).toEqual([])
    expect(receive(b, b2)).toEqual([])
    expect(b.toString()).toBe('')
    expect(b.pendingCount()).toBeGreaterThan(0)
    expect(normalizeVersion(b.version())).toEqual({})
    receive(b, b1)
    expect(b.toString()).toBe('adef')
    expect(b.pendingCount()).toBe(0)
    expect(normalizeVersion(b.version())).toEqual(normalizeVersion(a.version()))
  })

  it('a delete of a character not yet received waits for its insert', () => {
    const a = new TextDoc('a')
    const c = new TextDoc('c')
    const ins = a.localInsert(0, 'xyz')
    receive(c, ins)
    const del = c.localDelete(1, 1)
    const b = new TextDoc('b')
    receive(b, del)
    expect(b.pendingCount()).toBeGreaterThan(0)
    expect(b.toString()).toBe('')
    receive(b, ins)
    expect(b.toString()).toBe('xz')
    expect(b.pendingCount()).toBe(0)
  })

  it('does not count a parked op twice when it is delivered twice', () => {
    const a = new TextDoc('a')
    const first = a.localInsert(0, 'x')
    const second = a.localInsert(1, 'y')
    const b = new TextDoc('b')
    receive(b, second)
    const parked = b.pendingCount()
    expect(parked).toBeGreaterThan(0)
    expect(receive(b, second)).toEqual([])
    expect(receive(b, second)).toEqual([])
    expect(b.pendingCount()).toBe(parked)
    receive(b, first)
    expect(b.toString()).toBe('xy')
    expect(b.pendingCount()).toBe(0)
  })

  it('applies the batches of a long session in any order', () => {
    const { doc: a, batches } = typed('a', 'the quick brown fox')
    batches.push(a.localDelete(4, 6), a.localInsert(4, 'slow '))
    const b = new TextDoc('b')
    for (let i = batches.length - 1; i >= 0; i--) receive(b, batches[i]!)
    expect(b.toString()).toBe('the slow brown fox')
    expect(b.pendingCount()).toBe(0)
  })
})

describe('TextDoc changesSince', () => {
  it('brings a replica at v exactly up to date', () => {
    const { doc: a, batches } = typed('a', 'hello world')
    const b = new TextDoc('b')
    for (const batch of batches.slice(0, 4)) receive(b, batch)
    a.localDelete(0, 1)
    a.localInsert(0, 'H')
    receive(b, a.changesSince(b.version()))
    expect(b.toString()).toBe('Hello world')
    expect(normalizeVersion(b.version())).toEqual(normalizeVersion(a.version()))
    expect(b.pendingCount()).toBe(0)
  })

  it('cuts a run typed in one go at the counter the peer has seen', () => {
    const { doc: a, batches } = typed('a', 'abcdef')
    const d = new TextDoc('d')
    receive(d, batches[0]!)
    receive(d, batches[1]!)
    receive(d, a.changesSince(d.version()))
    expect(d.toString()).toBe('abcdef')
    expect(normalizeVersion(d.version())).toEqual(normalizeVersion(a.version()))
    expect(d.pendingCount()).toBe(0)
  })

  it('includes ops the source learnt from third replicas', () => {
    const a = new TextDoc('a')
    const b = new TextDoc('b')
    const c = new TextDoc('c')
    receive(b, a.localInsert(0, 'from a. '))
    receive(b, c.localInsert(0, 'from c. '))
    b.localInsert(b.length, 'from b.')
    const fresh = new TextDoc('d')
    receive(fresh, b.changesSince({}))
    expect(fresh.toString()).toBe(b.toString())
    expect(normalizeVersion(fresh.version())).toEqual(normalizeVersion(b.version()))
    receive(a, b.changesSince(a.version()))
    expect(a.toString()).toBe(b.toString())
  })

  it('changesSince(own version) is a batch that applies as a no-op', () => {
    const { doc: a, batches } = typed('a', 'sync me')
    const b = new TextDoc('b')
    for (const batch of batches) receive(b, batch)
    const nothing = a.changesSince(a.version())
    expect(nothing).toBeInstanceOf(Uint8Array)
    const before = snapshot(b)
    expect(receive(b, nothing)).toEqual([])
    expect(receive(a, nothing)).toEqual([])
    expect(snapshot(b)).toEqual(before)
    expect(receive(new TextDoc('c'), new TextDoc('e').changesSince({}))).toEqual([])
  })

  it('sends only what is missing, not the whole history', () => {
    const { doc: a, batches } = typed('a', 'x'.repeat(400))
    for (let i = 0; i < 100; i++) batches.push(a.localDelete(i * 3, 1))
    const b = new TextDoc('b')
    for (const batch of batches.slice(0, -1)) receive(b, batch)
    const delta = a.changesSince(b.version())
    expect(delta.length).toBeLessThan(a.changesSince({}).length / 10)
    expect(delta.length).toBeLessThanOrEqual(batches[batches.length - 1]!.length * 2)
    receive(b, delta)
    expect(b.toString()).toBe(a.toString())
  })

  it('ignores replicas and counters in v that it does not know', () => {
    const { doc: a } = typed('a', 'abc')
    const b = new TextDoc('b')
    receive(b, a.changesSince({ zzz: 99 }))
    expect(b.toString()).toBe('abc')
    expect(receive(b, a.changesSince({ a: 1000 }))).toEqual([])
  })
})

describe('TextDoc save and load', () => {
  it('preserves text, version and pending ops, and keeps editing and merging', () => {
    const a = new TextDoc('a')
    const b = new TextDoc('b')
    const early = a.localInsert(0, 'shared ')
    const late = a.localInsert(7, 'text')
    receive(b, late) // parked: it depends on `early`
    b.localInsert(0, '>> ')
    const parked = b.pendingCount()
    expect(parked).toBeGreaterThan(0)

    const saved = b.save()
    expect(saved).toBeInstanceOf(Uint8Array)
    const b2 = TextDoc.load(saved, 'b2')
    expect(b2.replica).toBe('b2')
    expect(snapshot(b2)).toEqual(snapshot(b))
    expect(b2.pendingCount()).toBe(parked)

    // The parked op is released when its dependency finally arrives.
    receive(b2, early)
    expect(b2.pendingCount()).toBe(0)
    // '>> ' and 'shared ' were typed concurrently into the empty document: either order is fine.
    expect(['>> shared text', 'shared text>> ']).toContain(b2.toString())

    // New edits are made under the new ID; the old ID's counter stays where it was.
    const oldCounter = normalizeVersion(b2.version()).b
    const edit = b2.localInsert(b2.length, '!')
    expect(normalizeVersion(b2.version()).b).toBe(oldCounter)
    expect(normalizeVersion(b2.version()).b2).toBeGreaterThan(0)

    receive(a, b2.changesSince(a.version()))
    expect(a.toString()).toBe(b2.toString())
    expect(a.toString().endsWith('!')).toBe(true)
    expect(receive(a, edit)).toEqual([])
    expect(normalizeVersion(a.version())).toEqual(normalizeVersion(b2.version()))
  })

  it('round-trips an empty document and a document whose text was all deleted', () => {
    const empty = TextDoc.load(new TextDoc('e').save(), 'e2')
    expect(empty.toString()).toBe('')
    expect(normalizeVersion(empty.version())).toEqual({})
    const doc = new TextDoc('d')
    doc.localInsert(0, 'gone 😀')
    doc.localDelete(0, doc.length)
    const loaded = TextDoc.load(doc.save(), 'd2')
    expect(snapshot(loaded)).toEqual(snapshot(doc))
    loaded.localInsert(0, 'back')
    expect(loaded.toString()).toBe('back')
  })

  it('keeps tombstones and history, so late concurrent ops still merge', () => {
    const a = new TextDoc('a')
    const b = new TextDoc('b')
    receive(b, a.localInsert(0, 'abcdef'))
    const late = b.localInsert(3, 'X') // concurrent with a's delete below
    a.localDelete(1, 4)
    const a2 = TextDoc.load(a.save(), 'a2')
    receive(a2, late)
    receive(b, a2.changesSince(b.version()))
    expect(a2.toString()).toBe('aXf')
    expect(b.toString()).toBe('aXf')
    // The full history survives a reload: a fresh replica can be rebuilt from it.
    const fresh = new TextDoc('fresh')
    receive(fresh, TextDoc.load(a2.save(), 'a3').changesSince({}))
    expect(fresh.toString()).toBe('aXf')
  })

  it('rejects malformed bytes with CrdtDecodeError', () => {
    const good = new TextDoc('g')
    good.localInsert(0, 'some text')
    const saved = good.save()
    const attempts = [new Uint8Array([1, 2, 3]), saved.subarray(0, saved.length - 1), saved.subarray(1)]
    for (const bytes of attempts) {
      let thrown: unknown
      try {
        TextDoc.load(bytes, 'x')
      } catch (error) {
        thrown = error
      }
      expect(thrown).toBeInstanceOf(CrdtDecodeError)
      expect((thrown as CrdtDecodeError).code).toBe('CRDT_DECODE')
    }
  })

  it('rejects malformed batches and LwwMap batches, applying nothing', () => {
    const a = new TextDoc('a')
    const b = new TextDoc('b')
    const batch = a.localInsert(0, 'hello')
    receive(b, batch)
    const before = snapshot(b)
    const map = new LwwMap<number>('m', { clock: () => 1 })
    const foreign = [map.set('k', 1), map.save(), batch.subarray(0, batch.length - 2), new Uint8Array([0xff])]
    for (const bytes of foreign) {
      expect(() => b.applyRemote(bytes)).toThrow(CrdtDecodeError)
      expect(snapshot(b)).toEqual(before)
    }
  })
})
