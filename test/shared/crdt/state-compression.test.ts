/**
 * The compressed sections of a kind-9 text state: the deflated text (text-state.ts), the spans written
 * as columns and deflated (span-section.ts), and log chunks of form 2 (log-chunk.ts). Each round-trips
 * exactly what it was given, on seeded multi-replica documents with a deleted history, on texts kept as
 * UTF-16 and on counters beyond 2^31 and 2^51; and each field, crafted hostile (lengths beyond the
 * input, inflate bombs, origins pointing nowhere), is refused with CrdtDecodeError before anything
 * large is allocated.
 */
import { deflateSync } from 'fflate'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { nativeInflate } from '../../../src/main/storage/native-zlib'
import { CrdtDecodeError, TextDoc, useInflate } from '../../../src/shared/crdt'
import { ByteReader, ByteWriter, concatBytes } from '../../../src/shared/crdt/bytes'
import { decodeLogChunk, encodeLogChunk } from '../../../src/shared/crdt/log-chunk'
import { DeleteOp, InsertOp, type TextOp } from '../../../src/shared/crdt/ops'
import { readHeader } from '../../../src/shared/crdt/replica-table'
import { Span } from '../../../src/shared/crdt/span'
import { decodeSpanSection, encodeSpanSection } from '../../../src/shared/crdt/span-section'
import { decodeTextState, spansOf } from '../../../src/shared/crdt/text-state'
import { Prng, randomDeleteRange, randomInsertIndex, randomText } from './harness'
import { seededDocs, seededOddDoc, seededTime } from './seeded-docs'

const make = (replica: string, clock: () => number): TextDoc => new TextDoc(replica, { clock })
const identity = (replicas: readonly string[]): number[] => replicas.map((_, i) => i)
const NONE = -1

/** A span as the state holds it (a deleted one keeps its length, not its text). */
function span(
  agent: number,
  counter: number,
  len: number,
  deleted: boolean,
  [olAgent, olCounter]: readonly [number, number] = [NONE, 0],
  [orAgent, orCounter]: readonly [number, number] = [NONE, 0],
): Span {
  const s = new Span(
    agent,
    counter,
    deleted ? '' : 'x'.repeat(len),
    deleted,
    olAgent,
    olCounter,
    orAgent,
    orCounter,
  )
  s.len = len
  return s
}

function expectRefused(decode: () => unknown, message?: RegExp): void {
  let thrown: unknown
  try {
    decode()
  } catch (err) {
    thrown = err
  }
  expect(thrown).toBeInstanceOf(CrdtDecodeError)
  if (message) expect((thrown as Error).message).toMatch(message)
}

/** `raw length | packed length | packed`, with the raw length stated as `stated`. */
function deflated(raw: Uint8Array, stated = raw.length, packed: Uint8Array = deflateSync(raw)): Uint8Array {
  const w = new ByteWriter(32)
  w.uint(stated)
  w.uint(packed.length)
  return concatBytes(w.view(), packed)
}

const uvarints = (...values: number[]): Uint8Array => {
  const w = new ByteWriter(16)
  for (const v of values) w.uint(v)
  return w.finish()
}
const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1)

/** The columns of a spans section, raw (see span-section.ts), and the section holding them. */
interface Columns {
  count: number
  flags: number[]
  agents?: Uint8Array
  counters?: Uint8Array
  lengths?: Uint8Array
  left?: Uint8Array
  right?: Uint8Array
  /** Column sizes to state instead of the true ones. */
  sizes?: number[]
}
function columnBytes(c: Columns): Uint8Array {
  const cols = [c.agents, c.counters, c.lengths, c.left, c.right].map((x) => x ?? new Uint8Array(0))
  const sizes = c.sizes ?? cols.map((x) => x.length)
  return concatBytes(uvarints(c.count, ...sizes), Uint8Array.from(c.flags), ...cols)
}
const plainSection = (c: Columns): Uint8Array => concatBytes(Uint8Array.of(0), columnBytes(c))

