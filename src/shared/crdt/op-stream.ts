/**
 * The canonical bytes of one replica's text ops, counter by counter: what a seal's digest covers
 * (src/main/node/provenance.ts). The same ops give the same bytes however batches split or joined
 * them (`withoutPrefix`, `splitTextBatch`, merged runs in the log), because every counter is written
 * from what it alone means: an inserted code unit with its two origins, or the one character a delete
 * removed. A character typed right after the replica's previous one, before the same right origin (the
 * common case: typing), is written as a continuation, so hashing a replica's whole history stays cheap.
 *
 * Two forms. The first (`writeOpStream`, seals of form 1) writes each inserted unit with its entry.
 * The block form (`writeBlockStream`, form 2) keeps the characters apart: the structure (entries
 * without units) goes to one writer, and the units inserted in each block of BLOCK_COUNTERS counters to
 * another, which the caller hashes at the block's end into the structure (`BlockSink.endBlock`). So a
 * stream's digest commits to a block's text by its hash alone, and a node can drop the text of a block
 * whose characters were all deleted and keep its hash: a peer far behind still checks the seal
 * (src/main/storage/README.md, "History: what is kept").
 */
import type { ByteWriter } from './bytes'
import type { DeleteOp, InsertOp, TextOp } from './ops'
import { NONE } from './span'

const CONTINUE = 1
const INSERT = 2
const DELETE = 3

/** Where a replica's stream stands: the last counter written, and what a continuation must follow. */
export interface StreamCursor {
  counter: number
  /** Right origin of the character at `counter`, if it was an insert ("replica:counter", "" = the end). */
  lastRight: string | null
}

export const streamStart = (): StreamCursor => ({ counter: 0, lastRight: null })

/**
 * With a `spill`, the writer is emptied into it whenever it holds this much; small, so that a writer
 * kept for every stream stays small (a hash takes 256 KB at a time as fast as 1 MB).
 */
export const STREAM_SPILL_BYTES = 1 << 18
/** Code units of a long insert written between two looks at the writer's size (when spilling). */
const RUN_STEP = 1 << 15

/**
 * Writes the counters of `agent`'s ops after `cursor.counter` up to `until` (inclusive), in order, and
 * moves the cursor. Ops of other agents and counters already written are skipped. Returns false, having
 * written the counters before it, at the first gap (a counter missing from `ops`).
 *
 * `spill`, if given, takes the bytes in order as they pile up (STREAM_SPILL_BYTES at a time; the
 * writer is emptied after each), so that hashing a 10 MB import never holds its 20 MB stream; whatever
 * is left in the writer at the end comes after them.
 */
export function writeOpStream(
  w: ByteWriter,
  ids: readonly string[],
  ops: readonly TextOp[],
  agent: number,
  cursor: StreamCursor,
  until: number,
  spill?: (bytes: Uint8Array) => void,
): boolean {
  const spilled = (): void => {
    if (!spill || w.length < STREAM_SPILL_BYTES) return
    spill(w.view())
    w.reset(4 * STREAM_SPILL_BYTES)
  }
  for (const op of ops) {
    const end = reach(op, agent, cursor, until)
    if (end === 0) continue
    if (end < 0) return false
    if (op.kind === 0) {
      const text = op.text
      const first = cursor.counter + 1 - op.counter
      insertEntry(w, ids, op, agent, cursor, text.charCodeAt(first))
      // Every later character of the op follows the one before it, before the same right origin.
      const last = end - op.counter + 1
      for (let from = first + 1; from < last;) {
        const to = spill ? Math.min(last, from + RUN_STEP) : last
        w.taggedUnits(CONTINUE, text, from, to)
        from = to
        spilled()
      }
      cursor.counter = end
    } else deleteEntries(w, ids, op, cursor, end)
    spilled()
    if (cursor.counter >= until) return true
  }
  return cursor.counter >= until
}

/**
 * The last counter `op` writes after `cursor` (at most `until`): 0 if none (another agent's op, or
 * counters written already), -1 if it starts past the next counter (a gap).
 */
function reach(op: TextOp, agent: number, cursor: StreamCursor, until: number): number {
  if (op.agent !== agent) return 0
  const end = Math.min(op.counter + op.length - 1, until)
  if (end <= cursor.counter) return 0
  return op.counter > cursor.counter + 1 ? -1 : end
}

/**
 * The entry of an insert's character after `cursor` (the first of the op the stream has not written):
 * a continuation if it follows the replica's previous character before the same right origin, else
 * the insert with its origins; with its code unit in the first form (`unit`), without in the block
 * form (null). The right origin is the op's for every character of it (a file's 10 MB import is one
 * op: its key built once, not once a character).
 */
