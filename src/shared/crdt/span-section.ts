/**
 * The spans section of a kind-9 text state (text-state.ts has the rest of the layout): the same fields
 * per span as kinds 6 and 8 (span-columns.ts), written field by field instead of span by span, and the
 * whole deflated as one block. Each field's values then sit together (the flags, mostly the same few
 * bytes; the lengths, mostly small), which deflate codes better than the interleaved form; and a
 * counter, or a right origin, that is where a run split by typing resumes is coded as a small depth
 * into the replica's resume points (ResumePoints) rather than as a delta. The 12,529 spans of the
 * automerge-paper trace: 59,487 B interleaved (kind 8); 48,316 B interleaved and deflated; 43,800 B as
 * columns deflated; 33,027 B with resume points (counters 18,133 → 12,286 B deflated, right origins
 * 9,802 → 4,954 B). What is left is mostly the counters of spans typed later than their neighbours
 * and the lengths.
 *
 *   section   u8 form: 0 the columns follow; 1 deflated, 2 brotli (packing.ts), each as raw length |
 *             packed length | bytes
 *   columns   span count | byte length of each column but the flags (agents, counters, lengths, left
 *             origins, right origins) | flags: one byte per span, in document order | then each column
 *   flags     bit 0 deleted, bit 1 same replica as the previous span, bit 2 counter implicit (the
 *             replica's most recent resume point, see ResumePoints; 1 if none), bits 3-4 left origin: none | (own replica, counter - 1) |
 *             the last character of the previous span | explicit; bits 5-6 right origin: none | the
 *             first character of the next span | own replica | other replica; bit 7 reserved
 *   agents    for a span not of the previous span's replica, its replica index
 *   counters  for a span whose counter is not implicit: below 32, the depth (1 + code) of the resume
 *             point it is; else 32 + the zigzag delta from the most recent resume point. The resume
 *             point a span's counter is leaves the stack; the span's end is pushed
 *   lengths   every span's length
 *   left      for an explicit left origin: replica, then a signed delta back from the span's counter
 *             for its own replica, else the counter
 *   right     own replica: below 32, the depth of the resume point it is (after the span's counter
 *             left the stack, before its end is pushed), else 32 + the zigzag delta back from the span's
 *             counter; other replica: replica, counter
 *
 * Decoding checks what span-columns.ts checks (the same SpanColumns come out), and every column must be
 * read to its end exactly: a column that is short or has bytes left over is refused (CrdtDecodeError).
 */
import { ByteReader, ByteWriter, concatBytes, varintAt, varintEnd } from './bytes'
import type { Span } from './span'
import {
  beyondVersion,
  NONE,
  OL_EXPLICIT,
  OL_NONE,
  OL_PREV_SPAN,
  OL_PREVIOUS,
  OL_SHIFT,
  OR_NEXT_SPAN,
  OR_NONE,
  OR_OTHER_AGENT,
  OR_SAME_AGENT,
  OR_SHIFT,
  outsideTable,
  S_DELETED,
  S_IMPLICIT_COUNTER,
  S_RESERVED,
  S_SAME_AGENT,
  unzigzag,
  zigzag,
  type SpanColumns,
} from './span-columns'
import { BROTLI, DEFLATED, packSection, unpackSection } from './packing'
import { CrdtDecodeError } from './types'

const FORM_COLUMNS = 0
const FORM_DEFLATED = 1
const FORM_BROTLI = 2
/** A section smaller than this is not worth deflating (a short document's). */
const DEFLATE_FROM = 256

/** Codes below this in the counters and right-origin columns name a resume point by depth. */
const DEPTH_CODES = 32
/** Resume points kept per replica; older ones are forgotten (then coded as deltas). */
const MAX_RESUME = 64

/**
 * A replica's resume points, most recent last: the end (counter after the last character) of each of
 * its spans read so far whose continuation has not been read yet. Text typed inside a run splits it
 * around the new span, so in document order the run's right part follows, with a counter that is a
 * resume point pushed a few spans before; and the new span's right origin is that part's first
 * character. Both are then coded as a depth into this stack, mostly 0 to 3, instead of a delta.
 */
class ResumePoints {
  private readonly ends: number[] = []

  /** Depth of `counter` (0: the most recent), or -1. */
  depthOf(counter: number): number {
    const ends = this.ends
    const last = ends.length - 1
    for (let d = 0; d < DEPTH_CODES && d <= last; d++) if (ends[last - d] === counter) return d
    return -1
  }

  /** The resume point at `depth`, or -1 if there is none there. */
  at(depth: number): number {
    return depth < this.ends.length ? this.ends[this.ends.length - 1 - depth]! : -1
  }

  /** The most recent resume point, or 1 (a replica's first counter) if there is none. */
  top(): number {
    return this.ends.length > 0 ? this.ends[this.ends.length - 1]! : 1
  }

  remove(depth: number): void {
    this.ends.splice(this.ends.length - 1 - depth, 1)
  }

  push(end: number): void {
    if (this.ends.length === MAX_RESUME) this.ends.shift()
    this.ends.push(end)
  }
}

