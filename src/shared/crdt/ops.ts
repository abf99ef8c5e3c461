/**
 * The two operations of the text CRDT, as kept in the op log and sent in batches. Agents are indices
 * into a replica table (the document's, or a batch's while it is being decoded). Every character
 * inserted and every character deleted takes one counter of its replica, so a version vector counts
 * both and `changesSince` can say exactly what a peer lacks.
 */
import { GrowingText, growsApart } from './growing-text'
import { NONE } from './span'

export class InsertOp extends GrowingText {
  readonly kind = 0
  /**
   * For an op made on this replica: the visible index it was made at (-1 otherwise). Snapshots store
   * such ops by position, which is far smaller than their origins and replays without ID lookups.
   */
  pos = -1
  /** When the op was made (if here) or first received, in whole seconds since the epoch; 0 unknown. */
  time = 0

  constructor(
    public agent: number,
    public counter: number,
    text: string,
    public originLeftAgent: number,
    public originLeftCounter: number,
    public originRightAgent: number,
    public originRightCounter: number,
  ) {
    super(text)
  }

  get length(): number {
    return this.len
  }

  /** The op's first `n` characters only (the rest are not yet vouched for). */
  prefix(n: number): InsertOp {
    const { originLeftAgent, originLeftCounter, originRightAgent, originRightCounter } = this
    const op = new InsertOp(
      this.agent,
      this.counter,
      this.text.slice(0, n),
      originLeftAgent,
      originLeftCounter,
      originRightAgent,
      originRightCounter,
    )
    return withTime(op, this.time)
  }

  /** The same op without its first `n` characters (they were already applied). */
  withoutPrefix(n: number): InsertOp {
    return withTime(
      new InsertOp(
        this.agent,
        this.counter + n,
        this.text.slice(n),
        this.agent,
        this.counter + n - 1,
        this.originRightAgent,
        this.originRightCounter,
      ),
      this.time,
    )
  }
}
growsApart(InsertOp)

export class DeleteOp {
  readonly kind = 1
  /** As InsertOp.pos: the visible index of the first deleted character when the op was made here. */
  pos = -1
  /** As InsertOp.time. */
  time = 0
  /**
   * For an op in the log: the text of the characters it deleted that were still visible (some may have
   * been deleted already), in counter order; null where not known (an op as sent, or decoded from a
   * history stored before deletes kept it). A text state keeps a character's text here once it is
   * deleted, not with its insert (positional-chunk.ts); `history-text.ts` finds it again.
   */
  removed: string | null = null
  constructor(
    public agent: number,
    public counter: number,
    public length: number,
    /** The deleted characters are (targetAgent, targetCounter … targetCounter + length - 1). */
    public targetAgent: number,
    public targetCounter: number,
    /**
     * Backspacing deletes a run from its end: counter + i then deleted target end - 1 - i. The
     * direction matters only when an op is cut at a counter boundary (`withoutPrefix`).
     */
    public backward: boolean,
  ) {}

  /** The op's first `n` counters only. Backspacing took the run's end first. */
  prefix(n: number): DeleteOp {
    const targetCounter = this.backward ? this.targetCounter + this.length - n : this.targetCounter
    const op = new DeleteOp(this.agent, this.counter, n, this.targetAgent, targetCounter, this.backward)
    return withTime(op, this.time)
  }

  withoutPrefix(n: number): DeleteOp {
    const targetCounter = this.backward ? this.targetCounter : this.targetCounter + n
    return withTime(
      new DeleteOp(
        this.agent,
        this.counter + n,
        this.length - n,
        this.targetAgent,
        targetCounter,
        this.backward,
      ),
      this.time,
    )
  }
}

export type TextOp = InsertOp | DeleteOp

function withTime<T extends TextOp>(op: T, time: number): T {
  op.time = time
  return op
}

export const hasOrigin = (agent: number): boolean => agent !== NONE
