/**
 * A text state's history in form 3 (positional-chunk.ts): ops by position, inserts without their text,
 * deletes with what they removed; decoded by replaying the ops and taking each character's text from
 * the visible text or from the delete that removed it (history-text.ts). Pinned here: a document saved
 * and loaded any number of times keeps exactly the history of one never saved (text of every version,
 * who wrote what, the ops a peer far behind is sent), through deletes of text stored in earlier
 * chunks, concurrent deletes of the same text, histories stored in the older forms, and brotli; a
 * chunk is written once however often the document is saved; and chunks crafted hostile or damaged
 * are refused with CrdtDecodeError, leaving the document as it was.
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { nativeBrotli } from '../../../src/main/storage/native-zlib'
import { CrdtDecodeError, TextDoc, useBrotli } from '../../../src/shared/crdt'
import { concatBytes } from '../../../src/shared/crdt/bytes'
import { decodeLogChunk } from '../../../src/shared/crdt/log-chunk'
import { DeleteOp, InsertOp, type TextOp } from '../../../src/shared/crdt/ops'
import { encodePositionalChunk, isTextless } from '../../../src/shared/crdt/positional-chunk'
import { decodeTextState } from '../../../src/shared/crdt/text-state'
import { Prng, randomDeleteRange, randomInsertIndex, randomText } from './harness'
import { seededDoc, seededTime } from './seeded-docs'

const FIXTURES_V8 = path.resolve(import.meta.dirname, '../../fixtures/text-state-v8')

const NOW = 1_800_000_000_000
const clock = (): number => NOW
const NONE = -1

afterEach(() => useBrotli(null))

/**
 * Everything a document says about its history, to compare two that should hold the same one: the
 * text after every step of it (every 50th of a long one), every op with its text, what a peer that
 * has nothing is sent.
 */
function historyOf(doc: TextDoc): unknown {
  const steps = doc.historyLength()
  const every = steps > 500 ? 50 : 1
  return {
    text: doc.toString(),
    version: doc.version(),
    history: doc.history(),
    versions: Array.from({ length: Math.floor(steps / every) + 1 }, (_, k) => doc.textAfter(k * every)),
    last: doc.textAfter(steps),
    all: doc.changesSince({}),
  }
}

/** `doc` through its state and history chunks and back, continuing as the same replica. */
function reloaded(doc: TextDoc): TextDoc {
  const { state, history } = doc.saveStateApart()
  return TextDoc.loadState(state, doc.replica, { clock, history })
}

/**
 * Three replicas edit with random partial syncs; `a` is saved and loaded again every few edits, `ref`
 * does exactly what `a` does and is never saved. Returns both at the end.
 */
function editAndReload(seed: number, edits: number): { a: TextDoc; ref: TextDoc } {
  const rng = new Prng(seed)
  let a = new TextDoc('alice', { clock })
  const ref = new TextDoc('alice', { clock })
  const others = [new TextDoc('bob', { clock }), new TextDoc('carol', { clock })]
  for (let i = 0; i < edits; i++) {
    const who = rng.int(3)
    if (who === 0) {
      const text = a.toString()
      if (text.length > 0 && rng.chance(0.4)) {
        const { index, length } = randomDeleteRange(rng, text, rng.chance(0.1) ? 200 : 20)
        a.localDelete(index, length)
        ref.localDelete(index, length)
      } else {
        const index = randomInsertIndex(rng, text)
        const inserted = randomText(rng)
        a.localInsert(index, inserted)
        ref.localInsert(index, inserted)
      }
    } else {
      const peer = others[who - 1]!
      const text = peer.toString()
      if (text.length > 0 && rng.chance(0.4)) {
        const { index, length } = randomDeleteRange(rng, text)
        peer.localDelete(index, length)
      } else peer.localInsert(randomInsertIndex(rng, text), randomText(rng))
    }
    // Partial syncs: a peer's ops reach alice (and her reference alike), or alice's a peer.
    if (rng.chance(0.2)) {
      const peer = others[rng.int(2)]!
      const batch = peer.changesSince(a.version())
      a.applyRemote(batch)
      ref.applyRemote(batch)
    }
    if (rng.chance(0.2)) others[rng.int(2)]!.applyRemote(a.changesSince({}))
    if (rng.chance(0.1)) others[0]!.applyRemote(others[1]!.changesSince(others[0]!.version()))
    if (rng.chance(0.08)) a = reloaded(a)
    // Now and then the history is read (as the History panel does), which decodes it.
    if (rng.chance(0.02)) a.history()
  }
  return { a: reloaded(a), ref }
}

