/**
 * A span: a run of characters inserted by one replica with consecutive counters, each character's
 * left origin being the one before it, all sharing one right origin (the Yjs item invariant). A typed
 * word is one span; a 1 MB paste is one span. Splitting a span keeps the invariant: the right part's
 * left origin is the last character of the left part.
 *
 * A deleted span (a tombstone) keeps its IDs, origins and length but not its text: only the op log
 * needs the text of deleted characters, and it has it.
 */
import { GrowingText, growsApart } from './growing-text'

export const NONE = -1

export class Span extends GrowingText {
  /** The B-tree leaf that holds this span (kept up to date when leaves split). */
  leaf: SpanLeaf | null = null

  constructor(
    /** Index of the inserting replica in the document's replica table. */
    readonly agent: number,
    /** Counter of the first character. */
    public counter: number,
    /** The characters; '' for a tombstone, and only for one (a visible span holds at least one). */
    text: string,
    deleted: boolean,
    /** Left origin of the first character (agent, counter), or NONE for the document start. */
    public originLeftAgent: number,
    public originLeftCounter: number,
    /** Right origin shared by every character, or NONE for the document end. */
    public originRightAgent: number,
    public originRightCounter: number,
  ) {
    super(text)
    if (deleted !== (text === '')) throw new Error('Span: a tombstone has no text, a visible span some')
  }

  /**
   * A tombstone. Told by its text, which only a tombstone lacks (see `text`), rather than kept in a
   * field: a document holds tens of thousands of spans, and a field costs each 8 bytes.
   */
  get deleted(): boolean {
    return this.head === ''
  }

  get length(): number {
    return this.len
  }

  get visibleLength(): number {
    return this.deleted ? 0 : this.len
  }

  /** Marks the span deleted; its text is dropped (see the header). */
  markDeleted(): void {
    this.dropText()
  }

  /** Splits at `offset` (0 < offset < length): this span keeps the left part; returns the right part. */
  splitAt(offset: number): Span {
    const deleted = this.deleted
    const right = new Span(
      this.agent,
      this.counter + offset,
      deleted ? '' : this.text.slice(offset),
      deleted,
      this.agent,
      this.counter + offset - 1,
      this.originRightAgent,
      this.originRightCounter,
    )
    if (deleted) {
      right.len = this.len - offset
      this.len = offset
    } else {
      this.text = this.text.slice(0, offset)
    }
    return right
  }

  /** Takes in `next`, which it can absorb (`canAbsorb`). */
  absorb(next: Span): void {
    if (this.deleted) this.len += next.len
    else this.append(next.text)
  }

  /** Whether `next`, the span right after this one in document order, continues it. */
  canAbsorb(next: Span): boolean {
    return (
      next.agent === this.agent &&
      next.counter === this.counter + this.len &&
      next.deleted === this.deleted &&
      next.originLeftAgent === this.agent &&
      next.originLeftCounter === next.counter - 1 &&
      next.originRightAgent === this.originRightAgent &&
      next.originRightCounter === this.originRightCounter
    )
  }
}
growsApart(Span)

/** Leaf of the span tree; declared here so Span can point at it without a module cycle. */
export interface SpanLeaf {
  spans: Span[]
}