// Flag bits (span-section.ts).
const DELETED = 1
const SAME_AGENT = 2
const IMPLICIT = 4
const OL_PREV_SPAN = 2 << 3
const OL_EXPLICIT = 3 << 3
const OR_NEXT = 1 << 5
const OR_SAME = 2 << 5
const OR_OTHER = 3 << 5
/** Codes from here in the counters and right-origin columns are deltas; below, resume point depths. */
const DELTA = 32

describe('spans section: round trips', () => {
  it('gives back the spans of seeded multi-replica documents with a deleted history, field for field', () => {
    for (const seed of [1, 2, 3, 4, 5]) {
      for (const doc of seededDocs(make, seed, 500)) {
        const state = decodeTextState(doc.saveState(), identity)
        const spans = spansOf(state)
        expect(spans.some((s) => s.deleted)).toBe(true)
        const section = encodeSpanSection(spans, state.replicas.length)
        expect(decodeSpanSection(section, state.seen, state.text.length)).toEqual(state.spans())
        // A copy loaded as the same replica saves the same spans.
        const loaded = TextDoc.loadState(doc.saveState(), doc.replica)
        expect(spansOf(decodeTextState(loaded.saveState(), identity))).toEqual(spans)
      }
    }
  })

  it('keeps counters beyond 2^31 and 2^51, across replicas and in every origin form', () => {
    for (const base of [2 ** 31 - 2, 2 ** 51 + 7]) {
      const other = 2 ** 31 + 3
      const spans = [
        span(0, base + 5, 3, false, [NONE, 0], [1, other]),
        span(1, other, 2, true, [0, base + 7], [0, base + 1]),
        span(0, base + 1, 4, false, [1, other + 1], [NONE, 0]),
        span(0, base, 1, false, [0, base + 4], [0, base + 8]), // origins of its own replica, both ways
        span(1, 1, 1, false, [NONE, 0], [1, other]),
        span(0, base + 8, 2, true, [1, 1], [NONE, 0]),
      ]
      const seen = [base + 9, other + 1]
      const section = encodeSpanSection(spans, 2)
      const columns = decodeSpanSection(section, seen, 3 + 4 + 1 + 1)
      expect(Array.from(columns.counter)).toEqual(spans.map((s) => s.counter))
      expect(Array.from(columns.olCounter)).toEqual(spans.map((s) => s.originLeftCounter))
      expect(Array.from(columns.orCounter)).toEqual(spans.map((s) => s.originRightCounter))
      expect(Array.from(columns.orAgent)).toEqual(spans.map((s) => s.originRightAgent))
      expect(Array.from(columns.len)).toEqual([3, 2, 4, 1, 1, 2])
    }
  })

  it('deflates a section worth it and leaves a small one as it is', () => {
    const doc = seededDocs(make, 7, 400)[0]!
    const spans = spansOf(decodeTextState(doc.saveState(), identity))
    expect(encodeSpanSection(spans, 3)[0]).toBe(1)
    expect(encodeSpanSection(spans.slice(0, 2), 3)[0]).toBe(0)
    expect(encodeSpanSection([], 0)).toEqual(Uint8Array.of(0, 0, 0, 0, 0, 0, 0))
  })
})

