/**
 * `TextDoc.loadState` leaves the spans encoded until something needs them, then makes Span objects leaf
 * by leaf, as edits and ID lookups reach them (text-state.ts, span-columns.ts, loaded-spans.ts). These
 * tests pin that a document so loaded behaves exactly as the one saved, whatever is touched first and
 * wherever; that reading it needs no span; that damaged spans give CrdtDecodeError and change nothing;
 * and that states written before (kind 6, spans first) still load.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { gunzipSync } from 'node:zlib'
import { describe, expect, it } from 'vitest'
import { DamagedStateError, TextDoc } from '../../../src/shared/crdt'
import { InsertOp } from '../../../src/shared/crdt/ops'
import { Span } from '../../../src/shared/crdt/span'
import { encodeLogChunk } from '../../../src/shared/crdt/log-chunk'
import { decodeTextState, encodeTextState, spansOf } from '../../../src/shared/crdt/text-state'
import { Prng, randomDeleteRange, randomInsertIndex, randomText } from './harness'
import { seededDoc, seededDocs, seededOddDoc, seededTime } from './seeded-docs'

const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/text-state-v6')
const FIXTURES_V8 = path.resolve(import.meta.dirname, '../../fixtures/text-state-v8')
const NOW = 1_800_000_000_000
const EDITS = 1500
/** The clock of the documents `seededDoc` made, which loaded ones must share to log the same times. */
const clock = (): number => seededTime(EDITS)
const make = (replica: string, clock: () => number): TextDoc => new TextDoc(replica, { clock })

/** Every character in sequence order, tombstones included, as runs of IDs. */
function runs(doc: TextDoc): string[] {
  const out: string[] = []
  doc.forEachRun((replica, counter, length) => out.push(`${replica}:${counter}+${length}`))
  return out
}

/**
 * That two states hold the same document: every section alike, the log as the ops it decodes to, with
 * their texts. (Its chunks' bytes may differ: a state loaded keeps the chunks it was given as they are,
 * in the form they were written in; and a chunk of form 3 decodes whole only with the rest of the state.)
 */
function expectSameState(x: Uint8Array, y: Uint8Array): void {
  const [dx, dy] = [x, y].map((bytes) => decodeTextState(bytes, (r) => r.map((_, i) => i)))
  const { log: _lx, spans: _sx, pending: px, ...restX } = dx!
  const { log: _ly, spans: _sy, pending: py, ...restY } = dy!
  expect(restX).toEqual(restY)
  expect(spansOf(dx!)).toEqual(spansOf(dy!))
  expect(px).toEqual(py)
  const [lx, ly] = [x, y].map((bytes) => TextDoc.loadState(bytes, 'reader', { clock: () => NOW }))
  expect(lx!.history()).toEqual(ly!.history())
  expect(lx!.changesSince({})).toEqual(ly!.changesSince({}))
}

/**
 * Does the same random things to `a` (the document saved, never loaded) and `b` (loaded from its
 * state), checking after each that both answer alike: ID lookups of characters anywhere (deleted ones
 * too), remote ops from `peers` (inserts after tombstones; deletes across many leaves, and, from peers
 * that lack some of a's ops, of runs that a holds in pieces), local edits. Ends with both holding the
 * same sequence and history.
 */
