/**
 * The two operations of the text CRDT, as kept in the op log and sent in batches. Agents are indices
 * into a replica table (the document's, or a batch's while it is being decoded). Every character
 * inserted and every character deleted takes one counter of its replica, so a version vector counts
 * both and `changesSince` can say exactly what a peer lacks.
 */
import { NONE } from './span'

export class InsertOp {
  readonly kind = 0
  /**
   * For an op made on this replica: the visible index it was made at (-1 otherwise). Snapshots store
   * such ops by position, which is far smaller than their origins and replays without ID lookups.
   */
  pos = -1
  length: number
  private head: string
  /** Text typed on since `head` was read (see Span.tail for why not `+=`). */
  private tail: string[] | null = null

  constructor(
    public agent: number,
    public counter: number,
    text: string,
    public originLeftAgent: number,
    public originLeftCounter: number,
    public originRightAgent: number,
    public originRightCounter: number,
  ) {
    this.head = text
    this.length = text.length
  }

  get text(): string {
    if (this.tail) {
      this.head += this.tail.join('')
      this.tail = null
    }
    return this.head
  }

  set text(text: string) {
    this.head = text
    this.tail = null
    this.length = text.length
  }

  append(text: string): void {
    if (this.tail) this.tail.push(text)
    else this.tail = [text]
    this.length += text.length
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
  /** As InsertOp.pos: the visible index of the first deleted character when the op was made here. */
  pos = -1
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
