/**
 * `TextDoc.saveState()` / `loadState()` (src/shared/crdt/text-state.ts): a document rebuilt from its state
 * is the same document. Seeded random multi-replica histories (parked ops, surrogate pairs, a U+FEFF
 * first, tombstones, restarts through the state form) are saved as state and loaded as B; then the same
 * further local and remote ops go to the original A and to B (concurrent inserts at one place, deletes
 * of deleted ranges, late ops that release parked ones, typing that continues the last op) and every
 * observable must stay identical: text, version, parked ops, the batches they produce, changesSince,
 * history, textAfter, save(), insertion times, cursor anchors, and the spans of a new state.
 */
import { describe, expect, it } from 'vitest'
import { CrdtDecodeError, TextDoc, type CharId } from '../../../src/shared/crdt'
import { InsertOp } from '../../../src/shared/crdt/ops'
import type { Span } from '../../../src/shared/crdt/span'
import { encodeTextOps } from '../../../src/shared/crdt/text-codec'
import { decodeTextState, spansOf } from '../../../src/shared/crdt/text-state'
import {
  Prng,
  applyChanges,
  isBoundary,
  normalizeVersion,
  randomDeleteRange,
  randomInsertIndex,
  randomText,
} from './harness'

const SEEDS = Array.from({ length: 320 }, (_, i) => i + 1)
const ID_BASES = ['a', 'peer', 'Z-', 'ü', 'node_', 'p q']

/** A clock shared by every replica of a case, advanced by the case: history times are compared. */
class Clock {
  ms = 1_700_000_000_000
  readonly now = (): number => this.ms
}

/** Deep equality, checked fast (these run ~100 times per case); vitest's diff only on a mismatch. */
function expectSame(actual: unknown, expected: unknown): void {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) expect(actual).toEqual(expected)
}

function expectSameBytes(actual: Uint8Array, expected: Uint8Array): void {
  if (Buffer.compare(actual, expected) !== 0) expect(actual).toEqual(expected)
}

/** What a document looks like from outside, as far as it can be read without changing it. */
function observe(doc: TextDoc): unknown {
  return {
    text: doc.toString(),
    length: doc.length,
    version: normalizeVersion(doc.version()),
    pending: doc.pendingCount(),
    authors: doc.authorRuns(),
  }
}

/** The spans of a state, as replica names, with adjacent spans that continue each other joined. */
function canonicalSpans(state: Uint8Array): unknown[] {
  const decoded = decodeTextState(state, (names) => names.map((_, i) => i))
  const name = (agent: number): string | null => (agent < 0 ? null : decoded.replicas[agent]!)
  const runs: Span[] = []
  for (const span of spansOf(decoded)) {
    const last = runs[runs.length - 1]
    if (last && last.canAbsorb(span)) last.absorb(span)
    else runs.push(span)
  }
  return runs.map((span) => [
    name(span.agent),
    span.counter,
    span.len,
    span.deleted,
    span.text,
    name(span.originLeftAgent),
    span.originLeftCounter,
    name(span.originRightAgent),
    span.originRightCounter,
  ])
}

/** Every observable of A and B, including the ones that decode the history. */
function expectSameDocument(a: TextDoc, b: TextDoc, rng: Prng, ids: readonly CharId[]): void {
  expectSame(observe(b), observe(a))
  expectSameBytes(b.changesSince({}), a.changesSince({}))
  const history = a.history()
  expectSame(b.history(), history)
  const steps = new Set([0, 1, history.length >> 1, history.length - 1, history.length])
  for (let i = 0; i < 3; i++) steps.add(rng.int(history.length + 1))
  for (const k of steps) if (k >= 0 && k <= history.length) expect(b.textAfter(k)).toBe(a.textAfter(k))
  expectSameBytes(b.save(), a.save())
  for (const id of ids) {
    expect(b.insertedAt(id)).toBe(a.insertedAt(id))
    expect(b.indexOfId(id)).toBe(a.indexOfId(id))
    expect(b.cursorIndex(id)).toBe(a.cursorIndex(id))
  }
  for (let i = 0; i < 5; i++) {
    const at = rng.int(a.length + 1)
    expect(b.cursorAnchor(at)).toEqual(a.cursorAnchor(at))
    if (at < a.length) expect(b.idAt(at)).toEqual(a.idAt(at))
  }
  expectSame(canonicalSpans(b.saveState()), canonicalSpans(a.saveState()))
}