function expectSameBehaviour(a: TextDoc, b: TextDoc, peers: readonly TextDoc[], rng: Prng): void {
  expect(b.toString()).toBe(a.toString())
  const ids = a.history().flatMap((entry) =>
    entry.kind === 'insert'
      ? Array.from({ length: Math.min(entry.length, 3) }, (_, i) => ({
          replica: entry.replica,
          counter: entry.counter + i,
        }))
      : [],
  )
  for (let step = 0; step < 120; step++) {
    const what = rng.int(4)
    if (what === 0) {
      for (let i = 0; i < 5; i++) {
        const id = rng.pick(ids)
        expect(b.indexOfId(id)).toBe(a.indexOfId(id))
        expect(b.cursorIndex(id)).toBe(a.cursorIndex(id))
      }
    } else if (what === 1) {
      const peer = rng.pick(peers)
      const text = peer.toString()
      const batch =
        text.length > 0 && rng.chance(0.4)
          ? (({ index, length }) => peer.localDelete(index, length))(
              randomDeleteRange(rng, text, rng.chance(0.3) ? text.length : 30),
            )
          : peer.localInsert(randomInsertIndex(rng, text), randomText(rng))
      expect(b.applyRemote(batch)).toEqual(a.applyRemote(batch))
    } else if (what === 2) {
      const text = a.toString()
      if (text.length > 0 && rng.chance(0.4)) {
        const { index, length } = randomDeleteRange(rng, text)
        expect(b.localDelete(index, length)).toEqual(a.localDelete(index, length))
      } else {
        const index = randomInsertIndex(rng, text)
        const inserted = randomText(rng)
        expect(b.localInsert(index, inserted)).toEqual(a.localInsert(index, inserted))
      }
    } else if (a.length > 0) {
      const index = rng.int(a.length)
      expect(b.idAt(index)).toEqual(a.idAt(index))
    }
    expect(b.toString()).toBe(a.toString())
    expect(b.length).toBe(a.length)
  }
  expect(b.authorRuns()).toEqual(a.authorRuns())
  expect(runs(b)).toEqual(runs(a))
  expect(b.version()).toEqual(a.version())
  expect(b.history()).toEqual(a.history())
  expect(TextDoc.loadState(b.saveState(), 'again').toString()).toBe(a.toString())
}