function insertEntry(
  w: ByteWriter,
  ids: readonly string[],
  op: InsertOp,
  agent: number,
  cursor: StreamCursor,
  unit: number | null,
): void {
  const right = idKey(ids, op.originRightAgent, op.originRightCounter)
  const c = cursor.counter + 1
  const first = c - op.counter
  const leftAgent = first === 0 ? op.originLeftAgent : agent
  const leftCounter = first === 0 ? op.originLeftCounter : c - 1
  const continues = leftAgent === agent && leftCounter === c - 1 && cursor.lastRight === right
  w.byte(continues ? CONTINUE : INSERT)
  if (unit !== null) w.uint(unit)
  if (!continues) {
    writeId(w, ids, leftAgent, leftCounter)
    writeId(w, ids, op.originRightAgent, op.originRightCounter)
  }
  cursor.lastRight = right
}

/** The entries of a delete's counters after `cursor` up to `end`; `after` is called after each. */
function deleteEntries(
  w: ByteWriter,
  ids: readonly string[],
  op: DeleteOp,
  cursor: StreamCursor,
  end: number,
  after?: (counter: number) => void,
): void {
  for (let c = cursor.counter + 1; c <= end; c++) {
    const i = c - op.counter
    w.byte(DELETE)
    const target = op.backward ? op.targetCounter + op.length - 1 - i : op.targetCounter + i
    writeId(w, ids, op.targetAgent, target)
    cursor.lastRight = null
    cursor.counter = c
    after?.(c)
  }
}

function idKey(ids: readonly string[], agent: number, counter: number): string {
  return agent === NONE ? '' : `${ids[agent]!}:${counter}`
}

function writeId(w: ByteWriter, ids: readonly string[], agent: number, counter: number): void {
  if (agent === NONE) return w.byte(0)
  w.string(ids[agent]!)
  w.uint(counter)
}

/** Counters per block of the block form: block k covers counters k·BLOCK_COUNTERS + 1 … (k + 1)·BLOCK_COUNTERS. */
export const BLOCK_COUNTERS = 4096
/** The structure's marker before a block's hash. */
export const BLOCK_MARK = 4

/** A replica's blocks whose text was dropped: block → the SHA-256 of its units, kept when its text went. */
export type DroppedBlocks = ReadonlyMap<number, Uint8Array>

/** The placeholder that stands for each unit of dropped text (the replacement character: text unknown). */
export const DROPPED_UNIT = '\ufffd'

/** The block a counter (from 1) is in. */
export const blockOf = (counter: number): number => Math.floor((counter - 1) / BLOCK_COUNTERS)

/** Where the block form goes (see the header). */
export interface BlockSink {
  /** The stream's structure: entries without their units, and each block's hash after its last counter. */
  readonly struct: ByteWriter
  /** The units inserted in the current block, UTF-16 LE (at most 8 KiB: a block's counters). */
  readonly units: ByteWriter
  /** Block `block` ends at the counter just written: the sink writes BLOCK_MARK and its hash into `struct`. */
  endBlock(block: number): void
  /** Called between pieces: the sink may empty `struct` (spill it into a hash). */
  spill(): void
}

/**
 * `writeOpStream` in the block form (see the header): the same entries, without their units, which go
 * to `sink.units` block by block. Returns false, having written the counters before it, at the first gap.
 */
export function writeBlockStream(
  sink: BlockSink,
  ids: readonly string[],
  ops: readonly TextOp[],
  agent: number,
  cursor: StreamCursor,
  until: number,
): boolean {
  const { struct, units } = sink
  for (const op of ops) {
    const end = reach(op, agent, cursor, until)
    if (end === 0) continue
    if (end < 0) return false
    if (op.kind === 0) {
      const text = op.text
      let c = cursor.counter + 1
      insertEntry(struct, ids, op, agent, cursor, null)
      // The op's counters block by block: every one after the first follows the one before it.
      for (let continues = 0; c <= end; continues = 1) {
        const stop = Math.min(end, (blockOf(c) + 1) * BLOCK_COUNTERS)
        struct.fill(CONTINUE, stop - c + continues)
        units.utf16(text, c - op.counter, stop - op.counter + 1)
        cursor.counter = stop
        if (stop % BLOCK_COUNTERS === 0) sink.endBlock(blockOf(stop))
        sink.spill()
        c = stop + 1
      }
    } else {
      deleteEntries(
        struct,
        ids,
        op,
        cursor,
        end,
        (c) => c % BLOCK_COUNTERS === 0 && sink.endBlock(blockOf(c)),
      )
      sink.spill()
    }
    if (cursor.counter >= until) return true
  }
  return cursor.counter >= until
}