describe('a history saved in form 3 and loaded again', () => {
  for (const seed of [1, 2, 3, 4]) {
    it(`seed ${seed}: is the history of the document never saved, version by version`, () => {
      const { a, ref } = editAndReload(seed, 400)
      expect(historyOf(a)).toEqual(historyOf(ref))
    })
  }

  it('finds the text of characters typed before a save and deleted after it, in a later session', () => {
    const ref = new TextDoc('alice', { clock })
    let doc = new TextDoc('alice', { clock })
    for (const d of [doc, ref]) d.localInsert(0, 'hello world, 😀 and more')
    doc = reloaded(doc)
    for (const d of [doc, ref]) d.localInsert(5, ' there')
    doc = reloaded(doc)
    // Deletes of text stored in the first chunk (visible then, so kept only in the state's text).
    for (const d of [doc, ref]) {
      d.localDelete(0, 6)
      d.localDelete(8, 7)
    }
    doc = reloaded(doc)
    for (const d of [doc, ref]) d.localInsert(0, 'x')
    doc = reloaded(doc)
    expect(historyOf(doc)).toEqual(historyOf(ref))
    expect(doc.textAfter(1)).toBe('hello world, 😀 and more')
  })

  it('keeps the text of characters two replicas deleted at once (each delete says what it removed)', () => {
    const a = new TextDoc('alice', { clock })
    a.localInsert(0, 'abcdefghij')
    const b = new TextDoc('bob', { clock })
    b.applyRemote(a.changesSince({}))
    const fromA = a.localDelete(2, 5) // cdefg
    const fromB = b.localDelete(4, 5) // efghi: efg are deleted twice
    a.applyRemote(fromB)
    b.applyRemote(fromA)
    const ops = (d: TextDoc) =>
      d.opsOf(d.replica, 0).ops.concat(d.opsOf(d.replica === 'alice' ? 'bob' : 'alice', 0).ops)
    const removed = ops(a)
      .filter((op): op is DeleteOp => op.kind === 1)
      .map((op) => op.removed)
    expect(removed).toEqual(['cdefg', 'hi'])
    const back = reloaded(a)
    expect(historyOf(back)).toEqual(historyOf(a))
    expect(back.toString()).toBe('abj')
  })

  it('writes each chunk once: a later save keeps the chunks of the earlier ones as they are', () => {
    const doc = new TextDoc('alice', { clock })
    const rng = new Prng(7)
    const saves: (readonly Uint8Array[])[] = []
    for (let s = 0; s < 5; s++) {
      for (let i = 0; i < 30; i++) doc.localInsert(randomInsertIndex(rng, doc.toString()), randomText(rng))
      saves.push(doc.saveStateApart().history)
    }
    for (let s = 1; s < saves.length; s++) {
      expect(saves[s]!.length).toBe(saves[s - 1]!.length + 1)
      saves[s - 1]!.forEach((chunk, i) => expect(saves[s]![i]).toBe(chunk))
    }
    const { state, history } = doc.saveStateApart()
    expect(historyOf(TextDoc.loadState(state, 'alice', { clock, history }))).toEqual(historyOf(doc))
  })

  it('with brotli (as the main process has it) is smaller, and refused where no brotli can read it', () => {
    const { a } = editAndReload(5, 300)
    const deflated = a.saveState()
    useBrotli(nativeBrotli)
    const packed = a.saveState()
    expect(packed.length).toBeLessThan(deflated.length)
    const back = TextDoc.loadState(packed, 'alice', { clock })
    expect(historyOf(back)).toEqual(historyOf(a))
    useBrotli(null)
    expect(() => TextDoc.loadState(packed, 'alice', { clock }).history()).toThrow(/brotli/)
  })
})