describe('TextDoc.loadState with spans left encoded', () => {
  for (const seed of [11, 12, 13, 14, 15, 16]) {
    it(`seed ${seed}: a loaded document behaves as the saved one, wherever it is first touched`, () => {
      const [a, ...stale] = seededDocs(make, seed, EDITS)
      const state = a!.saveState()
      expect(decodeTextState(state, (r) => r.map((_, i) => i)).leaves.length).toBeGreaterThan(20)
      const b = TextDoc.loadState(state, a!.replica, { clock })
      const peer = TextDoc.loadState(state, `peer${seed}`, { clock })
      expectSameBehaviour(a!, b, [peer, ...stale], new Prng(seed))
    })
  }

  it('applies a remote delete of a run that the loaded document holds in pieces across leaves', () => {
    const x = new TextDoc('x', { clock: () => NOW })
    const run = 'abcdefghij'.repeat(40)
    const stale = new TextDoc('y')
    stale.applyRemote(x.localInsert(0, run))
    // z types between the run's characters: x holds the run in 200 pieces, over several leaves.
    const z = new TextDoc('z')
    z.applyRemote(x.changesSince({}))
    for (let i = 398; i > 0; i -= 2) x.applyRemote(z.localInsert(i, '-'))
    const b = TextDoc.loadState(x.saveState(), 'b')
    expect(decodeTextState(x.saveState(), (r) => r.map((_, i) => i)).leaves.length).toBeGreaterThan(5)
    // y never saw z's inserts: to it the run is one span, and its delete one op over all of x:1-400.
    const batch = stale.localDelete(0, run.length)
    expect(b.applyRemote(batch)).toEqual(x.applyRemote(batch))
    expect(b.toString()).toBe('-'.repeat(199))
    expect(b.toString()).toBe(x.toString())
  })

  it('reads the text, version and history without decoding the spans, and rebuilds damaged ones from the history', () => {
    const a = seededDoc(make, 21, 800)
    const state = a.saveState()
    // The spans are the state's last section: cut short, or with their last bytes garbled.
    const damaged = [state.slice(0, state.length - 3), state.slice()]
    damaged[1]!.fill(0xff, state.length - 4)
    for (const bytes of damaged) {
      const b = TextDoc.loadState(bytes, 'bob', { clock: () => NOW })
      expect(b.toString()).toBe(a.toString())
      expect(b.length).toBe(a.length)
      expect(b.version()).toEqual(a.version())
      expect(b.changesSince({})).toEqual(a.changesSince({}))
      expect(b.history()).toEqual(a.history())
      // The first use of the spans finds them damaged, and rebuilds them from the history: every
      // edit then does what it does on the undamaged copy.
      const good = TextDoc.loadState(state, 'bob', { clock: () => NOW })
      const peer = TextDoc.loadState(state, 'peer', { clock: () => NOW })
      const peerBatch = peer.localInsert(0, 'from a peer')
      for (const doc of [b, good]) {
        doc.applyRemote(peerBatch)
        doc.localInsert(0, 'xy') // at 0, and deleting what it typed: the text has surrogate pairs
        doc.localDelete(1, 1)
      }
      expect(b.repairs).toHaveLength(1)
      expect(good.repairs).toEqual([])
      expect(b.toString()).toBe(good.toString())
      expect(b.version()).toEqual(good.version())
      expect(b.idAt(0)).toEqual(good.idAt(0))
      expect(TextDoc.loadState(b.saveState(), 'carol').toString()).toBe(good.toString())
    }
  })

  it('throws DamagedStateError only when the history cannot rebuild damaged spans either', () => {
    const a = seededDoc(make, 22, 300)
    const { state, history } = a.saveStateApart()
    expect(history.length).toBeGreaterThan(0)
    const bytes = state.slice()
    bytes.fill(0xff, bytes.length - 4)
    // The history kept apart, given back with one chunk's ops from another document.
    const other = seededDoc(make, 23, 300).saveStateApart().history
    const b = TextDoc.loadState(bytes, 'bob', { clock: () => NOW, history: [other[0]!, ...history.slice(1)] })
    expect(b.toString()).toBe(a.toString())
    expect(() => b.localInsert(0, 'x')).toThrow(DamagedStateError)
    expect(b.toString()).toBe(a.toString())
    expect(b.version()).toEqual(a.version())
  })

  it('checks that no two spans hold one character before any remote op applies', () => {
    const doc = new TextDoc('x', { clock: () => NOW })
    doc.localInsert(0, 'abcde')
    const decoded = decodeTextState(doc.saveState(), (r) => r.map((_, i) => i))
    const none = -1
    // x:1-3 and x:2-3 overlap; the lengths still add up to the text.
    const spans = [new Span(0, 1, 'abc', false, none, 0, none, 0), new Span(0, 2, 'de', false, 0, 3, none, 0)]
    const state = encodeTextState({
      replicas: decoded.replicas,
      seen: decoded.seen,
      spans,
      leaves: [2],
      lastLocal: -1,
      text: 'abcde',
      loneSurrogates: false,
      pending: [],
      log: decoded.log,
    })
    const b = TextDoc.loadState(state, 'y')
    expect(b.toString()).toBe('abcde')
    const peer = new TextDoc('z')
    peer.applyRemote(doc.changesSince({}))
    const batch = peer.localInsert(2, 'Q')
    // Found before the op applies, and the spans rebuilt from the history: the op then applies as on
    // the undamaged document.
    const changes = b.applyRemote(batch)
    expect(changes).toEqual(doc.applyRemote(batch))
    expect(b.repairs).toEqual([expect.stringMatching(/two spans hold the same character/)])
    expect(b.toString()).toBe(doc.toString())
    expect(b.version()).toEqual(doc.version())
    expect(b.indexOfId({ replica: 'x', counter: 2 })).toBe(doc.indexOfId({ replica: 'x', counter: 2 }))
  })

  it('finds the spans of counters too large for the sort keys (beyond 2^51)', () => {
    const c = 2 ** 51
    const op = new InsertOp(0, c, 'abc', -1, 0, -1, 0)
    op.time = 1
    // Three spans of x out of counter order ('b', 'a', 'c'), the version at their end.
    const none = -1
    const spans = [
      new Span(0, c + 1, 'b', false, 0, c, none, 0),
      new Span(0, c, 'a', false, none, 0, 0, c + 1),
      new Span(0, c + 2, 'c', false, 0, c + 1, none, 0),
    ]
    const state = encodeTextState({
      replicas: ['x'],
      seen: [c + 2],
      spans,
      leaves: [3],
      lastLocal: -1,
      text: 'bac',
      loneSurrogates: false,
      pending: [],
      log: [encodeLogChunk(['x'], [op])],
    })
    const b = TextDoc.loadState(state, 'y')
    expect([0, 1, 2].map((i) => b.indexOfId({ replica: 'x', counter: c + i }))).toEqual([1, 0, 2])
    const peer = TextDoc.loadState(state, 'z')
    const changes = b.applyRemote(peer.localInsert(2, 'Q'))
    expect(changes).toEqual([{ index: 2, deleted: 0, inserted: 'Q' }])
    expect(b.toString()).toBe('baQc')
  })
})

