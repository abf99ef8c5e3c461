/**
 * Form 3 of a log chunk (log-chunk.ts has the others): the ops of a stretch of the op log stored as
 * `save()` stores them, by position, and without the text that is kept elsewhere anyway. Each
 * character's text is stored once in a text state: in the visible text while it is visible, and by the
 * delete that removed it once it is not (a delete carries what it removed, `DeleteOp.removed`). So an
 * insert here carries no text, and origins and delete targets of ops made on the saving replica are
 * not stored either: replaying the ops in order where they were made gives them back (`history-text.ts`
 * does, with the visible text). On the automerge-paper trace the history takes 112,863 B in form 2,
 * and in this form 52,719 B deflated, 48,053 B with brotli (packing.ts).
 *
 *   chunk     u8 3 | u8 options (bit 0: self-contained, for a chunk that must decode alone, the last
 *             op's: inserts carry their text, and positional ops their refs too; bit 1: the text is
 *             UTF-16LE, as it holds a lone surrogate; bits 2-3, 4-5: how the fields and the text are
 *             kept, as it is, deflated or brotli, packing.ts) | fields | text
 *   fields    replica table (replica-table.ts) | op count | byte length of every column but the flags
 *             | flags: one byte per op | agents | counters | lengths | times | positions | refs | removed
 *   flags     bit 0 delete; 1 positional (stored by the visible index it was made at); 2 same replica as
 *             the op before; 3 counter implicit (the one after that replica's last op in the chunk);
 *             4 same time as the op before; 5 (delete) backward; 6 (delete) removed fewer characters
 *             than its length (some were deleted already: their count is in `removed`); 7 (delete)
             its target is on another replica than its own
 *   agents    the replica's table index, when not the previous op's
 *   counters  the counter, when not implicit
 *   lengths   every op's length
 *   times     zigzag delta from the previous op's time (seconds), when not the same
 *   positions for a positional op, the zigzag delta of its visible index from the previous positional
 *             op's end (an insert's end is after its text; a delete's its start)
 *   refs      for an op stored by IDs (made elsewhere): an insert's origin modes byte (left: none | own
 *             replica, counter - 1 | own replica | other; right << 2: none | own replica | other), then
 *             each origin not implied: own replica: zigzag delta back from the op's counter; other:
 *             table index, counter. A delete's target: on its own replica, the zigzag delta back from
 *             the op's counter; else (flag 7) table index, counter
 *   removed   for a delete with flag 6: how many characters it removed
 *   text      per op in order: an insert's text (option bit 0 only), a delete's removed characters
 *
 * Decoding treats the bytes as hostile: every count against what remains, every table index against
 * the table, every text length against the text. Ops come back with `pos` set where positional, and
 * with no origins or target there (the replay finds them); inserts without their text come back with
 * their length and empty text (`isTextless`) for the replay to fill.
 */
import {
  ByteReader,
  ByteWriter,
  concatBytes,
  decodeUtf16le,
  decodeUtf8,
  encodeUtf16le,
  encodeUtf8,
  hasLoneSurrogate,
} from './bytes'
import { DeleteOp, InsertOp, type TextOp } from './ops'
import { readHeader, writeHeader } from './replica-table'
import { BROTLI, packSection, STORED, storedSection, unpackSection } from './packing'
import {
  leftOriginMode,
  OL_OTHER_AGENT,
  OL_PREVIOUS,
  OL_SAME_AGENT,
  OR_OTHER_AGENT,
  OR_SAME_AGENT,
  rightOriginMode,
  type DecodedOps,
} from './text-codec'
import { CrdtDecodeError } from './types'

export const CHUNK_POSITIONAL = 3
/** The kind nibble of the chunk's replica table (replica-table.ts needs one; nothing else reads it). */
const TABLE_KIND = 3

/** Option bit 0: the chunk decodes alone (inserts carry their text, every op its IDs). */
const SELF_CONTAINED = 1
const TEXT_UTF16 = 2
/** Where in the options each section's packing.ts method is (2 bits each). */
const FIELDS_SHIFT = 2
const TEXT_SHIFT = 4