/** The spans section: `spans` in document order, agents indexing a table of `replicas`. */
export function encodeSpanSection(spans: readonly Span[], replicas: number): Uint8Array {
  const flags = new Uint8Array(spans.length)
  const agents = new ByteWriter(64)
  const counters = new ByteWriter(16 + spans.length * 2)
  const lengths = new ByteWriter(16 + spans.length)
  const left = new ByteWriter(64)
  const right = new ByteWriter(16 + spans.length * 2)
  const resume = Array.from({ length: replicas }, () => new ResumePoints())
  let prev: Span | undefined
  for (let i = 0; i < spans.length; i++) {
    const s = spans[i]!
    const next = spans[i + 1]
    const agent = s.agent
    const points = resume[agent]!
    let f = s.deleted ? S_DELETED : 0
    if (prev !== undefined && agent === prev.agent) f |= S_SAME_AGENT
    else agents.uint(agent)
    const depth = points.depthOf(s.counter)
    if (depth === 0) f |= S_IMPLICIT_COUNTER
    else if (depth > 0) counters.uint(depth - 1)
    else if (points.top() === s.counter)
      f |= S_IMPLICIT_COUNTER // 1, with no resume point yet
    else counters.uint(DEPTH_CODES + zigzag(s.counter - points.top()))
    if (depth >= 0) points.remove(depth)
    lengths.uint(s.len)
    const olAgent = s.originLeftAgent
    const olCounter = s.originLeftCounter
    let olMode = OL_EXPLICIT
    if (olAgent === NONE) olMode = OL_NONE
    else if (olAgent === agent && olCounter === s.counter - 1) olMode = OL_PREVIOUS
    else if (prev !== undefined && olAgent === prev.agent && olCounter === prev.counter + prev.len - 1) {
      olMode = OL_PREV_SPAN
    } else {
      left.uint(olAgent)
      if (olAgent === agent) left.int(s.counter - olCounter)
      else left.uint(olCounter)
    }
    const orAgent = s.originRightAgent
    const orCounter = s.originRightCounter
    let orMode = OR_OTHER_AGENT
    if (orAgent === NONE) orMode = OR_NONE
    else if (next !== undefined && orAgent === next.agent && orCounter === next.counter) orMode = OR_NEXT_SPAN
    else if (orAgent === agent) {
      orMode = OR_SAME_AGENT
      const at = points.depthOf(orCounter)
      right.uint(at >= 0 ? at : DEPTH_CODES + zigzag(s.counter - orCounter))
    } else {
      right.uint(orAgent)
      right.uint(orCounter)
    }
    flags[i] = f | (olMode << OL_SHIFT) | (orMode << OR_SHIFT)
    points.push(s.counter + s.len)
    prev = s
  }
  const columns = [agents, counters, lengths, left, right]
  const head = new ByteWriter(32)
  head.uint(spans.length)
  for (const column of columns) head.uint(column.length)
  const raw = concatBytes(head.view(), flags, ...columns.map((c) => c.view()))
  if (raw.length >= DEFLATE_FROM) {
    const packed = packSection(raw)
    if (packed.bytes.length < raw.length) {
      return concatBytes(Uint8Array.of(packed.method === BROTLI ? FORM_BROTLI : FORM_DEFLATED), packed.bytes)
    }
  }
  return concatBytes(Uint8Array.of(FORM_COLUMNS), raw)
}

/**
 * Decodes a spans section (all of `bytes`). `seen` is each state replica's version; `textLength` the
 * visible text's length in UTF-16 units, which the visible spans must fill. Throws CrdtDecodeError.
 */
export function decodeSpanSection(
  bytes: Uint8Array,
  seen: readonly number[],
  textLength: number,
): SpanColumns {
  const outer = new ByteReader(bytes)
  const form = outer.byte()
  let r: ByteReader
  if (form === FORM_COLUMNS) r = outer
  else if (form === FORM_DEFLATED || form === FORM_BROTLI) {
    r = new ByteReader(unpackSection(outer, form === FORM_BROTLI ? BROTLI : DEFLATED, 'spans'))
    if (!outer.done()) throw new CrdtDecodeError('trailing bytes after the spans')
  } else throw new CrdtDecodeError(`unknown spans form ${form}`)
  // At least a flags byte and a length byte per span.
  const count = r.count(2)
  const sizes: number[] = []
  for (let i = 0; i < 5; i++) sizes.push(r.uint())
  const flags = r.bytes(count)
  const [agents, counters, lengths, left, right] = sizes.map((size) => r.bytes(size)) as [
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
    Uint8Array,
  ]
  if (!r.done()) throw new CrdtDecodeError('trailing bytes after the span columns')
  return decodeColumns(count, flags, agents, counters, lengths, left, right, seen, textLength)
}

/**
 * The loop, over the columns each read from its own cursor. As in span-columns.ts it runs once per
 * process, cold: one-byte varints (most) are read without a call. A read past a column's end gives
 * `undefined | 0`, 0, and is caught once, after the loop, by the column's cursor not ending at its
 * end; `varintAt` throws at the end itself.
 */
