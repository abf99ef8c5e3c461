/**
 * The spans section of a text state (text-state.ts has the rest of the layout), and its decoding into
 * columns: one typed array per field, one entry per span, in document order. No object per span: a
 * loaded document makes Span objects only for the leaves something touches (loaded-spans.ts).
 *
 *   spans     count | per span, in document order, a flags byte and the fields it does not make implicit:
 *               bit 0 deleted, bit 1 same replica as the previous span, bit 2 counter implicit (the
 *               end of that replica's previous span, else a signed delta from it), then the length;
 *               bits 3-4 left origin: none | (own replica, counter - 1) | the last character of the
 *               previous span | explicit (replica, then a delta for the own replica, else a counter);
 *               bits 5-6 right origin: none | the first character of the next span | own replica
 *               (delta) | explicit (replica, counter); bit 7 reserved
 *             Exactly what integrating a later op reads, so a loaded document integrates it exactly as
 *             the one saved. Deleted spans have no text here: only the history needs it.
 *
 * Why the loop is written the way it is: a process runs it once, cold, and V8 finishes optimising it
 * only after it is done (--trace-osr: the OSR compile of 12,529 spans ends after the loop), so what it
 * costs is the bytecodes it executes. Varints are read in place, one-byte ones (most) without a
 * call; agents stay the state's (the leaf that opens maps them); reads past the end give 0 and are
 * caught once, after the loop, instead of per byte.
 *
 * Validation is done here, as the object decoder did: every replica index against the table,
 * every span against the version, origins naming applied counters, the visible lengths against the
 * text. What a leaf later builds from the columns is then known to be sound. That no two spans of a
 * replica hold the same character is checked when the ID index first needs the spans by counter
 * (`counterOrder`), before any remote op applies (TextDoc.applyDecoded).
 */
import { varintAt, varintEnd, type ByteReader, type ByteWriter } from './bytes'
import type { Span } from './span'
import { CrdtDecodeError } from './types'

/** No origin (see text-doc.ts on why it is not imported). */
export const NONE = -1

// A span's flags byte, the same in kind 8's interleaved spans and kind 9's columns (span-section.ts).
export const S_DELETED = 1
export const S_SAME_AGENT = 2
export const S_IMPLICIT_COUNTER = 4
export const OL_SHIFT = 3
export const OL_NONE = 0
export const OL_PREVIOUS = 1
export const OL_PREV_SPAN = 2
export const OL_EXPLICIT = 3
export const OR_SHIFT = 5
export const OR_NONE = 0
export const OR_NEXT_SPAN = 1
export const OR_SAME_AGENT = 2
export const OR_OTHER_AGENT = 3
export const S_RESERVED = 0x80

/** Every span of a state, field by field. Agents index the state's replica table. */
export interface SpanColumns {
  readonly count: number
  readonly agent: Int32Array
  readonly counter: Float64Array
  readonly len: Float64Array
  /** 1 for a tombstone. */
  readonly deleted: Uint8Array
  /** NONE (-1) for the document's edge. */
  readonly olAgent: Int32Array
  readonly olCounter: Float64Array
  readonly orAgent: Int32Array
  readonly orCounter: Float64Array
  /** Replicas in the state's table, and the highest version among them (no counter is above it). */
  readonly replicas: number
  readonly maxSeen: number
}

/**
 * Per replica (`agentStart[a]` to `agentStart[a + 1]`), its spans in counter order, each as counter ×
 * `shift` + its index (`spanOfKey`): the ID index of the spans no leaf has opened yet.
 */
export interface CounterOrder {
  readonly byCounter: Float64Array
  readonly agentStart: Int32Array
  readonly shift: number
}