describe('spans section: hostile input is refused with CrdtDecodeError', () => {
  // One replica at version 10; a visible span x:1-3 with no origins is the valid base.
  const seen = [10]
  const base: Columns = { count: 1, flags: [IMPLICIT], agents: uvarints(0), lengths: uvarints(3) }
  const decode = (section: Uint8Array, textLength = 3, s: readonly number[] = seen): unknown =>
    decodeSpanSection(section, s, textLength)

  it('accepts the base', () => {
    expect(decode(plainSection(base))).toMatchObject({ count: 1 })
  })

  it('refuses counts and lengths beyond the input, and columns that do not hold their spans', () => {
    expectRefused(() => decode(Uint8Array.of(3)), /unknown spans form/)
    // Brotli (form 2) where this process has none to read it with.
    expectRefused(() => decode(concatBytes(Uint8Array.of(2), deflated(columnBytes(base)))), /brotli/)
    expectRefused(() => decode(Uint8Array.of(0)))
    expectRefused(() => decode(plainSection({ ...base, count: 1_000_000_000 })))
    expectRefused(() => decode(plainSection({ ...base, sizes: [1, 0, 2 ** 40, 0, 0] })))
    // A column with a byte left over, and one a byte short (its read runs past its end).
    expectRefused(() => decode(plainSection({ ...base, agents: uvarints(0, 0) })), /does not hold/)
    expectRefused(() => decode(plainSection({ ...base, lengths: new Uint8Array(0) })))
    expectRefused(() => decode(plainSection({ ...base, lengths: Uint8Array.of(0x83) })))
    expectRefused(() => decode(concatBytes(plainSection(base), Uint8Array.of(0))), /trailing/)
  })

  it('refuses replicas outside the table and spans beyond the version', () => {
    expectRefused(() => decode(plainSection({ ...base, agents: uvarints(1) })), /outside the table/)
    expectRefused(() => decode(plainSection(base), 3, []), /no replicas/)
    expectRefused(
      () => decode(plainSection({ ...base, flags: [0], counters: uvarints(DELTA + zigzag(8)) })),
      /beyond its version/,
    )
    expectRefused(() => decode(plainSection({ ...base, flags: [0], counters: uvarints(DELTA + zigzag(-1)) })))
    // A depth into the replica's resume points where there is none.
    expectRefused(
      () => decode(plainSection({ ...base, flags: [0], counters: uvarints(0) })),
      /names no resume point/,
    )
    expectRefused(() => decode(plainSection({ ...base, lengths: uvarints(0) }), 0), /empty span/)
    expectRefused(() => decode(plainSection({ ...base, flags: [IMPLICIT | SAME_AGENT] })), /previous one/)
    expectRefused(() => decode(plainSection({ ...base, flags: [IMPLICIT | 0x80] })), /reserved/)
  })

  it('refuses origins that point nowhere', () => {
    const left = (bytes: Uint8Array, textLength = 3): unknown =>
      decode(plainSection({ ...base, flags: [IMPLICIT | OL_EXPLICIT], left: bytes }), textLength)
    expectRefused(() => left(uvarints(4, 1)), /outside the table/)
    expectRefused(() => left(uvarints(0, zigzag(-20))), /beyond its version/) // own replica, counter 21
    expectRefused(() => left(uvarints(0, zigzag(1))), /beyond its version/) // own replica, counter 0
    expectRefused(() => left(uvarints(0)), /end of data/)
    const right = (flag: number, bytes: Uint8Array): unknown =>
      decode(plainSection({ ...base, flags: [IMPLICIT | flag], right: bytes }))
    expectRefused(() => right(OR_SAME, uvarints(DELTA + zigzag(-10))), /beyond its version/)
    expectRefused(() => right(OR_SAME, uvarints(0)), /beyond its version/) // no resume point at depth 0
    expectRefused(() => right(OR_OTHER, uvarints(0, 11)), /beyond its version/)
    expectRefused(() => right(OR_OTHER, uvarints(0, 0)), /beyond its version/)
    expectRefused(() => right(OR_OTHER, uvarints(3, 1)), /outside the table/)
    expectRefused(() => right(OR_NEXT, new Uint8Array(0)), /last span refers to a next one/)
    expectRefused(() => decode(plainSection({ ...base, flags: [IMPLICIT | OL_PREV_SPAN] })), /previous one/)
  })

  it('refuses visible spans that do not fill the text', () => {
    expectRefused(() => decode(plainSection(base), 2), /longer than the text/)
    expectRefused(() => decode(plainSection(base), 4), /text is longer/)
    expectRefused(() => decode(plainSection({ ...base, flags: [IMPLICIT | DELETED] })), /text is longer/)
  })

  it('refuses deflated sections that lie about their size, inflate bombs and corrupt streams', () => {
    const raw = columnBytes(base)
    const packed = (body: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(1), body)
    expect(decode(packed(deflated(raw)))).toMatchObject({ count: 1 })
    expectRefused(() => decode(packed(deflated(raw, raw.length + 1))), /wrong size/)
    expectRefused(() => decode(packed(deflated(raw, raw.length - 1))), /wrong size/)
    // Implausible for its packed size: refused before anything is allocated.
    expectRefused(() => decode(packed(deflated(raw, 2 ** 40))), /implausible/)
    // A bomb: 10 MB of zeros in ~10 KB, stated small; inflating stops one byte past what is stated.
    const bomb = deflateSync(new Uint8Array(10_000_000), { level: 9 })
    expectRefused(() => decode(packed(deflated(raw, 100, bomb))), /wrong size/)
    const corrupt = deflateSync(raw)
    corrupt.fill(0xff, 0, 3)
    expectRefused(() => decode(packed(deflated(raw, raw.length, corrupt))))
    expectRefused(() => decode(concatBytes(packed(deflated(raw)), Uint8Array.of(0))), /trailing/)
    expectRefused(() => decode(packed(deflated(raw)).subarray(0, 5)))
  })

  it('never throws anything else on mangled real sections', () => {
    const rng = new Prng(0x5ec7)
    const doc = seededDocs(make, 8, 400)[0]!
    const state = decodeTextState(doc.saveState(), identity)
    const spans = spansOf(state)
    const sections = [encodeSpanSection(spans, 3), plainSection({ count: 0, flags: [] })]
    let accepted = 0
    for (let i = 0; i < 3000; i++) {
      const bytes = rng.pick(sections).slice()
      for (let k = rng.range(1, 4); k > 0; k--) bytes[rng.int(bytes.length)] = rng.int(256)
      try {
        decodeSpanSection(bytes, state.seen, state.text.length)
        accepted++
      } catch (err) {
        expect(err).toBeInstanceOf(CrdtDecodeError)
      }
    }
    expect(accepted).toBeLessThan(3000)
  })
})