const P_DELETE = 1
const P_POSITIONAL = 2
const P_SAME_AGENT = 4
const P_IMPLICIT_COUNTER = 8
const P_SAME_TIME = 16
const P_BACKWARD = 32
const P_PARTIAL = 64
const P_TARGET_OTHER = 128
/** Flags only a delete may have. */
const DELETE_ONLY = P_BACKWARD | P_PARTIAL | P_TARGET_OTHER

const NONE = -1
/** Columns after the flags, in order. */
const COLUMNS = 7
/** The longest insert a chunk may state without carrying its text (JS strings stop near 2^29 units). */
const MAX_TEXTLESS = 2 ** 28

/** Whether a log chunk is of form 3. */
export const isPositional = (chunk: Uint8Array): boolean => chunk[0] === CHUNK_POSITIONAL

/** Whether a log chunk decodes into whole ops by itself: any form but 3, and 3 if self-contained. */
export const decodesAlone = (chunk: Uint8Array): boolean =>
  !isPositional(chunk) || (chunk.length > 1 && (chunk[1]! & SELF_CONTAINED) !== 0)

/** An insert decoded without its text: its length is known, its characters are not (yet). */
export const isTextless = (op: TextOp): op is InsertOp => op.kind === 0 && op.len > 0 && op.head === ''

/**
 * Encodes `ops` (agents indexing `replicas`; every delete's `removed` known) as a form-3 chunk.
 * `selfContained`: inserts carry their text and every op its IDs, so that the chunk decodes alone.
 */
export function encodePositionalChunk(
  replicas: readonly string[],
  ops: readonly TextOp[],
  selfContained: boolean,
): Uint8Array {
  const slots = new Map<number, number>()
  const table: string[] = []
  const slotOf = (agent: number): number => {
    let slot = slots.get(agent)
    if (slot === undefined) {
      slot = table.push(replicas[agent]!) - 1
      slots.set(agent, slot)
    }
    return slot
  }
  const flags = new ByteWriter(ops.length + 8)
  const cols = Array.from({ length: COLUMNS }, () => new ByteWriter(64))
  const [agents, counters, lengths, times, positions, refs, removed] = cols as [
    ByteWriter,
    ByteWriter,
    ByteWriter,
    ByteWriter,
    ByteWriter,
    ByteWriter,
    ByteWriter,
  ]
  const texts: string[] = []
  const expected = new Map<number, number>()
  let prevAgent = NONE
  let prevTime = 0
  let lastPos = 0
  for (const op of ops) {
    let f = 0
    const slot = slotOf(op.agent)
    if (op.agent === prevAgent) f |= P_SAME_AGENT
    else agents.uint(slot)
    if (expected.get(op.agent) === op.counter) f |= P_IMPLICIT_COUNTER
    else counters.uint(op.counter)
    lengths.uint(op.length)
    if (op.time === prevTime) f |= P_SAME_TIME
    else times.int(op.time - prevTime)
    if (op.pos >= 0) {
      f |= P_POSITIONAL
      positions.int(op.pos - lastPos)
      lastPos = op.kind === 0 ? op.pos + op.length : op.pos
    }
    if (op.kind === 0) {
      if (!(f & P_POSITIONAL) || selfContained) writeOrigins(refs, op, slotOf)
      if (selfContained) texts.push(op.text)
    } else {
      f |= P_DELETE
      if (op.backward) f |= P_BACKWARD
      if (!(f & P_POSITIONAL) || selfContained) {
        if (op.targetAgent === op.agent) refs.int(op.counter - op.targetCounter)
        else {
          f |= P_TARGET_OTHER
          refs.uint(slotOf(op.targetAgent))
          refs.uint(op.targetCounter)
        }
      }
      const gone = op.removed
      if (gone === null) throw new Error('encodePositionalChunk: a delete whose removed text is unknown')
      if (gone.length !== op.length) {
        f |= P_PARTIAL
        removed.uint(gone.length)
      }
      texts.push(gone)
    }
    flags.byte(f)
    prevAgent = op.agent
    prevTime = op.time
    expected.set(op.agent, op.counter + op.length)
  }
  const fields = new ByteWriter(64 + ops.length * 4)
  writeHeader(fields, TABLE_KIND, table)
  fields.uint(ops.length)
  for (const col of cols) fields.uint(col.length)
  fields.bytes(flags.view())
  for (const col of cols) fields.bytes(col.view())

  const joined = texts.join('')
  const utf16 = hasLoneSurrogate(joined)
  const text = utf16 ? encodeUtf16le(joined) : encodeUtf8(joined)
  const head = Uint8Array.of(
    CHUNK_POSITIONAL,
    (selfContained ? SELF_CONTAINED : 0) | (utf16 ? TEXT_UTF16 : 0),
  )
  const packedFields = packSection(fields.view(), true)
  const packedText = packSection(text, true)
  head[1]! |= (packedFields.method << FIELDS_SHIFT) | (packedText.method << TEXT_SHIFT)
  return concatBytes(head, packedFields.bytes, packedText.bytes)
}