describe('an editing trace, loaded part way', () => {
  it('automerge-paper: loaded after 60,000 edits, behaves as the replica never saved, with a stale peer', () => {
    const file = path.resolve(process.cwd(), '../shared/traces/automerge-paper.json.gz')
    const trace = JSON.parse(gunzipSync(readFileSync(file)).toString('utf8')) as {
      txns: { patches: [number, number, string][] }[]
    }
    const patches = trace.txns.flatMap((txn) => txn.patches)
    let now = NOW
    const clock = (): number => now
    const a = new TextDoc('author', { clock })
    let stale: TextDoc | null = null
    for (let i = 0; i < 60_000; i++) {
      now += 1000
      const [pos, del, ins] = patches[i]!
      if (del > 0) a.localDelete(pos, del)
      if (ins.length > 0) a.localInsert(pos, ins)
      // A peer that stopped hearing from the author at 40,000 edits: its edits are concurrent with
      // the next 20,000, and its deletes name runs the author has since cut in pieces.
      if (i === 40_000) stale = TextDoc.loadState(a.saveState(), 'stale', { clock })
    }
    const state = a.saveState()
    const b = TextDoc.loadState(state, 'author', { clock })
    const peer = TextDoc.loadState(state, 'peer', { clock })
    expectSameBehaviour(a, b, [peer, stale!], new Prng(7))
  })
})

describe('text states of kind 6 (spans before the leaves), as written before', () => {
  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: loads as the document it was saved from, and saves it in the current form`, () => {
      const v6 = new Uint8Array(readFileSync(path.join(FIXTURES, `seed-${seed}.bin`)))
      expect(v6[0]! >> 4).toBe(6)
      // The fixture's document, rebuilt by this code from the same seed.
      const a = seededDoc(make, seed, EDITS)
      const b = TextDoc.loadState(v6, a.replica, { clock })
      expect(b.toString()).toBe(a.toString())
      expect(b.history()).toEqual(a.history())
      const resaved = b.saveState()
      expect(resaved[0]! >> 4).toBe(9)
      expectSameState(resaved, a.saveState())
      const peer = TextDoc.loadState(v6, `peer${seed}`, { clock })
      expectSameBehaviour(a, TextDoc.loadState(v6, a.replica, { clock }), [peer], new Prng(seed))
    })
  }
})

describe('text states of kind 8 (spans last, uncompressed), as written before', () => {
  const cases = [
    ...[1, 2, 3].map((seed) => ({
      file: `seed-${seed}.bin`,
      seed,
      build: () => seededDoc(make, seed, EDITS),
    })),
    // A lone surrogate (its text kept as UTF-16) and a parked op.
    { file: 'odd-4.bin', seed: 4, build: () => seededOddDoc(make, 4, 400) },
  ]
  for (const { file, seed, build } of cases) {
    it(`${file}: loads as the document it was saved from, and saves it in the current form`, () => {
      const v8 = new Uint8Array(readFileSync(path.join(FIXTURES_V8, file)))
      expect(v8[0]! >> 4).toBe(8)
      const a = build()
      const oddClock = seed === 4 ? () => seededTime(400) : clock
      const b = TextDoc.loadState(v8, a.replica, { clock: oddClock })
      expect(b.toString()).toBe(a.toString())
      expect(b.version()).toEqual(a.version())
      expect(b.history()).toEqual(a.history())
      expect(runs(b)).toEqual(runs(a))
      expectSameState(b.saveState(), a.saveState())
      const peer = TextDoc.loadState(v8, `peer${seed}`, { clock: oddClock })
      expectSameBehaviour(a, TextDoc.loadState(v8, a.replica, { clock: oddClock }), [peer], new Prng(seed))
    })
  }
})
