/**
 * The two operations of the text CRDT, as kept in the op log and sent in batches. Agents are indices
 * into a replica table (the document's, or a batch's while it is being decoded). Every character
 * inserted and every character deleted takes one counter of its replica, so a version vector counts
 * both and `changesSince` can say exactly what a peer lacks.
 */
import { NONE } from './span'

export class InsertOp {
  readonly kind = 0
  constructor(
    public agent: number,
    public counter: number,
    public text: string,
    public originLeftAgent: number,
    public originLeftCounter: number,
    public originRightAgent: number,
    public originRightCounter: number,
  ) {}

  get length(): number {
    return this.text.length
  }

  /** The same op without its first `n` characters (they were already applied). */
  withoutPrefix(n: number): InsertOp {
    return new InsertOp(
      this.agent,
      this.counter + n,
      this.text.slice(n),
      this.agent,
      this.counter + n - 1,
      this.originRightAgent,
      this.originRightCounter,
    )
  }
}

export class DeleteOp {
  readonly kind = 1
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

  withoutPrefix(n: number): DeleteOp {
    const targetCounter = this.backward ? this.targetCounter : this.targetCounter + n
    return new DeleteOp(
      this.agent,
      this.counter + n,
      this.length - n,
      this.targetAgent,
      targetCounter,
      this.backward,
    )
  }
}

export type TextOp = InsertOp | DeleteOp

export const hasOrigin = (agent: number): boolean => agent !== NONE