function writeOrigins(refs: ByteWriter, op: InsertOp, slotOf: (agent: number) => number): void {
  const l = op.originLeftAgent
  const r = op.originRightAgent
  const left = leftOriginMode(op)
  const right = rightOriginMode(op)
  refs.byte(left | (right << 2))
  if (left === OL_SAME_AGENT) refs.int(op.counter - op.originLeftCounter)
  else if (left === OL_OTHER_AGENT) {
    refs.uint(slotOf(l))
    refs.uint(op.originLeftCounter)
  }
  if (right === OR_SAME_AGENT) refs.int(op.counter - op.originRightCounter)
  else if (right === OR_OTHER_AGENT) {
    refs.uint(slotOf(r))
    refs.uint(op.originRightCounter)
  }
}

/**
 * `chunk` as a process without brotli reads it: a form-3 chunk with a brotli section has both its
 * sections kept as they are (inflated, not decoded); any other chunk is returned as it is.
 */
export function chunkWithoutBrotli(chunk: Uint8Array): Uint8Array {
  if (chunk.length < 2 || chunk[0] !== CHUNK_POSITIONAL) return chunk
  const options = chunk[1]!
  const fields = (options >> FIELDS_SHIFT) & 3
  const text = (options >> TEXT_SHIFT) & 3
  if (fields !== BROTLI && text !== BROTLI) return chunk
  const r = new ByteReader(chunk.subarray(2))
  const rawFields = unpackSection(r, fields, 'log chunk')
  const rawText = unpackSection(r, text, 'log chunk text')
  const kept = options & ~((3 << FIELDS_SHIFT) | (3 << TEXT_SHIFT))
  const head = Uint8Array.of(CHUNK_POSITIONAL, kept | (STORED << FIELDS_SHIFT) | (STORED << TEXT_SHIFT))
  return concatBytes(head, storedSection(rawFields), storedSection(rawText))
}