describe('form-3 chunks', () => {
  /** Local ops (positional), a remote insert and delete, astral text, a partial delete. */
  function someOps(): TextOp[] {
    const ins = Object.assign(new InsertOp(0, 1, 'ab😀', NONE, 0, NONE, 0), { pos: 0, time: 100 })
    const del = Object.assign(new DeleteOp(0, 5, 2, 0, 1, false), { pos: 0, time: 100, removed: 'ab' })
    const remote = Object.assign(new InsertOp(1, 2 ** 51, 'remote', 0, 3, NONE, 0), { time: 160 })
    const partial = Object.assign(new DeleteOp(1, 2 ** 51 + 6, 4, 0, 1, true), { time: 90, removed: '😀' })
    return [ins, del, remote, partial]
  }

  it('round-trip whole when self-contained, and without what the state keeps otherwise', () => {
    const ops = someOps()
    const whole = decodeLogChunk(encodePositionalChunk(['logger', 'other'], ops, true))
    expect(whole.replicas).toEqual(['logger', 'other'])
    // Positional ops keep their position; their origins and targets are stored too when self-contained.
    expect(whole.ops).toEqual(ops)
    const lean = decodeLogChunk(encodePositionalChunk(['logger', 'other'], ops, false)).ops
    expect(lean.map((op) => [op.kind, op.agent, op.counter, op.length, op.pos, op.time])).toEqual(
      ops.map((op) => [op.kind, op.agent, op.counter, op.length, op.pos, op.time]),
    )
    expect(lean.map(isTextless)).toEqual([true, false, true, false])
    expect(lean.map((op) => (op.kind === 1 ? op.removed : null))).toEqual([null, 'ab', null, '😀'])
    // The remote ops keep their IDs; the local ones wait for the replay.
    expect(lean[2]).toMatchObject({ originLeftAgent: 0, originLeftCounter: 3, originRightAgent: NONE })
    expect(lean[3]).toMatchObject({ targetAgent: 0, targetCounter: 1, backward: true })
    expect(lean[1]).toMatchObject({ targetAgent: NONE })
  })

  it('refuse hostile or damaged bytes with CrdtDecodeError, never anything else', () => {
    const chunk = encodePositionalChunk(['logger', 'other'], someOps(), true)
    const refused = (bytes: Uint8Array, pattern?: RegExp): void => {
      expect(() => decodeLogChunk(bytes)).toThrow(CrdtDecodeError)
      if (pattern) expect(() => decodeLogChunk(bytes)).toThrow(pattern)
    }
    refused(chunk.subarray(0, 1))
    refused(Uint8Array.of(3, 0xc0), /options/)
    refused(Uint8Array.of(3, 3 << 2, 0, 0), /unknown way/)
    refused(concatBytes(chunk, Uint8Array.of(0)), /trailing/)
    // Fields kept as they are (method 0), crafted: an insert with a delete's flag; a table index out of range.
    const crafted = (fields: number[], text = ''): Uint8Array => {
      const t = new TextEncoder().encode(text)
      return Uint8Array.of(3, 1, fields.length, ...fields, t.length, ...t)
    }
    // table: 1 replica 'x' (kind 3, count 1, length 1, one packed byte) | 1 op | 7 column sizes
    const table = [0x31, 1, 0x5c]
    const op = (flags: number, cols: number[][], text = '') =>
      crafted([...table, 1, ...cols.map((c) => c.length), flags, ...cols.flat()], text)
    // Flag 16: the op's time is the one before it (0), so the times column stays empty.
    const fine = op(16, [[0], [1], [1], [], [], [0], []], 'a')
    expect(decodeLogChunk(fine).ops).toMatchObject([{ kind: 0, counter: 1, text: 'a' }])
    refused(op(16 | 32, [[0], [1], [1], [], [], [0], []], 'a'), /delete flag/)
    refused(op(16, [[5], [1], [1], [], [], [0], []], 'a'), /outside the table/)
    refused(op(16, [[0], [1], [1], [], [], [0], []], ''), /too short/)
    refused(op(16, [[0], [1], [1], [], [], [0], []], 'ab'), /too long/)
    refused(op(16, [[0], [1], [0], [], [], [0], []], ''), /length 0/)
    refused(op(16, [[0], [1], [1], [], [], [0, 0], []], 'a'), /left over/)
    refused(op(16, [[0], [0], [1], [], [], [0], []], 'a'), /counter 0/)
    refused(op(1 | 16 | 64, [[0], [1], [2], [], [], [0], [2]], 'ab'), /partial/)
    // Mangled real chunks: any byte, any value.
    const rng = new Prng(3)
    const real = encodePositionalChunk(['logger', 'other'], someOps(), false)
    for (let i = 0; i < 2000; i++) {
      const bytes = (rng.chance(0.5) ? chunk : real).slice()
      bytes[rng.int(bytes.length)] = rng.int(256)
      try {
        decodeLogChunk(bytes)
      } catch (err) {
        expect(err).toBeInstanceOf(CrdtDecodeError)
      }
    }
  })

  it('a history whose delete lies about what it removed is refused when read, and the document stays as it was', () => {
    const doc = new TextDoc('alice', { clock })
    doc.localInsert(0, 'hello world')
    doc.saveStateApart()
    doc.localDelete(0, 6)
    doc.localInsert(0, 'x')
    const { state, history } = doc.saveStateApart()
    // Find the delete in the last history chunk and re-encode it claiming one character less.
    const last = history[history.length - 1]!
    const decoded = decodeLogChunk(last)
    const lie = decoded.ops.map((op) => (op.kind === 1 ? Object.assign(op, { removed: 'hello' }) : op))
    const forged = [...history.slice(0, -1), encodePositionalChunk(decoded.replicas, lie, false)]
    expect(lie.some((op) => op.kind === 1)).toBe(true)
    const back = TextDoc.loadState(state, 'alice', { clock, history: forged })
    expect(back.toString()).toBe('xworld')
    expect(() => back.history()).toThrow(CrdtDecodeError)
    expect(() => back.changesSince({})).toThrow(CrdtDecodeError)
    // Nothing changed: it still edits and reads as before.
    back.localInsert(back.length, '!')
    expect(back.toString()).toBe('xworld!')
    expect(decodeTextState(back.saveState(), (r) => r.map((_, i) => i)).text).toBe('xworld!')
  })

  it('a history that replays elsewhere is refused, and leaves the ops since the open as they were', () => {
    const doc = new TextDoc('alice', { clock })
    doc.localInsert(0, 'one two three')
    doc.localInsert(4, 'and ')
    doc.localDelete(0, 2)
    doc.localInsert(0, '> ')
    const { state, history } = doc.saveStateApart()
    // The stored chunk with its inserts moved, and its delete's text a character short: replayed, the
    // history lands elsewhere, and then fails the check of what the delete removed.
    const decoded = decodeLogChunk(history[0]!)
    const forgedOps = decoded.ops.map((op) =>
      op.kind === 0 && op.pos > 0
        ? Object.assign(op, { pos: op.pos - 2 })
        : op.kind === 1
          ? Object.assign(op, { removed: op.removed!.slice(1) })
          : op,
    )
    const forged = [encodePositionalChunk(decoded.replicas, forgedOps, false)]
    const peer = TextDoc.loadState(state, 'peer', { clock, history })
    const damaged = TextDoc.loadState(state, 'alice', { clock, history: forged })
    damaged.localInsert(6, '[typed after the open]')
    expect(() => damaged.history()).toThrow(CrdtDecodeError)
    // The op typed since the open reaches a peer as it was made: the failed replay did not touch it.
    peer.applyRemote(damaged.changesSince(peer.version()))
    expect(peer.toString()).toBe(damaged.toString())
    // Moved alone (its texts intact), once the spans are decoded: the replay does not rebuild them.
    const moved = decodeLogChunk(history[0]!).ops.map((op) =>
      op.kind === 0 && op.pos > 0 ? Object.assign(op, { pos: op.pos - 2 }) : op,
    )
    const back = TextDoc.loadState(state, 'alice', {
      clock,
      history: [encodePositionalChunk(decoded.replicas, moved, false)],
    })
    back.localInsert(0, 'x')
    expect(() => back.history()).toThrow(/does not rebuild/)
  })

  it('a mangled history chunk is refused with CrdtDecodeError when read, never anything else', () => {
    const { a } = editAndReload(6, 150)
    const { state, history } = a.saveStateApart()
    const rng = new Prng(8)
    let refusedCount = 0
    for (let i = 0; i < 300; i++) {
      const k = rng.int(history.length)
      const bytes = history[k]!.slice()
      bytes[rng.int(bytes.length)] = rng.int(256)
      const mangled = history.map((chunk, j) => (j === k ? bytes : chunk))
      try {
        const back = TextDoc.loadState(state, 'alice', { clock, history: mangled })
        back.history()
      } catch (err) {
        expect(err).toBeInstanceOf(CrdtDecodeError)
        refusedCount++
      }
    }
    expect(refusedCount).toBeGreaterThan(100)
  })

  it('reads a history stored before form 3, and keeps what deletes of its text removed in form 3 after it', () => {
    // A kind-8 state as the code before form 3 wrote it (test/fixtures/text-state-v8), and the document
    // it holds, built again from its seed.
    const v8 = new Uint8Array(readFileSync(path.join(FIXTURES_V8, 'seed-1.bin')))
    const seededClock = (): number => seededTime(1500)
    const ref = seededDoc((replica, c) => new TextDoc(replica, { clock: c }), 1, 1500)
    let doc = TextDoc.loadState(v8, ref.replica, { clock: seededClock })
    const legacy = decodeTextState(v8, (r) => r.map((_, i) => i)).log
    expect(legacy.every((chunk) => chunk !== null && chunk[0]! < 3)).toBe(true)
    // Deletes of text the old chunks hold with their inserts, then saves and loads: the old chunks are
    // kept as they were, and what came after them is in form 3.
    const rng = new Prng(11)
    for (let round = 0; round < 4; round++) {
      for (let i = 0; i < 20; i++) {
        const { index, length } = randomDeleteRange(rng, doc.toString(), 40)
        for (const d of [doc, ref]) d.localDelete(index, length)
        const at = randomInsertIndex(rng, doc.toString())
        for (const d of [doc, ref]) d.localInsert(at, `r${round}.${i}`)
      }
      const { state, history } = doc.saveStateApart()
      expect(history.slice(0, legacy.length - 1)).toEqual(legacy.slice(0, -1))
      expect(history[history.length - 1]![0]).toBe(3)
      doc = TextDoc.loadState(state, ref.replica, { clock: seededClock, history })
    }
    expect(historyOf(doc)).toEqual(historyOf(ref))
  })
})