/** A state's text section replaced by `section` (form byte included). */
function withTextSection(state: Uint8Array, section: Uint8Array): Uint8Array {
  const r = new ByteReader(state)
  const { replicas } = readHeader(r, [9], 'text state')
  replicas.forEach(() => r.uint())
  const start = r.pos
  const form = r.byte()
  if (form & 2) {
    r.uint()
    r.bytes(r.uint())
  } else r.bytes(r.uint())
  return concatBytes(state.subarray(0, start), section, state.subarray(r.pos))
}

describe('text section', () => {
  it('round-trips a deflated text, a short one as it is, and texts kept as UTF-16 both ways', () => {
    const long = seededDocs(make, 9, 300)[0]!
    const short = new TextDoc('s')
    short.localInsert(0, 'héllo 😀')
    const odd = seededOddDoc(make, 4, 400) // a lone surrogate: its text kept as UTF-16, deflated
    const cases: [TextDoc, number][] = [
      [long, 0 | 2],
      [short, 0],
      [odd, 1 | 2],
    ]
    for (const [doc, form] of cases) {
      const state = doc.saveState()
      const d = decodeTextState(state, identity)
      expect(d.text).toBe(doc.toString())
      const r = new ByteReader(state)
      const { replicas } = readHeader(r, [9], 'text state')
      replicas.forEach(() => r.uint())
      expect(r.byte()).toBe(form)
      const loaded = TextDoc.loadState(state, 'reader', { clock: () => seededTime(400) })
      expect(loaded.toString()).toBe(doc.toString())
    }
    expect(/\uD83D(?![\uDC00-\uDFFF])/.test(odd.toString())).toBe(true)
  })

  it('refuses a deflated text that lies about its size, a bomb, a corrupt stream, an unknown form', () => {
    const doc = seededDocs(make, 10, 300)[0]!
    const state = doc.saveState()
    const utf8 = new TextEncoder().encode(doc.toString())
    const section = (form: number, body: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(form), body)
    const load = (s: Uint8Array): unknown => TextDoc.loadState(s, 'reader')
    expect((load(withTextSection(state, section(2, deflated(utf8)))) as TextDoc).toString()).toBe(
      doc.toString(),
    )
    expectRefused(
      () => load(withTextSection(state, section(2, deflated(utf8, utf8.length + 1)))),
      /wrong size/,
    )
    expectRefused(
      () => load(withTextSection(state, section(2, deflated(utf8, utf8.length - 1)))),
      /wrong size/,
    )
    expectRefused(() => load(withTextSection(state, section(2, deflated(utf8, 2 ** 40)))), /implausible/)
    const bomb = deflateSync(new Uint8Array(10_000_000), { level: 9 })
    expectRefused(() => load(withTextSection(state, section(2, deflated(utf8, utf8.length, bomb)))))
    const corrupt = deflateSync(utf8)
    corrupt.fill(0xff, 0, 4)
    expectRefused(() => load(withTextSection(state, section(2, deflated(utf8, utf8.length, corrupt)))))
    // UTF-16 of an odd number of bytes, deflated; and forms no kind has.
    const odd = Uint8Array.from({ length: 301 }, (_, i) => 65 + (i % 26))
    expectRefused(() => load(withTextSection(state, section(3, deflated(odd)))), /odd number/)
    expectRefused(() => load(withTextSection(state, section(8, deflated(utf8)))), /unknown text encoding/)
    expectRefused(() => load(withTextSection(state, section(6, deflated(utf8)))), /both deflated and brotli/)
    expectRefused(() => load(withTextSection(state, section(4, deflated(utf8)))), /brotli/)
    expectRefused(() => load(withTextSection(state, Uint8Array.of(2, 5))))
  })

  it('refuses a kind-8 state whose text claims to be deflated (only kind 9 deflates it)', () => {
    const doc = new TextDoc('k8')
    doc.localInsert(0, 'abc')
    const state = doc.saveState().slice()
    const r = new ByteReader(state)
    const { replicas } = readHeader(r, [9], 'text state')
    replicas.forEach(() => r.uint())
    expect(state[r.pos]).toBe(0)
    state[0] = (8 << 4) | (state[0]! & 0x0f)
    state[r.pos] = 2
    expectRefused(() => TextDoc.loadState(state, 'reader'), /unknown text encoding/)
  })
})

