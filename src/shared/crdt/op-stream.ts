/**
 * The canonical bytes of one replica's text ops, counter by counter: what a seal's digest covers
 * (src/main/node/provenance.ts). The same ops give the same bytes however batches split or joined
 * them (`withoutPrefix`, `splitTextBatch`, merged runs in the log), because every counter is written
 * from what it alone means: an inserted code unit with its two origins, or the one character a delete
 * removed. A character typed right after the replica's previous one, before the same right origin (the
 * common case: typing), is written as a continuation, two bytes or three, so hashing a replica's whole
 * history stays cheap.
 */
import type { ByteWriter } from './bytes'
import type { TextOp } from './ops'
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
    if (op.agent !== agent) continue
    const end = Math.min(op.counter + op.length - 1, until)
    if (end <= cursor.counter) continue
    if (op.counter > cursor.counter + 1) return false
    if (op.kind === 0) {
      // The right origin is the op's for every character of it (a file's 10 MB import is one op: built
      // once, not once a character).
      const right = idKey(ids, op.originRightAgent, op.originRightCounter)
      const text = op.text
      const c = cursor.counter + 1
      const first = c - op.counter
      const unit = text.charCodeAt(first)
      const leftAgent = first === 0 ? op.originLeftAgent : agent
      const leftCounter = first === 0 ? op.originLeftCounter : c - 1
      if (leftAgent === agent && leftCounter === c - 1 && cursor.lastRight === right) {
        w.byte(CONTINUE)
        w.uint(unit)
      } else {
        w.byte(INSERT)
        w.uint(unit)
        writeId(w, ids, leftAgent, leftCounter)
        writeId(w, ids, op.originRightAgent, op.originRightCounter)
      }
      cursor.lastRight = right
      // Every later character of the op follows the one before it, before the same right origin.
      const last = end - op.counter + 1
      for (let from = first + 1; from < last;) {
        const to = spill ? Math.min(last, from + RUN_STEP) : last
        w.taggedUnits(CONTINUE, text, from, to)
        from = to
        spilled()
      }
      cursor.counter = end
    } else {
      for (let c = cursor.counter + 1; c <= end; c++) {
        const i = c - op.counter
        w.byte(DELETE)
        const target = op.backward ? op.targetCounter + op.length - 1 - i : op.targetCounter + i
        writeId(w, ids, op.targetAgent, target)
        cursor.lastRight = null
        cursor.counter = c
      }
    }
    spilled()
    if (cursor.counter >= until) return true
  }
  return cursor.counter >= until
}

function idKey(ids: readonly string[], agent: number, counter: number): string {
  return agent === NONE ? '' : `${ids[agent]!}:${counter}`
}

function writeId(w: ByteWriter, ids: readonly string[], agent: number, counter: number): void {
  if (agent === NONE) return w.byte(0)
  w.string(ids[agent]!)
  w.uint(counter)
}