function decodeColumns(
  count: number,
  flagsIn: Uint8Array,
  agentsIn: Uint8Array,
  countersIn: Uint8Array,
  lengthsIn: Uint8Array,
  left: Uint8Array,
  right: Uint8Array,
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
  /** Per replica of the table, made when its first span is read. */
  const resume: (ResumePoints | undefined)[] = []
  let ap = 0
  let cp = 0
  let lp = 0
  let olp = 0
  let orp = 0
  let prevAgent = 0
  let prevEnd = 0 // counter of the previous span's last character
  let visible = 0
  let total = 0 // characters, deleted ones included
  /** Index of a span whose right origin is the next span's first character, set once that is read. */
  let waiting = -1
  for (let k = 0; k < count; k++) {
    const f = flagsIn[k]!
    if (f & S_RESERVED) throw new CrdtDecodeError('reserved span flag set')
    let a = prevAgent
    if (!(f & S_SAME_AGENT)) {
      a = agentsIn[ap++]! | 0
      if (a >= 0x80) {
        a = varintAt(agentsIn, ap - 1)
        ap = varintEnd
      }
      if (a >= n) throw outsideTable(a, n)
    } else if (k === 0) throw new CrdtDecodeError('the first span refers to a previous one')
    const points = (resume[a] ??= new ResumePoints())
    let c: number
    if (f & S_IMPLICIT_COUNTER) {
      c = points.top()
      if (points.at(0) >= 0) points.remove(0)
    } else {
      let z = countersIn[cp++]! | 0
      if (z >= 0x80) {
        z = varintAt(countersIn, cp - 1)
        cp = varintEnd
      }
      if (z < DEPTH_CODES) {
        c = points.at(z + 1)
        if (c < 0) throw new CrdtDecodeError('a span counter names no resume point')
        points.remove(z + 1)
      } else c = points.top() + unzigzag(z - DEPTH_CODES)
    }
    let length = lengthsIn[lp++]! | 0
    if (length >= 0x80) {
      length = varintAt(lengthsIn, lp - 1)
      lp = varintEnd
    }
    if (length === 0) throw new CrdtDecodeError('empty span')
    if (c < 1 || c + length - 1 > seen[a]!) {
      throw new CrdtDecodeError(`span ${c}+${length} of replica ${a} is beyond its version`)
    }

    const olMode = (f >> OL_SHIFT) & 3
    if (olMode === OL_PREVIOUS) {
      if (c < 2) throw beyondVersion(c - 1, a, seen)
      olAgent[k] = a
      olCounter[k] = c - 1
    } else if (olMode === OL_PREV_SPAN) {
      if (k === 0) throw new CrdtDecodeError('the first span refers to a previous one')
      olAgent[k] = prevAgent
      olCounter[k] = prevEnd
    } else if (olMode === OL_EXPLICIT) {
      const la = varintAt(left, olp)
      if (la >= n) throw outsideTable(la, n)
      const v = varintAt(left, varintEnd)
      olp = varintEnd
      const lc = la === a ? c - unzigzag(v) : v
      if (lc < 1 || lc > seen[la]!) throw beyondVersion(lc, la, seen)
      olAgent[k] = la
      olCounter[k] = lc
    } else olAgent[k] = NONE

    const orMode = (f >> OR_SHIFT) & 3
    if (orMode === OR_SAME_AGENT) {
      const z = varintAt(right, orp)
      orp = varintEnd
      const rc = z < DEPTH_CODES ? points.at(z) : c - unzigzag(z - DEPTH_CODES)
      if (rc < 1 || rc > seen[a]!) throw beyondVersion(rc, a, seen)
      orAgent[k] = a
      orCounter[k] = rc
    } else if (orMode === OR_OTHER_AGENT) {
      const ra = varintAt(right, orp)
      if (ra >= n) throw outsideTable(ra, n)
      const rc = varintAt(right, varintEnd)
      orp = varintEnd
      if (rc < 1 || rc > seen[ra]!) throw beyondVersion(rc, ra, seen)
      orAgent[k] = ra
      orCounter[k] = rc
    } else orAgent[k] = NONE

    if (f & S_DELETED) deleted[k] = 1
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
    points.push(prevEnd + 1)
  }
  // Bytes read past a column's end read as 0 above; whatever they decoded to, the column was short.
  if (ap !== agentsIn.length || cp !== countersIn.length || lp !== lengthsIn.length) {
    throw new CrdtDecodeError('a span column does not hold its spans')
  }
  if (olp !== left.length || orp !== right.length)
    throw new CrdtDecodeError('an origin column does not hold its spans')
  if (waiting >= 0) throw new CrdtDecodeError('the last span refers to a next one')
  if (visible !== textLength) throw new CrdtDecodeError('the text is longer than the visible spans')
  let maxSeen = 0
  for (let a = 0; a < n; a++) if (seen[a]! > maxSeen) maxSeen = seen[a]!
  return { count, agent, counter, len, deleted, olAgent, olCounter, orAgent, orCounter, replicas: n, maxSeen }
}
