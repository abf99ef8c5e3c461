/**
 * The canonical order of a set of text ops: the order in which every replica integrates the same set
 * when it rebuilds a document (TextDoc.canonical, TextDoc.rebuiltWith), so that all of them end with
 * the same sequence whatever order the ops first arrived in.
 *
 * Why it is needed. Integration (the YjsMod scan in text-doc.ts) is commutative for inserts made as
 * honest replicas make them: two origins that were neighbours when the insert was typed. An insert
 * whose origins were never neighbours (a modified client crafts one; or an honest one typed beside an
 * equivocating device's characters that peers then settled on another version of) can be placed by
 * the order of arrival, and replicas then differ for good with equal version vectors. No replica can
 * tell such an insert from an honest one when it arrives. So peers compare the order of their
 * characters at equal versions (`forEachRun`, a digest in every sync request) and, where it differs,
 * rebuild in this order, which depends on the set of ops alone.
 *
 * The order: ops by replica ID, then counter; overlapping copies of the same counters trimmed; and
 * each replica's inserts that continue one another (the next counter, left origin the previous
 * character, the same right origin) joined into one op, so that how a run was cut into batches on the
 * way (which differs from peer to peer) does not change how it is integrated. Ops still wait for their
 * dependencies as usual (TextDoc parks them), which is a function of this order too.
 */
import type { InsertOp, TextOp } from './ops'

export interface CanonicalOps {
  /** The ops to integrate, in order. */
  readonly ops: TextOp[]
  /**
   * The pieces each joined insert was made of, as given (trimmed): what the document's log keeps, so
   * that history still tells each piece's time.
   */
  readonly pieces: Map<TextOp, InsertOp[]>
}

/** `ops` (their agents index `replicas`) in canonical order, joined and trimmed as described above. */
export function canonicalOrder(replicas: readonly string[], ops: readonly TextOp[]): CanonicalOps {
  const sorted = ops.slice().sort((a, b) => {
    if (a.agent !== b.agent) return replicas[a.agent]! < replicas[b.agent]! ? -1 : 1
    return a.counter - b.counter || b.length - a.length
  })
  const out: TextOp[] = []
  const pieces = new Map<TextOp, InsertOp[]>()
  let agent = -1
  let end = 0 // the last counter of `agent` placed so far
  for (let op of sorted) {
    if (op.agent !== agent) {
      agent = op.agent
      end = op.counter - 1
    }
    const last = op.counter + op.length - 1
    if (last <= end) continue // a copy of counters already placed
    if (op.counter <= end) op = op.withoutPrefix(end - op.counter + 1)
    end = last
    const prev = out[out.length - 1]
    if (prev?.kind !== 0 || op.kind !== 0 || !continues(prev, op)) {
      out.push(op)
      continue
    }
    let joined = pieces.get(prev)
    if (joined === undefined) {
      // A new op, so that the pieces stay as they were.
      const run = prev.prefix(prev.length)
      out[out.length - 1] = run
      joined = [prev]
      pieces.set(run, joined)
      run.append(op.text)
    } else prev.append(op.text)
    joined.push(op)
  }
  return { ops: out, pieces }
}

/** Whether `op` goes on from `prev` as one run typed left to right (the same replica, contiguous). */
function continues(prev: InsertOp, op: InsertOp): boolean {
  return (
    prev.agent === op.agent &&
    prev.counter + prev.length === op.counter &&
    op.originLeftAgent === op.agent &&
    op.originLeftCounter === op.counter - 1 &&
    op.originRightAgent === prev.originRightAgent &&
    op.originRightCounter === prev.originRightCounter
  )
}