/** IDs to probe: characters of the history (deleted ones included), some not yet known. */
function probeIds(doc: TextDoc, rng: Prng): CharId[] {
  const ids: CharId[] = []
  for (const entry of doc.history()) {
    if (entry.kind === 'insert' && rng.chance(0.3)) {
      ids.push({ replica: entry.replica, counter: entry.counter + rng.int(entry.length) })
    }
  }
  ids.push({ replica: doc.replica, counter: 1_000_000 }, { replica: 'nobody', counter: 1 })
  return ids
}

class Case {
  readonly rng: Prng
  readonly clock = new Clock()
  /** The document under test (A), and the other replicas that edit concurrently. */
  a: TextDoc
  readonly peers: TextDoc[] = []
  /** Every batch made so far; `deliveredToA` holds the ones A has applied. */
  readonly sent: Uint8Array[] = []
  readonly deliveredToA = new Set<number>()
  private generation = 0
  freshRestarts = 0

  constructor(readonly seed: number) {
    this.rng = new Prng(seed)
    this.a = new TextDoc(this.id('a'), { clock: this.clock.now })
    for (let i = this.rng.range(1, 3); i > 0; i--) {
      this.peers.push(new TextDoc(this.id(`p${i}`), { clock: this.clock.now }))
    }
  }

  private id(prefix: string): string {
    return `${this.rng.pick(ID_BASES)}${prefix}_${this.seed}_${this.generation++}`
  }

  tick(): void {
    // Mostly keystrokes apart; sometimes past the 60 s window in which the log merges typing.
    this.clock.ms += this.rng.chance(0.1) ? 90_000 : this.rng.int(5_000)
  }

  /** A random insert or delete on `docs` (one replica, or A and B in step); returns the batch. */
  edit(docs: readonly TextDoc[]): Uint8Array {
    const text = docs[0]!.toString()
    let batch: Uint8Array | undefined
    if (text.length === 0 || this.rng.chance(0.6)) {
      const at = randomInsertIndex(this.rng, text)
      const piece = randomText(this.rng, 8)
      for (const doc of docs) batch = same(batch, doc.localInsert(at, piece))
    } else {
      const { index, length } = randomDeleteRange(this.rng, text, 12)
      for (const doc of docs) batch = same(batch, doc.localDelete(index, length))
    }
    return batch!
  }

  /** Keystrokes at a cursor of `docs` (one batch each): typing, backspace. Returns the cursor. */
  typing(docs: readonly TextDoc[], at = -1): number {
    let cursor = at >= 0 ? at : randomInsertIndex(this.rng, docs[0]!.toString())
    for (let n = this.rng.range(1, 8); n > 0; n--) {
      const text = docs[0]!.toString()
      let batch: Uint8Array | undefined
      if (this.rng.chance(0.8) || cursor === 0) {
        const piece = randomText(this.rng, 1)
        for (const doc of docs) batch = same(batch, doc.localInsert(cursor, piece))
        cursor += piece.length
      } else {
        const width = isBoundary(text, cursor - 1) ? 1 : 2
        cursor -= width
        for (const doc of docs) batch = same(batch, doc.localDelete(cursor, width))
      }
      this.send(batch!, docs.includes(this.a))
      if (this.rng.chance(0.2)) this.tick()
    }
    return cursor
  }

  send(batch: Uint8Array, toA = false): void {
    this.sent.push(batch)
    if (toA) this.deliveredToA.add(this.sent.length - 1)
  }