/** Writes the spans section: `spans` in document order, agents indexing a table of `replicas`. */
export function encodeSpans(w: ByteWriter, spans: readonly Span[], replicas: number): void {
  const expected: number[] = new Array<number>(replicas).fill(1)
  w.uint(spans.length)
  let prev: Span | undefined
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!
    const next = spans[i + 1]
    const agent = s.agent
    let flags = s.deleted ? S_DELETED : 0
    if (prev !== undefined && agent === prev.agent) flags |= S_SAME_AGENT
    const counterDelta = s.counter - expected[agent]!
    if (counterDelta === 0) flags |= S_IMPLICIT_COUNTER
    const olAgent = s.originLeftAgent
    const olCounter = s.originLeftCounter
    const olMode =
      olAgent === NONE
        ? OL_NONE
        : olAgent === agent && olCounter === s.counter - 1
          ? OL_PREVIOUS
          : prev !== undefined && olAgent === prev.agent && olCounter === prev.counter + prev.len - 1
            ? OL_PREV_SPAN
            : OL_EXPLICIT
    const orAgent = s.originRightAgent
    const orCounter = s.originRightCounter
    const orMode =
      orAgent === NONE
        ? OR_NONE
        : next !== undefined && orAgent === next.agent && orCounter === next.counter
          ? OR_NEXT_SPAN
          : orAgent === agent
            ? OR_SAME_AGENT
            : OR_OTHER_AGENT
    w.byte(flags | (olMode << OL_SHIFT) | (orMode << OR_SHIFT))
    if (!(flags & S_SAME_AGENT)) w.uint(agent)
    if (counterDelta !== 0) w.int(counterDelta)
    w.uint(s.len)
    if (olMode === OL_EXPLICIT) {
      w.uint(olAgent)
      if (olAgent === agent) w.int(s.counter - olCounter)
      else w.uint(olCounter)
    }
    if (orMode === OR_SAME_AGENT) w.int(s.counter - orCounter)
    else if (orMode === OR_OTHER_AGENT) {
      w.uint(orAgent)
      w.uint(orCounter)
    }
    expected[agent] = s.counter + s.len
    prev = s
  }
}

export const zigzag = (n: number): number => (n >= 0 ? n * 2 : -n * 2 - 1)
export const unzigzag = (z: number): number => (z % 2 === 0 ? z / 2 : -(z + 1) / 2)

export const outsideTable = (a: number, n: number): CrdtDecodeError =>
  new CrdtDecodeError(`replica index ${a} outside the table of ${n}`)

export const beyondVersion = (c: number, a: number, seen: readonly number[]): CrdtDecodeError =>
  new CrdtDecodeError(`origin ${c} of replica ${a} is beyond its version ${seen[a]}`)

/**
 * Decodes `count` spans from `r` (its position then after them). `seen` is each state replica's
 * version; `textLength` the visible text's length in UTF-16 units, which the visible spans must fill.
 */