/** Decodes a form-3 chunk, its form byte read already (`outer` is after it). Throws CrdtDecodeError. */
export function decodePositionalChunk(outer: ByteReader): DecodedOps {
  const options = outer.byte()
  if (options >> 6 !== 0) throw new CrdtDecodeError('unknown log chunk options')
  const r = new ByteReader(unpackSection(outer, (options >> FIELDS_SHIFT) & 3, 'log chunk'))
  const rawText = unpackSection(outer, (options >> TEXT_SHIFT) & 3, 'log chunk text')
  if (!outer.done()) throw new CrdtDecodeError('trailing bytes after a log chunk')
  const text = options & TEXT_UTF16 ? decodeUtf16le(rawText) : decodeUtf8(rawText)
  const selfContained = (options & SELF_CONTAINED) !== 0

  const { replicas } = readHeader(r, [TABLE_KIND], 'log chunk')
  const n = r.count(1)
  const sizes: number[] = []
  for (let i = 0; i < COLUMNS; i++) sizes.push(r.uint())
  const flags = r.bytes(n)
  const [agents, counters, lengths, times, positions, refs, removed] = sizes.map(
    (size) => new ByteReader(r.bytes(size)),
  ) as [ByteReader, ByteReader, ByteReader, ByteReader, ByteReader, ByteReader, ByteReader]
  if (!r.done()) throw new CrdtDecodeError('trailing bytes after a log chunk')

  const slot = (i: number): number => {
    if (i >= replicas.length)
      throw new CrdtDecodeError(`replica index ${i} outside the table of ${replicas.length}`)
    return i
  }
  const counterOf = (c: number): number => {
    if (c < 1) throw new CrdtDecodeError('counter 0')
    return c
  }
  const ops: TextOp[] = []
  const expected = new Map<number, number>()
  let agent = NONE
  let time = 0
  let lastPos = 0
  let at = 0
  let textless = 0
  const take = (units: number): string => {
    if (units > text.length - at) throw new CrdtDecodeError('log chunk text too short')
    return text.slice(at, (at += units))
  }
  for (let i = 0; i < n; i++) {
    const f = flags[i]!
    if (!(f & P_SAME_AGENT)) agent = slot(agents.uint())
    else if (agent === NONE) throw new CrdtDecodeError('no previous replica')
    let counter: number
    if (f & P_IMPLICIT_COUNTER) {
      const next = expected.get(agent)
      if (next === undefined) throw new CrdtDecodeError('implicit counter without a previous op')
      counter = next
    } else counter = counterOf(counters.uint())
    const length = lengths.uint()
    if (length < 1) throw new CrdtDecodeError('an op of length 0')
    if (!(f & P_SAME_TIME)) time += times.int()
    let pos = -1
    if (f & P_POSITIONAL) {
      pos = lastPos + positions.int()
      if (pos < 0) throw new CrdtDecodeError('negative position')
      lastPos = f & P_DELETE ? pos : pos + length
    }
    let op: TextOp
    if (!(f & P_DELETE)) {
      if (f & DELETE_ONLY) throw new CrdtDecodeError('a delete flag on an insert')
      op = new InsertOp(agent, counter, selfContained ? take(length) : '', NONE, 0, NONE, 0)
      if (!selfContained) {
        textless += length
        if (textless > MAX_TEXTLESS) throw new CrdtDecodeError('log chunk inserts too long')
        op.len = length
      }
      if (!(f & P_POSITIONAL) || selfContained) readOrigins(refs, op, slot, counterOf)
    } else {
      let targetAgent = NONE
      let targetCounter = 0
      const withRefs = !(f & P_POSITIONAL) || selfContained
      if (f & P_TARGET_OTHER) {
        if (!withRefs) throw new CrdtDecodeError('a positional delete with a target')
        targetAgent = slot(refs.uint())
        targetCounter = counterOf(refs.uint())
      } else if (withRefs) {
        targetAgent = agent
        targetCounter = counterOf(counter - refs.int())
      }
      const del = new DeleteOp(agent, counter, length, targetAgent, targetCounter, (f & P_BACKWARD) !== 0)
      const gone = f & P_PARTIAL ? removed.uint() : length
      if (gone >= length && f & P_PARTIAL) throw new CrdtDecodeError('a partial delete that removed it all')
      del.removed = take(gone)
      op = del
    }
    op.pos = pos
    op.time = time
    if (time < 0) throw new CrdtDecodeError('negative time')
    expected.set(agent, counter + length)
    ops.push(op)
  }
  for (const col of [agents, counters, lengths, times, positions, refs, removed]) {
    if (!col.done()) throw new CrdtDecodeError('a log chunk column has bytes left over')
  }
  if (at !== text.length) throw new CrdtDecodeError('log chunk text too long')
  return { replicas, ops }
}

function readOrigins(
  refs: ByteReader,
  op: InsertOp,
  slot: (i: number) => number,
  counterOf: (c: number) => number,
): void {
  const modes = refs.byte()
  const left = modes & 3
  const right = modes >> 2
  if (right > OR_OTHER_AGENT) throw new CrdtDecodeError('unknown right origin mode')
  if (left === OL_PREVIOUS) {
    op.originLeftAgent = op.agent
    op.originLeftCounter = counterOf(op.counter - 1)
  } else if (left === OL_SAME_AGENT) {
    op.originLeftAgent = op.agent
    op.originLeftCounter = counterOf(op.counter - refs.int())
  } else if (left === OL_OTHER_AGENT) {
    op.originLeftAgent = slot(refs.uint())
    op.originLeftCounter = counterOf(refs.uint())
  }
  if (right === OR_SAME_AGENT) {
    op.originRightAgent = op.agent
    op.originRightCounter = counterOf(op.counter - refs.int())
  } else if (right === OR_OTHER_AGENT) {
    op.originRightAgent = slot(refs.uint())
    op.originRightCounter = counterOf(refs.uint())
  }
}