describe('log chunks of form 2', () => {
  /** Ops as a replica logs them: inserts (with astral characters) and deletes, some positional. */
  function someOps(rng: Prng, count: number): TextOp[] {
    const doc = new TextDoc('logger', { clock: () => seededTime(count) })
    for (let i = 0; i < count; i++) {
      const text = doc.toString()
      if (text.length > 0 && rng.chance(0.3)) {
        const { index, length } = randomDeleteRange(rng, text)
        doc.localDelete(index, length)
      } else doc.localInsert(randomInsertIndex(rng, text), randomText(rng))
    }
    // As a history stored before form 3 holds them: whole, but for what deletes removed.
    const ops = TextDoc.loadState(doc.saveState(), 'logger').opsOf('logger', 0).ops
    for (const op of ops) if (op.kind === 1) op.removed = null
    return ops
  }

  it('round-trips ops with their times, positions and texts (astral characters, remote ops)', () => {
    const rng = new Prng(0x10c)
    const ops = someOps(rng, 200)
    ops.push(Object.assign(new InsertOp(1, 2 ** 51, 'remote 😀', 0, 3, NONE, 0), { time: 5 }))
    ops.push(Object.assign(new DeleteOp(1, 2 ** 51 + 9, 2, 0, 1, false), { time: 6 }))
    const chunk = encodeLogChunk(['logger', 'other'], ops)
    expect(chunk[0]).toBe(2)
    const back = decodeLogChunk(chunk)
    expect(back.replicas).toEqual(['logger', 'other'])
    expect(back.ops).toEqual(ops)
    // Small chunks stay as they are (form 0).
    expect(encodeLogChunk(['logger'], ops.slice(0, 1))[0]).toBe(0)
    expect(decodeLogChunk(encodeLogChunk(['logger'], ops.slice(0, 1))).ops).toEqual(ops.slice(0, 1))
  })

  it('refuses parts that lie about their size, bombs, missing text and trailing bytes', () => {
    const ops = someOps(new Prng(0x10d), 200)
    const chunk = encodeLogChunk(['logger'], ops)
    const r = new ByteReader(chunk)
    expect(r.byte()).toBe(2)
    const fieldsRaw = r.uint()
    const fieldsPacked = r.bytes(r.uint())
    const textRaw = r.uint()
    const textPacked = r.bytes(r.uint())
    expect(r.done()).toBe(true)
    const build = (fields: Uint8Array, text: Uint8Array): Uint8Array =>
      concatBytes(Uint8Array.of(2), fields, text)
    const f = (stated = fieldsRaw, packed = fieldsPacked): Uint8Array =>
      deflated(new Uint8Array(0), stated, packed)
    const t = (stated = textRaw, packed = textPacked): Uint8Array =>
      deflated(new Uint8Array(0), stated, packed)
    expect(decodeLogChunk(build(f(), t())).ops).toEqual(ops)
    expectRefused(() => decodeLogChunk(build(f(fieldsRaw + 1), t())), /wrong size/)
    expectRefused(() => decodeLogChunk(build(f(), t(textRaw - 1))), /wrong size/)
    expectRefused(() => decodeLogChunk(build(f(2 ** 40), t())), /implausible/)
    const bomb = deflateSync(new Uint8Array(10_000_000), { level: 9 })
    expectRefused(() => decodeLogChunk(build(f(), t(textRaw, bomb))), /wrong size/)
    expectRefused(() => decodeLogChunk(build(f(), new Uint8Array(0))))
    expectRefused(() => decodeLogChunk(concatBytes(build(f(), t()), Uint8Array.of(0))), /trailing/)
    // The fields' own length prefix beyond what they hold.
    const fields = new TextEncoder().encode('not a batch')
    const lying = concatBytes(uvarints(2 ** 30), fields)
    expectRefused(() => decodeLogChunk(build(deflated(lying), t())))
    expectRefused(() => decodeLogChunk(Uint8Array.of(4)), /unknown log chunk form/)
  })
})