export function decodeSpanColumns(
  r: ByteReader,
  count: number,
  seen: readonly number[],
  textLength: number,
): SpanColumns {
  const n = seen.length
  if (count > 0 && n === 0) throw new CrdtDecodeError('a span in a state with no replicas')
  const agent = new Int32Array(count)
  const counter = new Float64Array(count)
  const len = new Float64Array(count)
  const deleted = new Uint8Array(count)
  const olAgent = new Int32Array(count)
  const olCounter = new Float64Array(count)
  const orAgent = new Int32Array(count)
  const orCounter = new Float64Array(count)
  const expected = new Float64Array(n).fill(1)
  const buf = r.buf
  let pos = r.pos
  let prevAgent = 0
  let prevEnd = 0 // counter of the previous span's last character
  let visible = 0
  let total = 0 // characters, deleted ones included
  /** Index of a span whose right origin is the next span's first character, set once that is read. */
  let waiting = -1
  for (let k = 0; k < count; k++) {
    const flags = buf[pos++]! | 0
    if (flags & S_RESERVED) throw new CrdtDecodeError('reserved span flag set')
    let a = prevAgent
    if (!(flags & S_SAME_AGENT)) {
      a = buf[pos++]! | 0
      if (a >= 0x80) {
        a = varintAt(buf, pos - 1)
        pos = varintEnd
      }
      if (a >= n) throw outsideTable(a, n)
    } else if (k === 0) throw new CrdtDecodeError('the first span refers to a previous one')
    let c = expected[a]!
    if (!(flags & S_IMPLICIT_COUNTER)) {
      const z = buf[pos++]! | 0
      if (z < 0x80) c += (z >>> 1) ^ -(z & 1)
      else {
        c += unzigzag(varintAt(buf, pos - 1))
        pos = varintEnd
      }
    }
    let length = buf[pos++]! | 0
    if (length >= 0x80) {
      length = varintAt(buf, pos - 1)
      pos = varintEnd
    }
    if (length === 0) throw new CrdtDecodeError('empty span')
    if (c < 1 || c + length - 1 > seen[a]!) {
      throw new CrdtDecodeError(`span ${c}+${length} of replica ${a} is beyond its version`)
    }

    const olMode = (flags >> OL_SHIFT) & 3
    if (olMode === OL_PREVIOUS) {
      if (c < 2) throw beyondVersion(c - 1, a, seen)
      olAgent[k] = a
      olCounter[k] = c - 1
    } else if (olMode === OL_PREV_SPAN) {
      if (k === 0) throw new CrdtDecodeError('the first span refers to a previous one')
      olAgent[k] = prevAgent
      olCounter[k] = prevEnd
    } else if (olMode === OL_EXPLICIT) {
      const la = varintAt(buf, pos)
      if (la >= n) throw outsideTable(la, n)
      const v = varintAt(buf, varintEnd)
      pos = varintEnd
      const lc = la === a ? c - unzigzag(v) : v
      if (lc < 1 || lc > seen[la]!) throw beyondVersion(lc, la, seen)
      olAgent[k] = la
      olCounter[k] = lc
    } else olAgent[k] = NONE

    const orMode = (flags >> OR_SHIFT) & 3
    if (orMode === OR_SAME_AGENT) {
      let rc = c
      const z = buf[pos++]! | 0
      if (z < 0x80) rc -= (z >>> 1) ^ -(z & 1)
      else {
        rc -= unzigzag(varintAt(buf, pos - 1))
        pos = varintEnd
      }
      if (rc < 1 || rc > seen[a]!) throw beyondVersion(rc, a, seen)
      orAgent[k] = a
      orCounter[k] = rc
    } else if (orMode === OR_OTHER_AGENT) {
      const ra = varintAt(buf, pos)
      if (ra >= n) throw outsideTable(ra, n)
      const rc = varintAt(buf, varintEnd)
      pos = varintEnd
      if (rc < 1 || rc > seen[ra]!) throw beyondVersion(rc, ra, seen)
      orAgent[k] = ra
      orCounter[k] = rc
    } else orAgent[k] = NONE

    if (flags & S_DELETED) deleted[k] = 1
    else if ((visible += length) > textLength) {
      throw new CrdtDecodeError('the visible spans are longer than the text')
    }
    if ((total += length) > Number.MAX_SAFE_INTEGER) throw new CrdtDecodeError('document length out of range')
    agent[k] = a
    counter[k] = c
    len[k] = length
    if (waiting >= 0) {
      orAgent[waiting] = a
      orCounter[waiting] = c
    }
    waiting = orMode === OR_NEXT_SPAN ? k : -1
    prevAgent = a
    prevEnd = c + length - 1
    expected[a] = prevEnd + 1
  }
  // Bytes read past the end read as 0 above; whatever they decoded to, the data was short.
  if (pos > buf.length) throw new CrdtDecodeError('unexpected end of data')
  if (waiting >= 0) throw new CrdtDecodeError('the last span refers to a next one')
  if (visible !== textLength) throw new CrdtDecodeError('the text is longer than the visible spans')
  r.pos = pos
  let maxSeen = 0
  for (let a = 0; a < n; a++) if (seen[a]! > maxSeen) maxSeen = seen[a]!
  return { count, agent, counter, len, deleted, olAgent, olCounter, orAgent, orCounter, replicas: n, maxSeen }
}

/** The span index of a `byCounter` key. */
export const spanOfKey = (key: number, shift: number): number => (shift > 0 ? key % shift : key)

/** Largest integer a double holds exactly, plus one. */
const EXACT = 2 ** 53

/**
 * The spans grouped by replica, each group in counter order, checking that no two spans of a replica
 * share a character (CrdtDecodeError). Not done at load: only the ID index needs it, and a document
 * opened to be read never asks. Sorted natively, without a comparator call per comparison: a key is
 * counter × 2^bits + index, which a Float64Array sorts exactly while it stays below 2^53 (always, but
 * for counters in the trillions, which take the comparator).
 */
export function counterOrder(c: SpanColumns): CounterOrder {
  const { count, agent, counter, len, replicas: n } = c
  const agentStart = new Int32Array(n + 1)
  const byCounter = new Float64Array(count)
  let shift = 1
  while (shift <= count) shift *= 2
  if ((c.maxSeen + 1) * shift > EXACT) shift = 0
  for (let k = 0; k < count; k++) agentStart[agent[k]! + 1]!++
  for (let a = 0; a < n; a++) agentStart[a + 1]! += agentStart[a]!
  const fill = agentStart.slice(0, n)
  for (let k = 0; k < count; k++) byCounter[fill[agent[k]!]!++] = counter[k]! * shift + k
  for (let a = 0; a < n; a++) {
    const group = byCounter.subarray(agentStart[a]!, agentStart[a + 1]!)
    // With shift 0 the keys are the indices alone, sorted by a comparator.
    if (shift > 0) group.sort()
    else group.set(Array.from(group).sort((x, y) => counter[x]! - counter[y]!))
    let end = 0
    for (const key of group) {
      const k = spanOfKey(key, shift)
      if (counter[k]! < end) throw new CrdtDecodeError('two spans hold the same character')
      end = counter[k]! + len[k]!
    }
  }
  return { byCounter, agentStart, shift }
}