  /** A random step of the history before the state is saved. */
  historyStep(): void {
    const r = this.rng.next()
    const peer = this.rng.pick(this.peers)
    if (r < 0.2) this.send(this.edit([this.a]), true)
    else if (r < 0.3) this.typing([this.a])
    else if (r < 0.5) this.send(this.edit([peer]))
    else if (r < 0.55) this.typing([peer])
    else if (r < 0.75) {
      // Out of order, partial and duplicated: A parks what it cannot apply yet.
      for (let k = this.rng.range(1, 3); k > 0 && this.sent.length > 0; k--) {
        const i = this.rng.int(this.sent.length)
        this.a.applyRemote(this.sent[i]!)
        this.deliveredToA.add(i)
      }
    } else if (r < 0.85) {
      for (let k = this.rng.range(1, 3); k > 0 && this.sent.length > 0; k--) {
        peer.applyRemote(this.sent[this.rng.int(this.sent.length)]!)
      }
    } else if (r < 0.9) {
      peer.applyRemote(this.a.changesSince(peer.version()))
    } else if (r < 0.95) {
      const other = this.rng.pick(this.peers)
      other.applyRemote(peer.changesSince(other.version()))
    } else {
      // A restarts through the state form, as DurableDoc does (a fresh ID), or continues as itself.
      const before = observe(this.a)
      const replica = this.rng.chance(0.5) ? this.a.replica : this.id('a')
      if (replica !== this.a.replica) this.freshRestarts++
      this.a = TextDoc.loadState(this.a.saveState(), replica, { clock: this.clock.now })
      expect({ ...(observe(this.a) as object), authors: null }).toEqual({
        ...(before as object),
        authors: null,
      })
    }
    this.tick()
  }
}

/** A length of about `n` from `start` in `text`, ending between code points. */
function rangeFrom(text: string, start: number, n: number): number {
  let end = Math.min(text.length, start + n)
  if (!isBoundary(text, end)) end++
  return end - start
}

/** The batch `doc` produced, which must be the one its twin produced for the same edit. */
function same(previous: Uint8Array | undefined, batch: Uint8Array): Uint8Array {
  if (previous !== undefined) expectSameBytes(batch, previous)
  return batch
}

/** How many cases met each situation, so that the seeds are known to exercise them all. */
const met = {
  parkedAtSave: 0,
  releasedAfterLoad: 0,
  surrogates: 0,
  feffFirst: 0,
  tombstones: 0,
  historyChunks: 0,
  typingJoinsLastOp: 0,
  freshRestart: 0,
}