describe('with a native inflate (useInflate: zlib, as the main process has it)', () => {
  beforeAll(() => useInflate(nativeInflate))
  afterAll(() => useInflate(null))

  it('loads the same documents and refuses the same hostile sections', () => {
    for (const seed of [11, 12]) {
      const doc = seededDocs(make, seed, 400)[0]!
      const state = doc.saveState()
      const loaded = TextDoc.loadState(state, doc.replica, { clock: () => seededTime(400) })
      expect(loaded.toString()).toBe(doc.toString())
      expect(loaded.history()).toEqual(doc.history())
      loaded.localInsert(0, 'x')
      doc.localInsert(0, 'x')
      expect(TextDoc.loadState(loaded.saveState(), 'z').toString()).toBe(doc.toString())
      expect(loaded.history()).toEqual(doc.history())
    }
    const raw = columnBytes({ count: 1, flags: [IMPLICIT], agents: uvarints(0), lengths: uvarints(3) })
    const packed = (body: Uint8Array): Uint8Array => concatBytes(Uint8Array.of(1), body)
    expect(decodeSpanSection(packed(deflated(raw)), [10], 3)).toMatchObject({ count: 1 })
    const bomb = deflateSync(new Uint8Array(10_000_000), { level: 9 })
    expectRefused(() => decodeSpanSection(packed(deflated(raw, 100, bomb)), [10], 3))
    expectRefused(() => decodeSpanSection(packed(deflated(raw, raw.length + 1)), [10], 3), /wrong size/)
    const corrupt = deflateSync(raw)
    corrupt.fill(0xff, 0, 3)
    expectRefused(() => decodeSpanSection(packed(deflated(raw, raw.length, corrupt)), [10], 3))
  })
})