/** Runs one case: a random history, then A and B = loadState(A.saveState()) driven in step. */
function runCase(seed: number): void {
  const c = new Case(seed)
  const rng = c.rng
  if (rng.chance(0.3)) c.send(c.a.localInsert(0, `\uFEFF${randomText(rng, 4)}`), true)
  for (let steps = rng.range(20, 120); steps > 0; steps--) c.historyStep()
  // Often the last op is typing, which the next keystroke extends in the log (mergeIntoLog).
  const cursor = rng.chance(0.5) ? c.typing([c.a]) : -1

  const a = c.a
  const state = a.saveState()
  const b = TextDoc.loadState(state, a.replica, { clock: c.clock.now })
  const decoded = decodeTextState(state, (names) => names.map((_, i) => i))
  const parked = a.pendingCount()
  if (parked > 0) met.parkedAtSave++
  if (/[\uD800-\uDFFF]/.test(a.toString())) met.surrogates++
  if (a.toString().startsWith('\uFEFF')) met.feffFirst++
  if (decoded.spans().deleted.includes(1)) met.tombstones++
  if (decoded.log.length > 2) met.historyChunks++
  if (c.freshRestarts > 0) met.freshRestart++
  expectSameBytes(b.saveState(), state) // stable: saveState(loadState(x)) is x
  expectSame(observe(b), observe(a))
  // A fresh replica (as DurableDoc opens) gives a state that is itself stable.
  const fresh = TextDoc.loadState(state, `fresh_${seed}`, { clock: c.clock.now })
  const freshState = fresh.saveState()
  expectSameBytes(TextDoc.loadState(freshState, fresh.replica).saveState(), freshState)
  expect(fresh.toString()).toBe(a.toString())
  // Anchors taken before, resolved after the further ops.
  const anchors = Array.from({ length: 4 }, () => a.cursorAnchor(rng.int(a.length + 1)))

  const both = [a, b]
  const deliver = (batch: Uint8Array): void => {
    const text = b.toString()
    const changes = b.applyRemote(batch)
    expectSame(a.applyRemote(batch), changes)
    expect(applyChanges(text, changes)).toBe(b.toString())
  }
  // Typing on where the saved history ended: the keystroke joins the last op, in A and in B.
  if (cursor >= 0 && rng.chance(0.7)) {
    // Counted on copies: reading the history here would decode it in A and B before the further ops.
    const entries = (): number => TextDoc.loadState(a.saveState(), 'probe').history().length
    const before = entries()
    c.typing(both, cursor)
    if (entries() === before) met.typingJoinsLastOp++
  }
  for (let steps = rng.range(10, 60); steps > 0; steps--) {
    const r = rng.next()
    const peer = rng.pick(c.peers)
    if (r < 0.2) c.send(c.edit(both), true)
    else if (r < 0.3) c.typing(both)
    else if (r < 0.45) {
      // Concurrent inserts at one place: the peer catches up, then both insert after the same character.
      peer.applyRemote(a.changesSince(peer.version()))
      const at = randomInsertIndex(rng, a.toString())
      const theirs = peer.localInsert(peer.cursorIndex(a.cursorAnchor(at))!, randomText(rng, 3))
      c.send(same(a.localInsert(at, 'A!'), b.localInsert(at, 'A!')), true)
      c.send(theirs)
      deliver(theirs)
    } else if (r < 0.55 && a.length > 0) {
      // Deleting a deleted range: A deletes, then a delete the peer made concurrently arrives.
      peer.applyRemote(a.changesSince(peer.version()))
      const { index, length } = randomDeleteRange(rng, a.toString(), 6)
      const start = peer.indexOfId(a.idAt(index))!
      c.send(same(a.localDelete(index, length), b.localDelete(index, length)), true)
      const theirs = peer.localDelete(start, rangeFrom(peer.toString(), start, rng.range(1, 10)))
      c.send(theirs)
      deliver(theirs)
    } else if (r < 0.7) {
      c.send(c.edit([peer]))
      deliver(c.sent[c.sent.length - 1]!)
    } else if (r < 0.85) {
      // Late ops, including ones A parked before the state was saved.
      const late = c.sent.map((_, i) => i).filter((i) => !c.deliveredToA.has(i))
      for (const i of rng.shuffle(late).slice(0, rng.range(1, 4))) {
        deliver(c.sent[i]!)
        c.deliveredToA.add(i)
      }
    } else if (r < 0.95) {
      // A peer asks A (and B) for what it lacks: the same batch from both.
      const batch = same(a.changesSince(peer.version()), b.changesSince(peer.version()))
      peer.applyRemote(batch)
    } else {
      deliver(peer.changesSince(a.version()))
    }
    c.tick()
    expectSame(observe(b), observe(a))
  }
  if (parked > a.pendingCount()) met.releasedAfterLoad++
  for (const anchor of anchors) expect(b.cursorIndex(anchor)).toBe(a.cursorIndex(anchor))
  expectSameDocument(a, b, rng, probeIds(a, rng))
}

describe('TextDoc state snapshots (seeded)', () => {
  it.each(SEEDS)('seed %i: a document loaded from its state behaves exactly as the original', (seed) => {
    runCase(seed)
  })

  it('met every situation they are meant to', () => {
    for (const [situation, cases] of Object.entries(met)) {
      expect({ situation, cases }).toEqual({ situation, cases: expect.any(Number) })
      expect(cases, situation).toBeGreaterThanOrEqual(10)
    }
  })
})

describe('TextDoc state snapshots', () => {
  it('reads a loaded text as stored, and as changed after each kind of change', () => {
    const a = new TextDoc('aaaaaaaa')
    a.localInsert(0, 'hello world')
    const peer = new TextDoc('bbbbbbbb')
    peer.applyRemote(a.changesSince({}))
    const remote = peer.localInsert(5, ',')
    const load = (): TextDoc => TextDoc.loadState(a.saveState(), 'cccccccc')
    const loaded = load()
    expect(loaded.toString()).toBe('hello world')
    expect(loaded.toString()).toBe('hello world') // the second read builds it from the spans
    const afterRemote = load()
    afterRemote.applyRemote(remote)
    expect(afterRemote.toString()).toBe('hello, world')
    const afterInsert = load()
    afterInsert.localInsert(11, '!')
    expect(afterInsert.toString()).toBe('hello world!')
    const afterDelete = load()
    afterDelete.localDelete(0, 6)
    expect(afterDelete.toString()).toBe('world')
  })

  it('answers a peer in step without decoding the history, and decodes it for one that lacks ops', () => {
    const a = new TextDoc('alice')
    const bob = new TextDoc('bob')
    a.localInsert(0, 'hello world')
    a.localDelete(0, 6)
    bob.applyRemote(a.changesSince({}))
    a.localInsert(5, '!')
    const state = a.saveState()
    // Damage the first chunk of the history: only decoding it can notice.
    const damaged = state.slice()
    const decoded = decodeTextState(damaged, (names) => names.map((_, i) => i))
    expect(decoded.log.length).toBe(2)
    const chunk = decoded.log[0]!
    chunk.fill(0xff, 1)
    const b = TextDoc.loadState(damaged, 'alice2')
    expect(b.toString()).toBe('world!')
    expect(b.changesSince(a.version())).toEqual(a.changesSince(a.version()))
    // Bob has every op of the old history, so only the last op is sent; the history stays encoded.
    expect(b.changesSince(bob.version())).toEqual(a.changesSince(bob.version()))
    b.localInsert(0, '>')
    expect(b.insertedAt(b.idAt(0))).toBeGreaterThan(0)
    expect(b.toString()).toBe('>world!')
    expect(() => b.changesSince({})).toThrow(CrdtDecodeError)
    expect(() => b.history()).toThrow(CrdtDecodeError)
    // The undamaged state decodes the same history as the original.
    const good = TextDoc.loadState(state, 'alice2')
    expect(good.history()).toEqual(a.history())
  })

  it('releases ops parked on the same ID in parking order, in the original and once loaded', () => {
    const base = new TextDoc('base')
    const first = base.localInsert(0, 'ab')
    const missing = base.localInsert(2, 'c')
    const writers = ['w1', 'w2', 'w3', 'w4'].map((id) => {
      const doc = new TextDoc(id)
      doc.applyRemote(first)
      doc.applyRemote(missing)
      return doc
    })
    // Each writes after 'c', which A lacks: all four wait for (base, 3).
    const batches = writers.map((doc, i) => doc.localInsert(3, `${i}`))
    const a = new TextDoc('a')
    a.applyRemote(first)
    for (const i of [2, 0, 3, 1]) a.applyRemote(batches[i]!)
    expect(a.pendingCount()).toBe(4)
    const b = TextDoc.loadState(a.saveState(), 'a')
    for (const doc of [a, b]) {
      doc.applyRemote(missing)
      expect(doc.history().map((e) => e.replica)).toEqual(['base', 'base', 'w3', 'w1', 'w4', 'w2'])
    }
    expect(b.toString()).toBe(a.toString())
  })

  it('keeps a history of many sessions as chunks, then joins them', () => {
    const clock = new Clock()
    let doc = new TextDoc('s0', { clock: clock.now })
    const expected = new TextDoc('ref', { clock: clock.now })
    for (let session = 1; session <= 40; session++) {
      const batch = doc.localInsert(doc.length, `${session},`)
      expected.applyRemote(batch)
      if (session % 3 === 0) expected.applyRemote(doc.localDelete(0, 1))
      clock.ms += 61_000
      const state = doc.saveState()
      const chunks = decodeTextState(state, (names) => names.map((_, i) => i)).log.length
      expect(chunks).toBeLessThanOrEqual(32)
      doc = TextDoc.loadState(state, `s${session}`, { clock: clock.now })
    }
    expect(doc.toString()).toBe(expected.toString())
    expect(doc.history().map((e) => [e.replica, e.counter, e.length])).toEqual(
      expected.history().map((e) => [e.replica, e.counter, e.length]),
    )
  })

  it('keeps the history apart, each unchanged chunk as the same bytes, and takes it back', () => {
    const clock = new Clock()
    let doc = new TextDoc('s0', { clock: clock.now })
    let kept: readonly Uint8Array[] = []
    for (let session = 1; session <= 12; session++) {
      doc.localInsert(doc.length, `${session} `.repeat(50))
      if (session % 4 === 0) doc.localDelete(0, 30)
      clock.ms += 61_000
      const { state, history } = doc.saveStateApart()
      // The state holds no chunk but the last op's; what it kept apart before comes back as the same bytes.
      if (history.length > 0) expect(state.length).toBeLessThan(doc.saveState().length)
      // Only the last op's chunk stays in the state.
      expect(
        decodeTextState(state, (names) => names.map((_, i) => i)).log.filter((c) => c !== null),
      ).toHaveLength(1)
      expect(history.slice(0, kept.length).every((chunk, i) => chunk === kept[i])).toBe(true)
      kept = history
      const whole = TextDoc.loadState(doc.saveState(), 'ref')
      doc = TextDoc.loadState(state, `s${session}`, { clock: clock.now, history })
      expect(doc.toString()).toBe(whole.toString())
      // A history read (the History panel, a peer far behind) keeps its chunks too.
      if (session % 3 === 0) expect(doc.history()).toEqual(whole.history())
    }
    expect(kept.length).toBeGreaterThan(5)
    const { state, history } = doc.saveStateApart()
    expect(TextDoc.loadState(state, 'y', { history }).history()).toEqual(
      TextDoc.loadState(doc.saveState(), 'z').history(),
    )
    // Missing, extra or empty chunks are refused, not guessed.
    for (const wrong of [
      history.slice(1),
      [...history, history[0]!],
      [...history.slice(1), new Uint8Array(0)],
    ]) {
      expect(() => TextDoc.loadState(state, 'x', { history: wrong })).toThrow(CrdtDecodeError)
    }
    expect(() => TextDoc.loadState(state, 'x')).toThrow(CrdtDecodeError)
  })

  it('keeps a text with a lone surrogate (only a faulty peer makes one) exactly', () => {
    const author = new TextDoc('author')
    const pair = author.localInsert(0, 'a😀b')
    const doc = new TextDoc('doc')
    doc.applyRemote(pair)
    // An insert whose left origin is the high half and right origin the low one: it lands inside the pair.
    const forged = encodeTextOps(['faulty', 'author'], [new InsertOp(0, 1, 'Z', 1, 2, 1, 3)])
    doc.applyRemote(forged)
    expect(doc.toString()).toBe('a\uD83DZ\uDE00b')
    const loaded = TextDoc.loadState(doc.saveState(), 'doc2')
    expect(loaded.toString()).toBe(doc.toString())
    expect(loaded.saveState()).toEqual(TextDoc.loadState(loaded.saveState(), 'doc2').saveState())
  })

  it('refuses damaged and hostile states with CrdtDecodeError, never another error', () => {
    const rng = new Prng(99)
    const doc = new TextDoc('alice')
    for (let i = 0; i < 40; i++) {
      const text = doc.toString()
      if (text.length > 0 && rng.chance(0.3)) {
        const { index, length } = randomDeleteRange(rng, text)
        doc.localDelete(index, length)
      } else doc.localInsert(randomInsertIndex(rng, text), randomText(rng))
    }
    const peer = new TextDoc('peer')
    peer.localInsert(0, 'x')
    doc.applyRemote(peer.localInsert(1, 'y')) // parked
    const state = doc.saveState()
    let refused = 0
    for (let i = 0; i < 3000; i++) {
      const bytes = state.slice(0, rng.chance(0.2) ? rng.int(state.length) : state.length)
      for (let k = rng.range(1, 3); k > 0 && bytes.length > 0; k--)
        bytes[rng.int(bytes.length)] = rng.int(256)
      try {
        const loaded = TextDoc.loadState(bytes, 'bob')
        // Whatever loads must be usable: edits, and the history (or a CrdtDecodeError for it).
        loaded.localInsert(0, 'q')
        if (loaded.length > 1) loaded.localDelete(1, 1)
        try {
          loaded.history()
        } catch (err) {
          expect(err).toBeInstanceOf(CrdtDecodeError)
        }
      } catch (err) {
        if (!(err instanceof CrdtDecodeError)) throw err
        refused++
      }
    }
    expect(refused).toBeGreaterThan(1000)
    expect(() => TextDoc.loadState(new Uint8Array([0x60, 0xff, 0xff, 0xff, 0xff, 0x0f]), 'b')).toThrow(
      CrdtDecodeError,
    )
  })
})
